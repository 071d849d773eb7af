//! The OpenAI-compatible backend against llama.cpp's own server on the test GGUF, and
//! against scripted servers for the failures a healthy llama.cpp does not produce.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::peers::{
    LLAMA_MODEL, LlamaCpp, Scripted, Silent, Then, free_port, generation_config, streamed,
};
use constitutional_rag::config::{Backend, GenerationConfig};
use constitutional_rag::llm::openai::OpenAiGenerator;
use constitutional_rag::llm::{
    ChatMessage, Completion, FinishReason, GenerationError, GenerationEvent, GenerationRequest,
    Generator, Role, Sampling, Usage, collect,
};
use futures::StreamExt;
use poem::Response;
use poem::http::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Notify;

const SSE: &str = "text/event-stream";

/// A prompt that SmolLM2 answers at length: greedy decoding does not end it before 1500
/// tokens.
const ESSAY: &str =
    "Write a very long, detailed essay about the history of Sweden, century by century.";

fn greedy(question: &str, max_tokens: u32) -> GenerationRequest {
    GenerationRequest {
        messages: vec![ChatMessage::new(Role::User, question)],
        sampling: Sampling {
            temperature: 0.0,
            top_p: 1.0,
            max_tokens,
            stop: Vec::new(),
            seed: None,
            repetition_penalty: 1.0,
        },
    }
}

fn llama_config() -> GenerationConfig {
    generation_config(Backend::OpenAi, &LlamaCpp::shared().base)
}

fn scripted_config(server: &Scripted) -> GenerationConfig {
    generation_config(Backend::OpenAi, &format!("{}/v1", server.base))
}

async fn generate(
    config: &GenerationConfig,
    request: GenerationRequest,
) -> Result<Completion, GenerationError> {
    let generator = OpenAiGenerator::new(config).expect("generator");
    collect(generator.generate(request)).await
}

/// What llama.cpp at `base` answers to the same request without streaming.
async fn unstreamed(base: &str, request: &GenerationRequest) -> Value {
    let sampling = &request.sampling;
    let body = json!({
        "model": LLAMA_MODEL,
        "messages": request.messages,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
        "repeat_penalty": sampling.repetition_penalty,
    });
    let response = reqwest::Client::new()
        .post(format!("{base}/chat/completions"))
        .json(&body)
        .send()
        .await
        .expect("llama.cpp answers");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("a JSON completion")
}

/// One server-sent event carrying a chat-completion chunk.
fn chunk(content: Option<&str>, finish_reason: Option<&str>) -> String {
    let delta = match content {
        Some(text) => json!({"content": text}),
        None => json!({}),
    };
    let chunk = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1_714_557_600,
        "model": LLAMA_MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    });
    format!("data: {chunk}\n\n")
}

fn status(code: StatusCode, body: &'static str) -> Response {
    Response::builder()
        .status(code)
        .content_type("application/json")
        .body(body)
}

#[tokio::test]
async fn streams_what_llama_cpp_answers_unstreamed() {
    // A private server: llama.cpp reuses the KV cache of the previous request's common
    // prefix, so its greedy output depends on what ran before. Each compared request
    // follows the same unrelated one, which no other test can interleave with.
    let server = LlamaCpp::start();
    let config = generation_config(Backend::OpenAi, &server.base);
    let generator = OpenAiGenerator::new(&config).unwrap();
    assert_eq!(generator.model(), LLAMA_MODEL);
    let reset = || async { unstreamed(&server.base, &greedy("Say hello.", 2)).await };
    for (question, max_tokens) in [("What is the capital of Sweden?", 32), (ESSAY, 24)] {
        let request = greedy(question, max_tokens);
        reset().await;
        let events: Vec<_> = generator.generate(request.clone()).collect().await;
        let (last, deltas) = events.split_last().expect("events");
        let text: String = deltas
            .iter()
            .map(|event| match event {
                Ok(GenerationEvent::Delta(text)) => text.as_str(),
                other => panic!("expected a delta, got {other:?}"),
            })
            .collect();
        assert!(deltas.len() > 1, "not streamed: {events:?}");

        reset().await;
        let reference = unstreamed(&server.base, &request).await;
        let choice = &reference["choices"][0];
        assert_eq!(text, choice["message"]["content"], "{question}");
        let finish_reason = match choice["finish_reason"].as_str() {
            Some("length") => FinishReason::Length,
            _ => FinishReason::Stop,
        };
        // llama-cpp-python's server sends no usage when streaming (it ignores
        // `stream_options`), and the backend counts nothing rather than guess.
        assert_eq!(
            last,
            &Ok(GenerationEvent::Finished {
                usage: Usage::default(),
                finish_reason
            }),
            "{question}"
        );
    }
}

