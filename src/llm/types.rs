//! The request, event and error types shared by every generation backend.

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The person asking.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The role's name as chat templates and HTTP APIs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Author of the message.
    pub role: Role,
    /// Text of the message.
    pub content: String,
}

impl ChatMessage {
    /// A message from `role` with `content`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// How tokens are chosen. `temperature == 0` means greedy (deterministic) decoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Softmax temperature; 0 = always the most likely token.
    pub temperature: f32,
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches `top_p`.
    pub top_p: f32,
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// Generation ends before any of these strings; they are not part of the output.
    pub stop: Vec<String>,
    /// Seed of the sampler, for reproducible sampling.
    pub seed: Option<u64>,
    /// Divides the logits of tokens already in the context (1 = off).
    pub repetition_penalty: f32,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            temperature: 0.7,
            top_p: 0.9,
            max_tokens: 512,
            stop: Vec::new(),
            seed: None,
            repetition_penalty: 1.0,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationRequest {
    /// The conversation so far; the model answers the last message.
    pub messages: Vec<ChatMessage>,
    /// Sampling parameters.
    pub sampling: Sampling,
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    /// The model ended its turn or a stop string appeared.
    Stop,
    /// `max_tokens` (or the context window) was reached.
    Length,
}

impl FinishReason {
    /// The reason as OpenAI's API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
        }
    }
}

/// Tokens consumed by one generation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the rendered prompt.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
}

/// One item of a generation stream.
#[derive(Debug, Clone, PartialEq)]
pub enum GenerationEvent {
    /// More text (may be empty of visible characters, never of bytes).
    Delta(String),
    /// The last item: usage and why it ended.
    Finished {
        /// Tokens consumed.
        usage: Usage,
        /// Why it ended.
        finish_reason: FinishReason,
    },
}

/// Why a generation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenerationError {
    /// The request cannot be served as asked (e.g. the prompt exceeds the context window).
    #[error("{0}")]
    Invalid(String),
    /// Too many generations are waiting; retry later.
    #[error("{0}")]
    Overloaded(String),
    /// The upstream server cannot be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The upstream server answered with an error or something unreadable.
    #[error("{0}")]
    Upstream(String),
    /// A time limit passed (connect, first token, between tokens or total).
    #[error("{0}")]
    Timeout(String),
    /// A bug or a model failure; details stay in the log.
    #[error("{0}")]
    Internal(String),
}

impl From<GenerationError> for AppError {
    fn from(err: GenerationError) -> Self {
        match err {
            GenerationError::Invalid(message) => AppError::invalid("invalid_generation", message),
            GenerationError::Overloaded(message) | GenerationError::Unreachable(message) => {
                AppError::Unavailable(message)
            }
            GenerationError::Upstream(message) => AppError::BadGateway(message),
            GenerationError::Timeout(message) => AppError::GatewayTimeout(message),
            GenerationError::Internal(message) => AppError::Internal(message),
        }
    }
}

/// A running generation; dropping it cancels.
pub type GenerationStream = BoxStream<'static, Result<GenerationEvent, GenerationError>>;

/// A whole generation gathered from its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// All text deltas joined.
    pub text: String,
    /// Tokens consumed.
    pub usage: Usage,
    /// Why it ended.
    pub finish_reason: FinishReason,
}

/// Drains `stream` into one [`Completion`]; a stream that ends without
/// [`GenerationEvent::Finished`] is an upstream error.
pub async fn collect(mut stream: GenerationStream) -> Result<Completion, GenerationError> {
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event? {
            GenerationEvent::Delta(delta) => text.push_str(&delta),
            GenerationEvent::Finished {
                usage,
                finish_reason,
            } => {
                return Ok(Completion {
                    text,
                    usage,
                    finish_reason,
                });
            }
        }
    }
    Err(GenerationError::Upstream(
        "the generation ended without a finish reason".into(),
    ))
}
