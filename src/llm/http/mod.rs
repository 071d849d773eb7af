//! HTTP plumbing shared by the OpenAI-compatible and the Ollama backends: one pooled client
//! per upstream endpoint, time limits, retries before the first token, line framing of the
//! streamed body and the reading of upstream error bodies. A backend only supplies the request
//! body and a [`WireFormat`] that turns the body's lines into [`GenerationEvent`]s.

mod exchange;
mod lines;
mod upstream;

use std::collections::VecDeque;
use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;

use crate::llm::{FinishReason, GenerationError, GenerationEvent, GenerationStream};

pub(crate) use upstream::Upstream;

/// Posts `body` as JSON to `upstream` and streams the response through `format`; see
/// [`exchange::Exchange`] for the time limits, retries and cancellation.
pub(crate) fn stream(
    upstream: &Arc<Upstream>,
    body: &impl Serialize,
    format: impl WireFormat,
) -> GenerationStream {
    match sonic_rs::to_vec(body) {
        Ok(body) => exchange::Exchange::new(upstream.clone(), body.into(), format).into_stream(),
        Err(err) => futures::stream::once(async move {
            Err(GenerationError::Invalid(format!(
                "the request cannot be encoded as JSON: {err}"
            )))
        })
        .boxed(),
    }
}

/// Turns the lines of one streamed response body into generation events.
pub(crate) trait WireFormat: Send + 'static {
    /// Reads one line of the body, without its line ending, and appends the events it
    /// completes. After the body's last line one empty line marks its end.
    fn line(
        &mut self,
        line: &str,
        events: &mut VecDeque<GenerationEvent>,
    ) -> Result<(), GenerationError>;
}

/// A finish reason as OpenAI and Ollama spell it: `length` when the token limit ended the
/// generation; anything else (`stop`, `eos`, `tool_calls`, `content_filter`, `unload`) is a
/// [`FinishReason::Stop`], the only other reason callers distinguish.
pub(crate) fn finish_reason(name: &str) -> FinishReason {
    if name == "length" {
        FinishReason::Length
    } else {
        FinishReason::Stop
    }
}

/// The human-readable message of an upstream error body: `error.message` (OpenAI, llama.cpp,
/// vLLM), `error` (Ollama), `message` or `detail` of a JSON body, else the body's text.
pub(crate) fn upstream_message(body: &[u8]) -> String {
    const MAX_CHARS: usize = 500;
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let found = value
            .pointer("/error/message")
            .or_else(|| value.get("error"))
            .or_else(|| value.get("message"))
            .or_else(|| value.get("detail"));
        match found {
            Some(serde_json::Value::String(message)) => return message.clone(),
            Some(other) => return other.to_string(),
            None => {}
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".into()
    } else {
        text.chars().take(MAX_CHARS).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_messages_are_found_in_each_known_shape() {
        let openai = br#"{"error":{"message":"context too long","type":"invalid_request_error"}}"#;
        assert_eq!(upstream_message(openai), "context too long");
        assert_eq!(
            upstream_message(br#"{"error":"model 'x' not found"}"#),
            "model 'x' not found"
        );
        assert_eq!(
            upstream_message(br#"{"detail":[{"msg":"bad"}]}"#),
            r#"[{"msg":"bad"}]"#
        );
        assert_eq!(upstream_message(b" Bad Gateway\n"), "Bad Gateway");
        assert_eq!(upstream_message(b""), "(empty body)");
    }

    #[test]
    fn only_length_is_a_length_finish() {
        assert_eq!(finish_reason("length"), FinishReason::Length);
        assert_eq!(finish_reason("stop"), FinishReason::Stop);
        assert_eq!(finish_reason("unload"), FinishReason::Stop);
    }
}