#[tokio::test]
async fn the_token_limit_ends_with_length() {
    let completion = generate(&llama_config(), greedy(ESSAY, 5)).await.unwrap();
    assert_eq!(completion.finish_reason, FinishReason::Length);
    assert!(!completion.text.is_empty());
}

#[tokio::test]
async fn usage_the_upstream_sends_is_reported_and_the_request_is_complete() {
    let server = Scripted::start(|| {
        let usage = json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
            "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}
        });
        let events = vec![
            chunk(Some("Stock"), None),
            chunk(Some("holm"), Some("stop")),
            format!("data: {usage}\n\n"),
            "data: [DONE]\n\n".into(),
        ];
        streamed(SSE, events, Then::End)
    })
    .await;
    let mut config = scripted_config(&server);
    config.api_key = "sk-test".into();
    let mut request = greedy("Capital of Sweden?", 16);
    request.sampling = Sampling {
        temperature: 0.3,
        top_p: 0.8,
        max_tokens: 16,
        stop: vec!["\n".into()],
        seed: Some(3),
        repetition_penalty: 1.2,
    };
    let completion = generate(&config, request).await.unwrap();
    assert_eq!(completion.text, "Stockholm");
    assert_eq!(
        completion.usage,
        Usage {
            prompt_tokens: 12,
            completion_tokens: 2
        }
    );
    assert_eq!(completion.finish_reason, FinishReason::Stop);

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/v1/chat/completions");
    assert_eq!(received[0].authorization.as_deref(), Some("Bearer sk-test"));
    let body = &received[0].body;
    assert_eq!(
        body,
        &json!({
            "model": LLAMA_MODEL,
            "messages": [{"role": "user", "content": "Capital of Sweden?"}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "temperature": body["temperature"],
            "top_p": body["top_p"],
            "max_tokens": 16,
            "stop": ["\n"],
            "seed": 3,
            "repeat_penalty": body["repeat_penalty"],
            "repetition_penalty": body["repeat_penalty"]
        })
    );
    // f32 values come back as the nearest f64.
    for (field, value) in [
        ("temperature", 0.3),
        ("top_p", 0.8),
        ("repeat_penalty", 1.2),
    ] {
        let sent = body[field].as_f64().unwrap();
        assert!((sent - value).abs() < 1e-6, "{field}: {sent}");
    }
}

#[tokio::test]
async fn a_prompt_beyond_the_context_window_is_an_upstream_error() {
    let prompt = "word ".repeat(3000);
    let err = generate(&llama_config(), greedy(&prompt, 8))
        .await
        .unwrap_err();
    assert!(matches!(err, GenerationError::Upstream(_)), "{err:?}");
}

