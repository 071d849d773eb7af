//! The Ollama backend against an HTTP server in the test that speaks Ollama's documented
//! `/api/chat` streaming format (one JSON object a line).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::peers::{Scripted, Silent, Then, free_port, generation_config, streamed};
use constitutional_rag::config::{Backend, GenerationConfig};
use constitutional_rag::llm::ollama::OllamaGenerator;
use constitutional_rag::llm::{
    ChatMessage, Completion, FinishReason, GenerationError, GenerationEvent, GenerationRequest,
    Generator, Role, Sampling, Usage, collect,
};
use futures::StreamExt;
use poem::Response;
use poem::http::StatusCode;
use serde_json::json;
use tokio::sync::Notify;

const NDJSON: &str = "application/x-ndjson";

fn request() -> GenerationRequest {
    GenerationRequest {
        messages: vec![
            ChatMessage::new(Role::System, "Svara kort."),
            ChatMessage::new(Role::User, "Vad är en grundlag?"),
        ],
        sampling: Sampling {
            temperature: 0.2,
            top_p: 0.9,
            max_tokens: 64,
            stop: vec!["\n\n".into()],
            seed: Some(42),
            repetition_penalty: 1.1,
        },
    }
}

/// A reply line carrying `content`.
fn token(content: &str) -> String {
    let line = json!({
        "model": "smollm2",
        "created_at": "2024-05-01T10:00:00.000000Z",
        "message": {"role": "assistant", "content": content},
        "done": false
    });
    format!("{line}\n")
}

/// The last reply line.
fn done(reason: &str, prompt: u32, generated: u32) -> String {
    let line = json!({
        "model": "smollm2",
        "created_at": "2024-05-01T10:00:01.000000Z",
        "message": {"role": "assistant", "content": ""},
        "done": true,
        "done_reason": reason,
        "total_duration": 4_883_583_458u64,
        "load_duration": 1_334_875,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": 342_546_000,
        "eval_count": generated,
        "eval_duration": 4_535_599_000u64
    });
    format!("{line}\n")
}

fn generator(config: &GenerationConfig) -> OllamaGenerator {
    OllamaGenerator::new(config).expect("generator")
}

fn config(server: &Scripted) -> GenerationConfig {
    generation_config(Backend::Ollama, &server.base)
}

async fn generate(config: &GenerationConfig) -> Result<Completion, GenerationError> {
    collect(generator(config).generate(request())).await
}

#[tokio::test]
async fn streams_a_reply_to_the_documented_request() {
    let server = Scripted::start(|| {
        let lines = vec![
            token("En grundlag"),
            token(" är en"),
            token(" särskild lag."),
            done("stop", 26, 3),
        ];
        streamed(NDJSON, lines, Then::End)
    })
    .await;
    let generator = generator(&config(&server));
    assert_eq!(generator.model(), "smollm2");
    let events: Vec<_> = generator.generate(request()).collect().await;
    assert_eq!(
        events,
        [
            Ok(GenerationEvent::Delta("En grundlag".into())),
            Ok(GenerationEvent::Delta(" är en".into())),
            Ok(GenerationEvent::Delta(" särskild lag.".into())),
            Ok(GenerationEvent::Finished {
                usage: Usage {
                    prompt_tokens: 26,
                    completion_tokens: 3
                },
                finish_reason: FinishReason::Stop
            }),
        ]
    );
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/api/chat");
    assert_eq!(
        received[0].body,
        json!({
            "model": "smollm2",
            "messages": [
                {"role": "system", "content": "Svara kort."},
                {"role": "user", "content": "Vad är en grundlag?"}
            ],
            "stream": true,
            "options": {
                "temperature": 0.2,
                "top_p": 0.9,
                "num_predict": 64,
                "stop": ["\n\n"],
                "seed": 42,
                "repeat_penalty": 1.1
            }
        })
    );
}

#[tokio::test]
async fn the_token_limit_is_a_length_finish() {
    let server = Scripted::start(|| {
        let body = format!("{}{}", token("Regeringsformen"), done("length", 12, 1));
        streamed(NDJSON, vec![body], Then::End)
    })
    .await;
    let completion = generate(&config(&server)).await.unwrap();
    assert_eq!(completion.text, "Regeringsformen");
    assert_eq!(completion.finish_reason, FinishReason::Length);
    assert_eq!(completion.usage.completion_tokens, 1);
}

