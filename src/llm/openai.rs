//! Generation on an OpenAI-compatible server (llama.cpp's server, vLLM, Ollama's `/v1`):
//! streaming `POST {url}/chat/completions`, read as server-sent events.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::http::{self, Upstream, WireFormat, finish_reason, upstream_message};
use super::{
    ChatMessage, FinishReason, GenerationError, GenerationEvent, GenerationRequest,
    GenerationStream, Generator, Usage,
};
use crate::config::GenerationConfig;

/// A [`Generator`] backed by an OpenAI-compatible chat-completions endpoint.
///
/// Usage comes from the upstream's final `usage` chunk, requested with
/// `stream_options.include_usage`; an upstream that sends none (llama-cpp-python's server,
/// for one) reports zero tokens rather than a guess from counting deltas (a delta is not
/// always one token).
#[derive(Debug)]
pub struct OpenAiGenerator {
    model: String,
    upstream: Arc<Upstream>,
}

impl OpenAiGenerator {
    /// A generator for `config.model` at `config.url` (the API base, e.g.
    /// `http://127.0.0.1:8081/v1`), with the connection, timeout and retry settings of
    /// `config`.
    pub fn new(config: &GenerationConfig) -> Result<Self, GenerationError> {
        Ok(Self {
            model: config.model.clone(),
            upstream: Arc::new(Upstream::new(config, "chat/completions")?),
        })
    }
}

impl Generator for OpenAiGenerator {
    fn model(&self) -> &str {
        &self.model
    }

    fn check(&self) -> futures::future::BoxFuture<'_, Result<(), String>> {
        Box::pin(self.upstream.probe("models"))
    }

    fn generate(&self, request: GenerationRequest) -> GenerationStream {
        http::stream(
            &self.upstream,
            &ChatRequest::new(&self.model, &request),
            ChunkEvents::default(),
        )
    }
}

/// The body of a streaming chat-completions request.
#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    stream: bool,
    stream_options: StreamOptions,
    temperature: f32,
    top_p: f32,
    max_tokens: u32,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    /// The penalty as llama.cpp names it. Always sent: llama-cpp-python's server applies
    /// 1.1 when it is left out, so leaving it out would not mean "off". (api.openai.com
    /// rejects both penalty fields, but it is not an upstream this backend targets.)
    repeat_penalty: f32,
    /// The same penalty as vLLM names it; each server ignores the other's name.
    repetition_penalty: f32,
}

