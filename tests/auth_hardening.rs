//! Auth hardening: with a key in place, every operation of the served spec refuses a request
//! without a key (or with an unknown one) with 401 problem+json, except the probes and metrics;
//! and the real binary, logging at `info`, never writes a key or document text to its log.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{TestServer, content_type, expect_json, expect_problem};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// Whether anyone may call `template`: liveness, readiness and metrics, and the old
/// system's health and metrics routes. `/openapi.json` and `/docs` are not operations.
fn is_open(template: &str) -> bool {
    let last = template.rsplit('/').next().unwrap_or_default();
    template.starts_with("/health/") || ["health", "metrics", "prometheus"].contains(&last)
}

/// `template` with each `{parameter}` replaced by a plausible value.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "probe"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_operation_but_probes_and_metrics_needs_a_key() {
    let server = TestServer::start().await;
    let admin = server
        .post("/v1/keys", &json!({"name": "root", "role": "admin"}))
        .await;
    let admin = expect_json(admin, StatusCode::CREATED).await;
    let admin = admin["key"].as_str().unwrap();
    let spec = expect_json(server.get("/openapi.json").await, StatusCode::OK).await;
    let paths = spec["paths"].as_object().expect("paths");
    for open in ["/openapi.json", "/docs"] {
        assert!(!paths.contains_key(open), "{open} is not an operation");
        let status = server.get(open).await.status();
        assert_eq!(status, StatusCode::OK, "{open} stays open");
    }

    let (mut protected, mut open) = (0, 0);
    for (template, operations) in paths {
        let path = concrete(template);
        for method in operations.as_object().expect("operations").keys() {
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let send = |key: Option<&str>| {
                let mut request = server
                    .client
                    .request(method.clone(), server.url(&path))
                    .json(&json!({}));
                if let Some(key) = key {
                    request = request.bearer_auth(key);
                }
                request.send()
            };
            if is_open(template) {
                let status = send(None).await.unwrap().status();
                assert!(
                    status.is_success() || status == StatusCode::SERVICE_UNAVAILABLE,
                    "{method} {template} is open: {status}"
                );
                open += 1;
                continue;
            }
            let missing = send(None).await.unwrap();
            assert!(
                missing.headers().contains_key("www-authenticate"),
                "{method} {template}"
            );
            let problem = expect_problem(missing, StatusCode::UNAUTHORIZED, "missing_api_key")
                .await
                .to_string();
            let unknown = send(Some(&format!("crag_{}", "7".repeat(64))))
                .await
                .unwrap();
            expect_problem(unknown, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
            assert!(!problem.contains(admin), "{method} {template}");
            protected += 1;
        }
    }
    assert_eq!(
        open, 6,
        "liveness, readiness, metrics and the old system's three"
    );
    assert!(protected >= 30, "only {protected} protected operations");
    server.stop().await;
}

/// The real binary serving an in-memory database at `info`, its stdout and stderr collected.
struct Served {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl Served {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_constitutional-rag"))
            .arg("serve")
            .env_remove("RUST_LOG")
            .env("CRAG_LOG_LEVEL", "info")
            .env("CRAG_SERVER_BIND", "127.0.0.1:0")
            .env("CRAG_STORAGE_URL", "mem://")
            .env("CRAG_CACHE_EMBEDDING_PATH", "")
            .env("CRAG_GENERATION_BACKEND", "none")
            .env(
                "CRAG_MODELS_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/models"),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (address, found) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stdout_log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("constitutional-rag listening on ") {
                    let _ = address.send(rest.to_string());
                }
                stdout_log.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr_log = log.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buffer) {
                let text = String::from_utf8_lossy(&buffer[..n]).to_string();
                stderr_log.lock().unwrap().push_str(&text);
            }
        });
        let base = found
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("the server did not start: {}", log.lock().unwrap()));
        Served { child, base, log }
    }

    /// The log so far, once `marker` (a line the server logs last) has appeared in it.
    async fn log_after(&self, marker: &str) -> String {
        let started = Instant::now();
        loop {
            let log = self.log.lock().unwrap().clone();
            if log.contains(marker) || started.elapsed() > Duration::from_secs(10) {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn keys_and_document_text_never_reach_the_info_log() {
    let served = Served::start();
    let client = Client::new();
    let url = |path: &str| format!("{}{path}", served.base);
    let created = client
        .post(url("/v1/keys"))
        .json(&json!({"name": "root", "role": "admin"}))
        .send()
        .await
        .unwrap();
    let created: Value = expect_json(created, StatusCode::CREATED).await;
    let key = created["key"].as_str().unwrap().to_string();
    let secret_hex = key.trim_start_matches("crag_").to_string();

    let text = "1 § Zebrakvartsens hemliga paragraf gäller endast xylofonister.";
    let query = "zebrakvartsens xylofonister";
    let calls = [
        (
            "/v1/collections",
            json!({"name": "secret", "language": "swedish"}),
        ),
        (
            "/v1/collections/secret/documents",
            json!({"external_id": "hidden", "text": text}),
        ),
        (
            "/v1/search",
            json!({"query": query, "collections": ["secret"], "mode": "bm25"}),
        ),
        (
            "/v1/answer",
            json!({"question": format!("Vad säger lagen om {query}?"), "collections": ["secret"]}),
        ),
    ];
    for (path, body) in &calls {
        let response = client
            .post(url(path))
            .bearer_auth(&key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status.is_success(),
            "{path}: {status} {}",
            response.text().await.unwrap()
        );
    }
    let wrong = client
        .get(url("/v1/collections"))
        .header("X-API-Key", format!("{key}0"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(content_type(&wrong).starts_with("application/problem+json"));
    // The last request is logged once it is answered; its log line closes the log checked.
    let marker = client
        .get(url("/health/live"))
        .header("x-request-id", "log-check-done")
        .send()
        .await
        .unwrap();
    assert_eq!(marker.status(), StatusCode::OK);
    let log = served.log_after("log-check-done").await;

    assert!(log.contains("log-check-done"), "requests are logged: {log}");
    assert!(log.contains("/v1/search"), "paths are logged: {log}");
    for (what, secret) in [
        ("the key", secret_hex.as_str()),
        ("the key's first half", &secret_hex[..32]),
        ("document text", "Zebrakvartsens"),
        ("document text", "xylofonister"),
        ("the question", "zebrakvartsens"),
    ] {
        assert!(!log.contains(secret), "{what} in the log:\n{log}");
    }
}
