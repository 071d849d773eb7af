//! Timed HTTP calls: each request becomes an [`Outcome`] with its status, latency, size and,
//! for answers, the `Server-Timing` stages and whether it came from the answer cache.

use std::time::{Duration, Instant};

use reqwest::{Client, RequestBuilder};
use serde_json::Value;

use super::stats::Outcome;

/// A client of one server.
#[derive(Clone)]
pub struct Api {
    client: Client,
    base: String,
}

impl Api {
    /// A client of the server at `base` (`http://127.0.0.1:port`) whose requests give up
    /// after `timeout`.
    pub fn new(base: &str, timeout: Duration) -> Self {
        let client = Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(256)
            .build()
            .expect("HTTP client");
        Self {
            client,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(format!("{}{path}", self.base))
    }

    /// `POST /v1/answer` with `body`; the outcome and the parsed answer when it succeeded.
    pub async fn answer(&self, kind: &'static str, body: &Value) -> (Outcome, Option<Value>) {
        timed(kind, self.post("/v1/answer").json(body)).await
    }

    /// `POST /v1/search` with `body`.
    pub async fn search(&self, kind: &'static str, body: &Value) -> (Outcome, Option<Value>) {
        timed(kind, self.post("/v1/search").json(body)).await
    }

    /// `POST /v1/collections/{collection}/documents` (one upsert).
    pub async fn upsert(&self, collection: &str, document: &Value) -> Outcome {
        let path = format!("/v1/collections/{collection}/documents");
        timed("ingest", self.post(&path).json(document)).await.0
    }

    /// `POST /v1/collections/{collection}/documents/bulk` with an NDJSON `body`.
    pub async fn bulk(&self, collection: &str, body: String) -> (Outcome, Option<Value>) {
        let path = format!("/v1/collections/{collection}/documents/bulk");
        let request = self
            .post(&path)
            .header("content-type", "application/x-ndjson")
            .body(body);
        timed("bulk", request).await
    }

    /// `POST /v1/collections`; panics unless the collection was created.
    pub async fn create_collection(&self, name: &str) {
        let body = serde_json::json!({"name": name, "language": "english"});
        let (outcome, _) = timed("collection", self.post("/v1/collections").json(&body)).await;
        assert!(outcome.ok(), "creating {name}: {outcome:?}");
    }

    /// `GET /v1/collections/{name}`.
    pub async fn collection(&self, name: &str) -> Value {
        let url = format!("{}/v1/collections/{name}", self.base);
        let response = self.client.get(url).send().await.expect("collection");
        response.json().await.expect("collection JSON")
    }

    /// The status of `GET /health/ready` (`None` when no response came).
    pub async fn ready_status(&self) -> Option<u16> {
        let url = format!("{}/health/ready", self.base);
        let response = self.client.get(url).send().await.ok()?;
        Some(response.status().as_u16())
    }
}

/// Sends `request`, reads the whole body and times both; a JSON body is parsed when the
/// status is a success.
async fn timed(kind: &'static str, request: RequestBuilder) -> (Outcome, Option<Value>) {
    let started = Instant::now();
    let mut outcome = Outcome::new(kind);
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            outcome.ms = elapsed_ms(started);
            outcome.failure = Some(transport_failure(&error));
            return (outcome, None);
        }
    };
    outcome.status = Some(response.status().as_u16());
    outcome.stages = response
        .headers()
        .get("server-timing")
        .and_then(|value| value.to_str().ok())
        .map(parse_server_timing)
        .unwrap_or_default();
    let body = response.bytes().await;
    outcome.ms = elapsed_ms(started);
    let body = match body {
        Ok(body) => body,
        Err(error) => {
            outcome.failure = Some(transport_failure(&error));
            return (outcome, None);
        }
    };
    outcome.bytes = body.len();
    if !outcome.ok() {
        return (outcome, None);
    }
    let value: Option<Value> = serde_json::from_slice(&body).ok();
    if let Some(value) = &value {
        outcome.cached = value["cached"] == Value::Bool(true);
        outcome.server_ms = value["took_ms"].as_f64();
        outcome.items = value["hits"].as_array().map(Vec::len);
    }
    (outcome, value)
}

fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

/// The failure kind of `error`, after printing it with its causes.
fn transport_failure(error: &reqwest::Error) -> String {
    let mut causes = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    eprintln!("request failed: {}", causes.join(": "));
    if error.is_timeout() {
        "timeout".into()
    } else {
        "transport".into()
    }
}

/// The stages of a `Server-Timing` value (`retrieve;dur=3.2, total;dur=9.0`), in order.
pub fn parse_server_timing(header: &str) -> Vec<(String, f64)> {
    header
        .split(',')
        .filter_map(|metric| {
            let mut parts = metric.trim().split(';');
            let name = parts.next()?.trim();
            let ms = parts.find_map(|param| param.trim().strip_prefix("dur="))?;
            Some((name.to_string(), ms.parse().ok()?))
        })
        .collect()
}