#[tokio::test]
async fn an_unknown_model_is_an_upstream_error_and_not_retried() {
    let server = Scripted::start(|| {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .content_type("application/json")
            .body(r#"{"error":"model \"smollm2\" not found, try pulling it first"}"#)
    })
    .await;
    let err = generate(&config(&server)).await.unwrap_err();
    assert_eq!(
        err,
        GenerationError::Upstream(
            "the upstream answered 404 Not Found: model \"smollm2\" not found, try pulling it first"
                .into()
        )
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let server = Scripted::start(|| {
        Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .content_type("application/json")
            .body(r#"{"error":"llama runner process has terminated"}"#)
    })
    .await;
    let config = config(&server);
    let err = generate(&config).await.unwrap_err();
    assert!(
        matches!(&err, GenerationError::Upstream(m) if m.contains("llama runner process has terminated")),
        "{err:?}"
    );
    assert_eq!(server.received().len(), config.retries as usize + 1);
}

#[tokio::test]
async fn an_error_line_mid_stream_ends_it_with_an_upstream_error() {
    let server = Scripted::start(|| {
        let lines = vec![token("Riksdagen"), "{\"error\":\"out of memory\"}\n".into()];
        streamed(NDJSON, lines, Then::End)
    })
    .await;
    let events: Vec<_> = generator(&config(&server))
        .generate(request())
        .collect()
        .await;
    assert_eq!(
        events,
        [
            Ok(GenerationEvent::Delta("Riksdagen".into())),
            Err(GenerationError::Upstream(
                "the upstream failed while generating: out of memory".into()
            ))
        ]
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_reply_that_is_not_ndjson_is_an_upstream_error() {
    let server =
        Scripted::start(|| streamed(NDJSON, vec!["<html>proxy error</html>\n".into()], Then::End))
            .await;
    let err = generate(&config(&server)).await.unwrap_err();
    assert!(matches!(err, GenerationError::Upstream(_)), "{err:?}");
}

#[tokio::test]
async fn a_stream_cut_before_done_is_an_upstream_error() {
    let server = Scripted::start(|| streamed(NDJSON, vec![token("Kungen")], Then::End)).await;
    let events: Vec<_> = generator(&config(&server))
        .generate(request())
        .collect()
        .await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        matches!(events[1], Err(GenerationError::Upstream(_))),
        "{events:?}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_unreachable() {
    let config = generation_config(
        Backend::Ollama,
        &format!("http://127.0.0.1:{}", free_port()),
    );
    let err = generate(&config).await.unwrap_err();
    assert!(matches!(err, GenerationError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_before_the_first_token() {
    let silent = Silent::start();
    let mut config = generation_config(Backend::Ollama, &silent.base);
    config.first_token_timeout_ms = 200;
    let err = generate(&config).await.unwrap_err();
    assert!(
        matches!(&err, GenerationError::Timeout(m) if m.contains("no token within 200 ms")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_stall_after_a_token_times_out_between_tokens() {
    let server = Scripted::start(|| streamed(NDJSON, vec![token("Lagen")], Then::Stall)).await;
    let mut config = config(&server);
    config.between_tokens_timeout_ms = 200;
    let events: Vec<_> = generator(&config).generate(request()).collect().await;
    assert_eq!(events[0], Ok(GenerationEvent::Delta("Lagen".into())));
    assert!(
        matches!(&events[1], Err(GenerationError::Timeout(m)) if m.contains("200 ms after the last one")),
        "{events:?}"
    );
    assert_eq!(events.len(), 2);
}

#[tokio::test]
async fn dropping_the_stream_disconnects_from_the_server() {
    let left = Arc::new(Notify::new());
    let body_left = left.clone();
    let server = Scripted::start(move || {
        let then = Then::Repeat {
            chunk: token(" och"),
            every: Duration::from_millis(10),
            left: body_left.clone(),
        };
        streamed(NDJSON, vec![token("Lag")], then)
    })
    .await;
    let mut stream = generator(&config(&server)).generate(request());
    assert_eq!(
        stream.next().await,
        Some(Ok(GenerationEvent::Delta("Lag".into())))
    );
    assert_eq!(
        stream.next().await,
        Some(Ok(GenerationEvent::Delta(" och".into())))
    );
    drop(stream);
    // The server's body is dropped once its next write finds the connection closed; the
    // limit only keeps a broken build from hanging the suite.
    tokio::time::timeout(Duration::from_secs(60), left.notified())
        .await
        .expect("the server never saw the client leave");
}
