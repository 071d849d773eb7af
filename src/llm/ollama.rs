//! Generation on Ollama's native API: streaming `POST {url}/api/chat`, read as
//! newline-delimited JSON.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::http::{self, Upstream, WireFormat, finish_reason};
use super::{
    ChatMessage, GenerationError, GenerationEvent, GenerationRequest, GenerationStream, Generator,
    Usage,
};
use crate::config::GenerationConfig;

/// A [`Generator`] backed by an Ollama server.
///
/// Usage comes from the last reply's `prompt_eval_count` and `eval_count`; Ollama leaves a
/// count out when it is zero (e.g. a prompt served from its cache), and a missing count is
/// reported as zero rather than guessed.
#[derive(Debug)]
pub struct OllamaGenerator {
    model: String,
    upstream: Arc<Upstream>,
}

impl OllamaGenerator {
    /// A generator for `config.model` on the Ollama server at `config.url` (e.g.
    /// `http://127.0.0.1:11434`), with the connection, timeout and retry settings of `config`.
    pub fn new(config: &GenerationConfig) -> Result<Self, GenerationError> {
        Ok(Self {
            model: config.model.clone(),
            upstream: Arc::new(Upstream::new(config, "api/chat")?),
        })
    }
}

impl Generator for OllamaGenerator {
    fn model(&self) -> &str {
        &self.model
    }

    fn check(&self) -> futures::future::BoxFuture<'_, Result<(), String>> {
        Box::pin(self.upstream.probe("api/tags"))
    }

    fn generate(&self, request: GenerationRequest) -> GenerationStream {
        http::stream(
            &self.upstream,
            &ChatRequest::new(&self.model, &request),
            Replies,
        )
    }
}

/// The body of a streaming `/api/chat` request.
#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    stream: bool,
    options: Options<'a>,
}

/// Ollama's sampling options.
#[derive(Serialize)]
struct Options<'a> {
    temperature: f32,
    top_p: f32,
    num_predict: u32,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    repeat_penalty: f32,
}

impl<'a> ChatRequest<'a> {
    fn new(model: &'a str, request: &'a GenerationRequest) -> Self {
        let sampling = &request.sampling;
        Self {
            model,
            messages: &request.messages,
            stream: true,
            options: Options {
                temperature: sampling.temperature,
                top_p: sampling.top_p,
                num_predict: sampling.max_tokens,
                stop: &sampling.stop,
                seed: sampling.seed,
                repeat_penalty: sampling.repetition_penalty,
            },
        }
    }
}

/// One line of the reply stream.
#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    message: Option<ReplyMessage>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    prompt_eval_count: Option<u32>,
    #[serde(default)]
    eval_count: Option<u32>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct ReplyMessage {
    #[serde(default)]
    content: String,
}

/// Ollama's reply lines: text in `message.content`, and a last line with `done: true`.
struct Replies;

impl WireFormat for Replies {
    fn line(
        &mut self,
        line: &str,
        events: &mut VecDeque<GenerationEvent>,
    ) -> Result<(), GenerationError> {
        if line.trim().is_empty() {
            return Ok(());
        }
        let reply: Reply = sonic_rs::from_str(line).map_err(|err| {
            GenerationError::Upstream(format!("the upstream sent an unreadable line ({err})"))
        })?;
        if let Some(error) = reply.error {
            return Err(GenerationError::Upstream(format!(
                "the upstream failed while generating: {error}"
            )));
        }
        if let Some(message) = reply.message
            && !message.content.is_empty()
        {
            events.push_back(GenerationEvent::Delta(message.content));
        }
        if reply.done {
            events.push_back(GenerationEvent::Finished {
                usage: Usage {
                    prompt_tokens: reply.prompt_eval_count.unwrap_or(0),
                    completion_tokens: reply.eval_count.unwrap_or(0),
                },
                finish_reason: finish_reason(reply.done_reason.as_deref().unwrap_or("stop")),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{FinishReason, Role, Sampling};

    fn feed(lines: &[&str]) -> Result<Vec<GenerationEvent>, GenerationError> {
        let mut events = VecDeque::new();
        for line in lines {
            Replies.line(line, &mut events)?;
        }
        Ok(events.into())
    }

    #[test]
    fn replies_become_deltas_then_a_finish_with_usage() {
        let events = feed(&[
            r#"{"model":"m","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant","content":"Rätt"},"done":false}"#,
            "",
            r#"{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"length","total_duration":5,"prompt_eval_count":9,"eval_count":2}"#,
        ])
        .unwrap();
        assert_eq!(
            events,
            [
                GenerationEvent::Delta("Rätt".into()),
                GenerationEvent::Finished {
                    usage: Usage {
                        prompt_tokens: 9,
                        completion_tokens: 2
                    },
                    finish_reason: FinishReason::Length
                }
            ]
        );
    }

    #[test]
    fn error_lines_and_garbage_are_upstream_errors() {
        assert_eq!(
            feed(&[r#"{"error":"model runner crashed"}"#]),
            Err(GenerationError::Upstream(
                "the upstream failed while generating: model runner crashed".into()
            ))
        );
        assert!(matches!(
            feed(&["<html>"]),
            Err(GenerationError::Upstream(_))
        ));
    }

    #[test]
    fn the_request_maps_every_sampling_field() {
        let request = GenerationRequest {
            messages: vec![ChatMessage::new(Role::System, "Var kort.")],
            sampling: Sampling {
                temperature: 0.25,
                top_p: 0.5,
                max_tokens: 16,
                stop: vec!["\n".into()],
                seed: Some(7),
                repetition_penalty: 1.5,
            },
        };
        let body = sonic_rs::to_vec(&ChatRequest::new("m", &request)).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "model": "m",
                "messages": [{"role": "system", "content": "Var kort."}],
                "stream": true,
                "options": {
                    "temperature": 0.25,
                    "top_p": 0.5,
                    "num_predict": 16,
                    "stop": ["\n"],
                    "seed": 7,
                    "repeat_penalty": 1.5
                }
            })
        );
    }
}