#[tokio::test]
async fn a_parameter_llama_cpp_rejects_is_an_upstream_error_with_its_message() {
    let mut request = greedy("Hi", 4);
    request.sampling.top_p = 1.5;
    let err = generate(&llama_config(), request).await.unwrap_err();
    assert!(
        matches!(&err, GenerationError::Upstream(m) if m.contains("top_p") && m.contains("less than or equal to 1")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_client_error_is_reported_with_its_message_and_not_retried() {
    let server = Scripted::start(|| {
        status(
            StatusCode::BAD_REQUEST,
            r#"{"error":{"message":"the prompt has 9000 tokens, the context 8192","type":"invalid_request_error"}}"#,
        )
    })
    .await;
    let err = generate(&scripted_config(&server), greedy("Hi", 4))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        GenerationError::Upstream(
            "the upstream answered 400 Bad Request: the prompt has 9000 tokens, the context 8192"
                .into()
        )
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let server = Scripted::start(|| {
        status(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error":{"message":"Loading model","type":"unavailable_error","code":503}}"#,
        )
    })
    .await;
    let config = scripted_config(&server);
    let err = generate(&config, greedy("Hi", 4)).await.unwrap_err();
    assert_eq!(
        err,
        GenerationError::Upstream(
            "the upstream answered 503 Service Unavailable: Loading model".into()
        )
    );
    assert_eq!(server.received().len(), config.retries as usize + 1);
}

#[tokio::test]
async fn too_many_requests_are_retried_then_overloaded() {
    let server = Scripted::start(|| {
        status(
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"error":{"message":"slots busy"}}"#,
        )
    })
    .await;
    let mut config = scripted_config(&server);
    config.retries = 1;
    let err = generate(&config, greedy("Hi", 4)).await.unwrap_err();
    assert!(
        matches!(&err, GenerationError::Overloaded(m) if m.contains("slots busy")),
        "{err:?}"
    );
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn a_server_that_recovers_within_the_retries_is_streamed_from() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let seen = attempts.clone();
    let server = Scripted::start(move || {
        if seen.fetch_add(1, Ordering::SeqCst) < 2 {
            return status(StatusCode::BAD_GATEWAY, "upstream restarting");
        }
        let events = vec![chunk(Some("Ja"), Some("stop")), "data: [DONE]\n\n".into()];
        streamed(SSE, events, Then::End)
    })
    .await;
    let completion = generate(&scripted_config(&server), greedy("Hi", 4))
        .await
        .unwrap();
    assert_eq!(completion.text, "Ja");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}

/// A refusal asking the client to come back after `seconds`.
fn retry_after(code: StatusCode, seconds: &'static str, body: &'static str) -> Response {
    Response::builder()
        .status(code)
        .header("retry-after", seconds)
        .content_type("application/json")
        .body(body)
}

#[tokio::test]
async fn a_retry_waits_as_long_as_retry_after_asks() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let seen = attempts.clone();
    let server = Scripted::start(move || {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            return retry_after(
                StatusCode::SERVICE_UNAVAILABLE,
                "2",
                r#"{"error":{"message":"Loading model"}}"#,
            );
        }
        let events = vec![chunk(Some("Ja"), Some("stop")), "data: [DONE]\n\n".into()];
        streamed(SSE, events, Then::End)
    })
    .await;
    let started = std::time::Instant::now();
    let completion = generate(&scripted_config(&server), greedy("Hi", 4))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(completion.text, "Ja");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    // Without the header the first pause is at most 100 ms.
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
}

#[tokio::test]
async fn a_retry_after_beyond_the_first_token_limit_fails_at_once() {
    let server = Scripted::start(|| {
        retry_after(
            StatusCode::TOO_MANY_REQUESTS,
            "3600",
            r#"{"error":{"message":"slots busy"}}"#,
        )
    })
    .await;
    let mut config = scripted_config(&server);
    config.first_token_timeout_ms = 30_000;
    let started = std::time::Instant::now();
    let err = generate(&config, greedy("Hi", 4)).await.unwrap_err();
    assert_eq!(
        err,
        GenerationError::Overloaded(
            "the upstream answered 429 Too Many Requests (retry after 3600000 ms): slots busy"
                .into()
        )
    );
    assert_eq!(server.received().len(), 1);
    // It gives up without waiting for the first-token limit to pass.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_port_is_unreachable_after_the_retries() {
    let config = generation_config(
        Backend::OpenAi,
        &format!("http://127.0.0.1:{}/v1", free_port()),
    );
    let err = generate(&config, greedy("Hi", 4)).await.unwrap_err();
    assert!(
        matches!(&err, GenerationError::Unreachable(m) if m.contains("cannot reach the upstream")),
        "{err:?}"
    );
}

