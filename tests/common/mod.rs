//! A real server on an ephemeral port, over a real SurrealDB, for the integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use constitutional_rag::config::{Backend, Config};
use constitutional_rag::server::BoundServer;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server and a client for it.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// HTTP client.
    pub client: Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Test defaults: an ephemeral port, in-memory database.
pub fn test_config() -> Config {
    let mut config = Config::default();
    config.server.bind = "127.0.0.1:0".into();
    config.storage.url = "mem://".into();
    config.log.level = "warn".into();
    config.models.dir = concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/models").into();
    config.cache.embedding_path = String::new();
    // On-disk tests that restart on an index snapshot set its path.
    config.storage.index_snapshot = String::new();
    // Generation is tested by the tests that need it; the others skip loading a decoder.
    config.generation.backend = Backend::None;
    config
}

impl TestServer {
    /// Starts a server whose collection `collection` (English) holds the development
    /// corpus's documents `ids`, read from where `just setup` installs them.
    pub async fn with_licences(collection: &str, ids: &[&str]) -> Self {
        Self::with_licences_in(test_config(), collection, ids).await
    }

    /// [`with_licences`](Self::with_licences) on a server with `config`.
    pub async fn with_licences_in(config: Config, collection: &str, ids: &[&str]) -> Self {
        let server = Self::start_with(config).await;
        server.create_collection(collection, "english").await;
        for id in ids {
            let (title, text) = licence(id);
            let body = json!({"external_id": id, "title": title, "text": text});
            let (status, body) = server.upsert(collection, &body).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        server
    }

    /// Starts a server with an in-memory database.
    pub async fn start() -> Self {
        Self::start_with(test_config()).await
    }

    /// Starts a server on the on-disk database in `dir`.
    pub async fn start_on_disk(dir: &Path) -> Self {
        let mut config = test_config();
        config.storage.url = format!("surrealkv://{}", dir.display());
        Self::start_with(config).await
    }

    /// Starts a server with `config` and waits until its models have loaded (readiness is no
    /// longer `loading`), as an orchestrator would before sending traffic.
    pub async fn start_with(config: Config) -> Self {
        let server = Self::launch(config).await;
        server.wait_until_loaded().await;
        server
    }

    /// Polls `/health/ready` until its status is no longer `loading`; returns that body.
    pub async fn wait_until_loaded(&self) -> Value {
        for _ in 0..6000 {
            let response = self.get("/health/ready").await;
            let body: Value = response.json().await.expect("readiness is JSON");
            if body["status"] != "loading" {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the models did not load within 120 s");
    }

    /// Starts a server with `config` without waiting for its models; retries briefly while a
    /// previous process's database lock is being released.
    pub async fn launch(config: Config) -> Self {
        constitutional_rag::telemetry::init(&config.log);
        let config = Arc::new(config);
        let mut attempts = 0;
        let server = loop {
            match BoundServer::bind(config.clone()).await {
                Ok(server) => break server,
                Err(err) if attempts < 50 => {
                    attempts += 1;
                    eprintln!("bind attempt {attempts}: {err}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => panic!("server did not start: {err}"),
            }
        };
        let base = format!("http://{}", server.local_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async move {
            let _ = stopped.await;
        }));
        TestServer {
            base,
            client: Client::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server and waits until it has shut down.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran");
        }
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// DELETE `path`.
    pub async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("DELETE")
    }

    /// POST `body` as JSON to `path`.
    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// PUT `body` as JSON to `path`.
    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.client
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("PUT")
    }

    /// Creates collection `name` with `language`, asserting success.
    pub async fn create_collection(&self, name: &str, language: &str) -> Value {
        let response = self
            .post(
                "/v1/collections",
                &json!({"name": name, "language": language}),
            )
            .await;
        expect_json(response, StatusCode::CREATED).await
    }

    /// Upserts a document into `collection`, returning `(status, body)`.
    pub async fn upsert(&self, collection: &str, document: &Value) -> (StatusCode, Value) {
        let response = self
            .post(&format!("/v1/collections/{collection}/documents"), document)
            .await;
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// BM25 search, asserting success; returns the hits.
    pub async fn search(&self, body: &Value) -> Vec<Value> {
        let response = self.post("/v1/search", body).await;
        let body = expect_json(response, StatusCode::OK).await;
        body["hits"].as_array().expect("hits").clone()
    }
}

/// The title and text of the development corpus's document `id`, read from where `just setup`
/// installs it.
pub fn licence(id: &str) -> (String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let set = constitutional_rag::eval::dev_set::DevSet::load(
        &root.join("tests/data/legal_dev"),
        &root.join(".cache/legal-corpus"),
    )
    .expect("the development corpus is installed (run `just setup`)");
    let document = set
        .documents
        .into_iter()
        .find(|d| d.entry.external_id == id)
        .unwrap_or_else(|| panic!("{id} is in the development corpus"));
    (document.entry.title, document.text)
}

/// The response's `Content-Type` (empty when absent).
pub fn content_type(response: &Response) -> String {
    response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Asserts `status` and returns the JSON body.
pub async fn expect_json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts a problem+json error with `status` and `code`; returns the problem.
pub async fn expect_problem(response: Response, status: StatusCode, code: &str) -> Value {
    let content_type = content_type(&response);
    let problem = expect_json(response, status).await;
    assert!(
        content_type.starts_with("application/problem+json"),
        "content type {content_type:?} for {problem}"
    );
    assert_eq!(problem["status"], status.as_u16(), "{problem}");
    assert_eq!(problem["code"], code, "{problem}");
    for field in ["type", "title", "detail"] {
        assert!(
            problem[field].is_string(),
            "problem lacks {field}: {problem}"
        );
    }
    problem
}
pub mod dev_sets;
pub mod exit;
pub mod pdf;
pub mod peers;
pub mod sse;
pub mod statutes;
