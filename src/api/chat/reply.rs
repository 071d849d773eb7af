//! The reply of `POST /v1/chat/completions`: one JSON completion, or an SSE stream of chunks
//! ending with `data: [DONE]` — one 200 response with two content types in the spec.

use std::time::Duration;

use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt};
use poem::web::sse::{Event, SSE};
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};

use super::dto::{
    AssistantMessage, ChatChoice, ChatCompletion, ChatCompletionChunk, ChatUsage, ChunkChoice,
    ChunkDelta,
};
use crate::api::dto::answer::Source;
use crate::api::problem::ApiError;
use crate::error::AppError;
use crate::llm::{FinishReason, GenerationError, GenerationEvent, Usage};

/// Comment lines sent while the generator is silent, so proxies keep the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// A whole completion or a stream of chunks.
pub enum ChatReply {
    /// `application/json`.
    Whole(ChatCompletion),
    /// `text/event-stream`.
    Stream(BoxStream<'static, Event>),
}

impl IntoResponse for ChatReply {
    fn into_response(self) -> Response {
        match self {
            ChatReply::Whole(completion) => Json(completion).into_response(),
            ChatReply::Stream(events) => SSE::new(events).keep_alive(KEEP_ALIVE).into_response(),
        }
    }
}

impl ApiResponse for ChatReply {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The completion; with `stream: true` a `text/event-stream` of \
                              `chat.completion.chunk` objects ending with `data: [DONE]`",
                status: Some(200),
                status_range: None,
                content: vec![
                    MetaMediaType {
                        content_type: "application/json",
                        schema: ChatCompletion::schema_ref(),
                    },
                    MetaMediaType {
                        content_type: "text/event-stream",
                        schema: ChatCompletionChunk::schema_ref(),
                    },
                ],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        ChatCompletion::register(registry);
        ChatCompletionChunk::register(registry);
    }
}

/// What every chunk of one completion repeats.
#[derive(Debug, Clone)]
pub struct ChunkHeader {
    /// `chatcmpl-…`.
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    /// Model that answers.
    pub model: String,
    /// Whether a usage chunk precedes `[DONE]`.
    pub include_usage: bool,
}

impl ChunkHeader {
    /// SSE events of a generation whose first event has already arrived (so errors before
    /// it became an HTTP status). A later error ends the stream with an OpenAI-style
    /// `{"error": …}` event and no `[DONE]`.
    pub fn events(
        self,
        first: GenerationEvent,
        rest: impl Stream<Item = Result<GenerationEvent, GenerationError>> + Send + 'static,
    ) -> BoxStream<'static, Event> {
        let opening = self.opening();
        let generated = stream::once(async move { Ok(first) })
            .chain(rest)
            .scan(false, move |ended, event| {
                let events = if *ended {
                    None
                } else {
                    *ended = !matches!(event, Ok(GenerationEvent::Delta(_)));
                    Some(self.events_of(event))
                };
                async move { events }
            })
            .flat_map(stream::iter);
        stream::once(async move { opening })
            .chain(generated)
            .boxed()
    }

    /// The SSE events one generation event becomes.
    fn events_of(&self, event: Result<GenerationEvent, GenerationError>) -> Vec<Event> {
        match event {
            Ok(GenerationEvent::Delta(text)) => vec![self.text(text)],
            Ok(GenerationEvent::Finished {
                usage,
                finish_reason,
            }) => {
                let mut events = vec![self.chunk(
                    ChunkDelta {
                        role: None,
                        content: None,
                    },
                    Some(finish_reason),
                )];
                if self.include_usage {
                    events.push(self.usage_chunk(usage));
                }
                events.push(Event::message("[DONE]"));
                events
            }
            Err(err) => vec![error_event(err)],
        }
    }

    fn chunk(&self, delta: ChunkDelta, finish_reason: Option<FinishReason>) -> Event {
        self.event(
            vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish_reason.map(|r| r.as_str().to_string()),
            }],
            None,
        )
    }

    fn usage_chunk(&self, usage: Usage) -> Event {
        self.event(Vec::new(), Some(chat_usage(usage)))
    }

    fn event(&self, choices: Vec<ChunkChoice>, usage: Option<ChatUsage>) -> Event {
        self.event_with_references(choices, usage, None)
    }

    fn event_with_references(
        &self,
        choices: Vec<ChunkChoice>,
        usage: Option<ChatUsage>,
        references: Option<Vec<Source>>,
    ) -> Event {
        let chunk = ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage,
            references,
        };
        Event::message(chunk.to_json_string())
    }

    /// The whole completion with this header: one choice holding `content`.
    pub fn completion(
        self,
        content: String,
        finish_reason: FinishReason,
        usage: Usage,
        references: Option<Vec<Source>>,
    ) -> ChatCompletion {
        ChatCompletion {
            id: self.id,
            object: "chat.completion".into(),
            created: self.created,
            model: self.model,
            choices: vec![ChatChoice {
                index: 0,
                message: AssistantMessage {
                    role: "assistant".into(),
                    content,
                },
                finish_reason: finish_reason.as_str().into(),
            }],
            usage: chat_usage(usage),
            references,
        }
    }

    /// The first chunk: the assistant's role and no text yet.
    pub fn opening(&self) -> Event {
        self.chunk(
            ChunkDelta {
                role: Some("assistant".into()),
                content: Some(String::new()),
            },
            None,
        )
    }

    /// A chunk of answer text.
    pub fn text(&self, text: String) -> Event {
        self.chunk(
            ChunkDelta {
                role: None,
                content: Some(text),
            },
            None,
        )
    }

    /// The closing events of a RAG answer: the finish reason with the references, the usage
    /// chunk when asked for, and `[DONE]`.
    pub fn closing(&self, usage: Usage, references: Vec<Source>) -> Vec<Event> {
        let finish = ChunkChoice {
            index: 0,
            delta: ChunkDelta {
                role: None,
                content: None,
            },
            finish_reason: Some(FinishReason::Stop.as_str().into()),
        };
        let mut events = vec![self.event_with_references(vec![finish], None, Some(references))];
        if self.include_usage {
            events.push(self.usage_chunk(usage));
        }
        events.push(Event::message("[DONE]"));
        events
    }
}

/// OpenAI's token counts from ours.
fn chat_usage(usage: Usage) -> ChatUsage {
    ChatUsage {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        total_tokens: usage.prompt_tokens + usage.completion_tokens,
    }
}

/// A failure after streaming began, as OpenAI reports it inside a stream.
fn error_event(err: GenerationError) -> Event {
    let problem = ApiError::from(AppError::from(err)).into_problem();
    openai_error(&problem.detail, &problem.code)
}

/// OpenAI's `{"error": …}` stream event.
pub fn openai_error(message: &str, code: &str) -> Event {
    let body = serde_json::json!({
        "error": { "message": message, "type": "server_error", "code": code }
    });
    Event::message(body.to_string())
}