#[tokio::test]
async fn llama_cpp_slower_than_the_first_token_limit_times_out() {
    let mut config = llama_config();
    config.first_token_timeout_ms = 1;
    let prompt = format!("Summarise: {}", "The Riksdag makes the laws. ".repeat(60));
    let err = generate(&config, greedy(&prompt, 8)).await.unwrap_err();
    assert_eq!(
        err,
        GenerationError::Timeout("the upstream sent no token within 1 ms".into())
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_before_the_first_token() {
    let silent = Silent::start();
    let mut config = generation_config(Backend::OpenAi, &format!("{}/v1", silent.base));
    config.first_token_timeout_ms = 200;
    let err = generate(&config, greedy("Hi", 4)).await.unwrap_err();
    assert_eq!(
        err,
        GenerationError::Timeout("the upstream sent no token within 200 ms".into())
    );
}

#[tokio::test]
async fn a_stall_after_a_token_times_out_between_tokens() {
    let server =
        Scripted::start(|| streamed(SSE, vec![chunk(Some("Riks"), None)], Then::Stall)).await;
    let mut config = scripted_config(&server);
    config.between_tokens_timeout_ms = 200;
    let generator = OpenAiGenerator::new(&config).unwrap();
    let events: Vec<_> = generator.generate(greedy("Hi", 4)).collect().await;
    assert_eq!(
        events,
        [
            Ok(GenerationEvent::Delta("Riks".into())),
            Err(GenerationError::Timeout(
                "the upstream sent no token for 200 ms after the last one".into()
            ))
        ]
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_generation_longer_than_the_total_limit_times_out() {
    let server = Scripted::start(|| {
        let then = Then::Repeat {
            chunk: chunk(Some(" och"), None),
            every: Duration::from_millis(20),
            left: Arc::new(Notify::new()),
        };
        streamed(SSE, vec![chunk(Some("Lag"), None)], then)
    })
    .await;
    let mut config = scripted_config(&server);
    config.total_timeout_ms = 300;
    let events: Vec<_> = OpenAiGenerator::new(&config)
        .unwrap()
        .generate(greedy("Hi", 4))
        .collect()
        .await;
    let (last, deltas) = events.split_last().unwrap();
    assert!(
        deltas
            .iter()
            .all(|event| matches!(event, Ok(GenerationEvent::Delta(_))))
    );
    assert_eq!(
        last,
        &Err(GenerationError::Timeout(
            "the generation took longer than its limit of 300 ms".into()
        ))
    );
}

#[tokio::test]
async fn a_stream_broken_after_a_token_is_an_upstream_error_and_not_retried() {
    let server =
        Scripted::start(|| streamed(SSE, vec![chunk(Some("Grund"), None)], Then::Break)).await;
    let events: Vec<_> = OpenAiGenerator::new(&scripted_config(&server))
        .unwrap()
        .generate(greedy("Hi", 4))
        .collect()
        .await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], Ok(GenerationEvent::Delta("Grund".into())));
    assert!(
        matches!(events[1], Err(GenerationError::Upstream(_))),
        "{events:?}"
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn an_unreadable_event_is_an_upstream_error() {
    let server = Scripted::start(|| {
        streamed(
            SSE,
            vec!["data: <html>Bad Gateway</html>\n\n".into()],
            Then::End,
        )
    })
    .await;
    let err = generate(&scripted_config(&server), greedy("Hi", 4))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GenerationError::Upstream(m) if m.contains("unreadable event")),
        "{err:?}"
    );
}

#[tokio::test]
async fn dropping_the_stream_frees_llama_cpp() {
    // A private server: on the shared one another test's generation could hold the
    // single slot, and the timeout below would measure that test instead of this drop.
    let server = LlamaCpp::start();
    let config = generation_config(Backend::OpenAi, &server.base);
    let generator = OpenAiGenerator::new(&config).unwrap();
    let mut essay = generator.generate(greedy(ESSAY, 1500));
    for _ in 0..2 {
        let event = essay.next().await;
        assert!(
            matches!(event, Some(Ok(GenerationEvent::Delta(_)))),
            "{event:?}"
        );
    }
    drop(essay);
    // The server generates one request at a time. Had it kept generating the 1500-token
    // essay (about a minute on one thread), the next request would wait behind it.
    let mut next = config.clone();
    next.first_token_timeout_ms = 20_000;
    let completion = generate(&next, greedy("What is the capital of Sweden?", 8))
        .await
        .expect("the server is free again");
    assert!(!completion.text.is_empty());
}

#[tokio::test]
async fn the_readiness_check_passes_against_llama_cpp_and_fails_without_it() {
    // A private server: the shared one may be busy generating for another test, and
    // llama-cpp-python answers nothing else meanwhile.
    let server = LlamaCpp::start();
    let generator =
        OpenAiGenerator::new(&generation_config(Backend::OpenAi, &server.base)).unwrap();
    assert_eq!(generator.check().await, Ok(()));
    let nowhere = generation_config(Backend::OpenAi, "http://127.0.0.1:9/v1");
    let generator = OpenAiGenerator::new(&nowhere).unwrap();
    assert!(generator.check().await.is_err());
}