impl<'a> ChatRequest<'a> {
    fn new(model: &'a str, request: &'a GenerationRequest) -> Self {
        let sampling = &request.sampling;
        Self {
            model,
            messages: &request.messages,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
            temperature: sampling.temperature,
            top_p: sampling.top_p,
            max_tokens: sampling.max_tokens,
            stop: &sampling.stop,
            seed: sampling.seed,
            repeat_penalty: sampling.repetition_penalty,
            repetition_penalty: sampling.repetition_penalty,
        }
    }
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// One `chat.completion.chunk` (or an error object sent in its place).
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<ChunkUsage>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct ChunkUsage {
    prompt_tokens: u32,
    completion_tokens: u32,
}

/// Server-sent events carrying chat-completion chunks, ended by `data: [DONE]`.
#[derive(Default)]
struct ChunkEvents {
    /// The `data` of the event being received.
    data: String,
    /// Whether the event being received has a `data` field.
    has_data: bool,
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
}

impl WireFormat for ChunkEvents {
    fn line(
        &mut self,
        line: &str,
        events: &mut VecDeque<GenerationEvent>,
    ) -> Result<(), GenerationError> {
        if line.is_empty() {
            if self.has_data {
                self.has_data = false;
                let data = std::mem::take(&mut self.data);
                self.event(&data, events)?;
            }
            return Ok(());
        }
        // `field: value`; comments (`: ping`), `event`, `id` and `retry` carry no text.
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        if field == "data" {
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(value.strip_prefix(' ').unwrap_or(value));
            self.has_data = true;
        }
        Ok(())
    }
}

impl ChunkEvents {
    /// Interprets the data of one complete event.
    fn event(
        &mut self,
        data: &str,
        events: &mut VecDeque<GenerationEvent>,
    ) -> Result<(), GenerationError> {
        if data == "[DONE]" {
            let finish_reason = self.finish_reason.ok_or_else(|| {
                GenerationError::Upstream(
                    "the upstream ended the stream without a finish reason".into(),
                )
            })?;
            events.push_back(GenerationEvent::Finished {
                usage: self.usage.unwrap_or_default(),
                finish_reason,
            });
            return Ok(());
        }
        let chunk: Chunk = sonic_rs::from_str(data).map_err(|err| {
            GenerationError::Upstream(format!("the upstream sent an unreadable event ({err})"))
        })?;
        if chunk.error.is_some() {
            return Err(GenerationError::Upstream(format!(
                "the upstream failed while generating: {}",
                upstream_message(data.as_bytes())
            )));
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(Usage {
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
            });
        }
        if let Some(choice) = chunk.choices.into_iter().next() {
            if let Some(text) = choice.delta.and_then(|delta| delta.content)
                && !text.is_empty()
            {
                events.push_back(GenerationEvent::Delta(text));
            }
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(finish_reason(&reason));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{Role, Sampling};

    fn feed(body: &str) -> Result<Vec<GenerationEvent>, GenerationError> {
        let mut format = ChunkEvents::default();
        let mut events = VecDeque::new();
        for line in body.lines().chain([""]) {
            format.line(line, &mut events)?;
        }
        Ok(events.into())
    }

    #[test]
    fn chunks_become_deltas_then_a_finish_with_usage() {
        let body = concat!(
            ": keep-alive\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Sv\\u00e4r\"},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":null}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":1,\"total_tokens\":8}}\n\n",
            "data: [DONE]\n\n",
        );
        assert_eq!(
            feed(body).unwrap(),
            [
                GenerationEvent::Delta("Svär".into()),
                GenerationEvent::Finished {
                    usage: Usage {
                        prompt_tokens: 7,
                        completion_tokens: 1
                    },
                    finish_reason: FinishReason::Length
                }
            ]
        );
    }

    #[test]
    fn without_usage_nothing_is_counted() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n";
        assert_eq!(
            feed(body).unwrap()[1],
            GenerationEvent::Finished {
                usage: Usage::default(),
                finish_reason: FinishReason::Stop
            }
        );
    }

    #[test]
    fn errors_and_garbage_are_upstream_errors() {
        let error = "data: {\"error\":{\"message\":\"out of memory\",\"code\":500}}\n\n";
        assert_eq!(
            feed(error),
            Err(GenerationError::Upstream(
                "the upstream failed while generating: out of memory".into()
            ))
        );
        assert!(matches!(
            feed("data: {not json\n\n"),
            Err(GenerationError::Upstream(_))
        ));
        assert!(matches!(
            feed("data: [DONE]\n\n"),
            Err(GenerationError::Upstream(_))
        ));
    }

    #[test]
    fn the_request_maps_every_sampling_field() {
        let request = GenerationRequest {
            messages: vec![ChatMessage::new(Role::User, "Hej")],
            sampling: Sampling {
                temperature: 0.0,
                top_p: 0.5,
                max_tokens: 16,
                stop: vec!["\n".into()],
                seed: Some(7),
                repetition_penalty: 1.25,
            },
        };
        let body = ChatRequest::new("m", &request);
        let json: serde_json::Value =
            serde_json::from_slice(&sonic_rs::to_vec(&body).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "model": "m",
                "messages": [{"role": "user", "content": "Hej"}],
                "stream": true,
                "stream_options": {"include_usage": true},
                "temperature": 0.0,
                "top_p": 0.5,
                "max_tokens": 16,
                "stop": ["\n"],
                "seed": 7,
                "repeat_penalty": 1.25,
                "repetition_penalty": 1.25
            })
        );
    }
}
