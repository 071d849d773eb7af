//! Wire types of OpenAI's chat completions API, as far as this server supports it.

use poem_openapi::types::Example;
use poem_openapi::{Object, Union};
use serde::Deserialize;

use crate::api::dto::answer::Source;

/// One string or several.
#[derive(Debug, Clone, Union, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single string.
    One(String),
    /// A list of strings.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings, in order.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

/// A part of a multi-part message; only `text` parts are supported.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentPart {
    /// Must be `text`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of the part.
    pub text: String,
}

/// Message content: a string or a list of text parts.
#[derive(Debug, Clone, Union, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Text parts, joined with newlines.
    Parts(Vec<ContentPart>),
}

/// One message of the conversation.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatMessageIn {
    /// `system`, `developer` (treated as `system`), `user` or `assistant`.
    pub role: String,
    /// The message text.
    pub content: MessageContent,
    /// Author name (accepted, not used).
    pub name: Option<String>,
}

/// Streaming options.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamOptions {
    /// Send a last chunk with token usage before `[DONE]`.
    #[serde(default)]
    #[oai(default)]
    pub include_usage: bool,
}

/// Requested output format; only `text` is supported.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct ResponseFormat {
    /// Must be `text`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
}

/// An OpenAI-compatible chat completion request.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(example)]
pub struct ChatCompletionRequest {
    /// The configured generator's model id (see `GET /v1/models`); omitted = that model.
    /// `rag` answers with the answer pipeline over the routed collections, `rag:<a>,<b>`
    /// over collections `a` and `b`.
    pub model: Option<String>,
    /// The conversation; the model answers it.
    pub messages: Vec<ChatMessageIn>,
    /// Stream `chat.completion.chunk` events (SSE) ending with `data: [DONE]`.
    #[serde(default)]
    #[oai(default)]
    pub stream: bool,
    /// Streaming options.
    pub stream_options: Option<StreamOptions>,
    /// Softmax temperature, 0–2; 0 = greedy. Default from `[sampling.chat]`.
    pub temperature: Option<f32>,
    /// Nucleus sampling threshold, (0, 1].
    pub top_p: Option<f32>,
    /// Most tokens to generate (legacy name).
    pub max_tokens: Option<u32>,
    /// Most tokens to generate.
    pub max_completion_tokens: Option<u32>,
    /// Up to 4 stop strings.
    pub stop: Option<OneOrMany>,
    /// Sampler seed for reproducible sampling.
    pub seed: Option<u64>,
    /// Penalty on tokens already in the context, > 0 (1 = off); an extension of llama.cpp
    /// and vLLM.
    pub repetition_penalty: Option<f32>,
    /// Only 1 is supported.
    pub n: Option<u32>,
    /// Only 0 is supported.
    pub presence_penalty: Option<f32>,
    /// Only 0 is supported.
    pub frequency_penalty: Option<f32>,
    /// Only `false` is supported.
    pub logprobs: Option<bool>,
    /// Only `text` is supported.
    pub response_format: Option<ResponseFormat>,
    /// End-user id (accepted, not used).
    pub user: Option<String>,
}

impl Example for ChatCompletionRequest {
    fn example() -> Self {
        ChatCompletionRequest {
            model: None,
            messages: vec![ChatMessageIn {
                role: "user".into(),
                content: MessageContent::Text("What does a constitution establish?".into()),
                name: None,
            }],
            stream: false,
            stream_options: None,
            temperature: Some(0.0),
            top_p: None,
            max_tokens: Some(64),
            max_completion_tokens: None,
            stop: None,
            seed: None,
            repetition_penalty: None,
            n: None,
            presence_penalty: None,
            frequency_penalty: None,
            logprobs: None,
            response_format: None,
            user: None,
        }
    }
}

/// The assistant's message.
#[derive(Debug, Clone, Object)]
pub struct AssistantMessage {
    /// Always `assistant`.
    pub role: String,
    /// The generated text.
    pub content: String,
}

/// One generated choice.
#[derive(Debug, Clone, Object)]
pub struct ChatChoice {
    /// Always 0.
    pub index: u32,
    /// The answer.
    pub message: AssistantMessage,
    /// `stop` or `length`.
    pub finish_reason: String,
}

/// Token counts.
#[derive(Debug, Clone, Object)]
pub struct ChatUsage {
    /// Tokens of the rendered prompt.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
    /// Their sum.
    pub total_tokens: u32,
}

/// A whole chat completion.
#[derive(Debug, Clone, Object)]
pub struct ChatCompletion {
    /// `chatcmpl-…`.
    pub id: String,
    /// Always `chat.completion`.
    pub object: String,
    /// Unix time of creation, in seconds.
    pub created: i64,
    /// Model that answered.
    pub model: String,
    /// Exactly one choice.
    pub choices: Vec<ChatChoice>,
    /// Token counts.
    pub usage: ChatUsage,
    /// With `model: "rag"`: the sources the answer cites as `[n]`.
    #[oai(skip_serializing_if_is_none)]
    pub references: Option<Vec<Source>>,
}

/// New text of a streamed choice.
#[derive(Debug, Clone, Object)]
pub struct ChunkDelta {
    /// `assistant` in the first chunk only.
    #[oai(skip_serializing_if_is_none)]
    pub role: Option<String>,
    /// More text.
    #[oai(skip_serializing_if_is_none)]
    pub content: Option<String>,
}

/// One streamed choice.
#[derive(Debug, Clone, Object)]
pub struct ChunkChoice {
    /// Always 0.
    pub index: u32,
    /// New text.
    pub delta: ChunkDelta,
    /// `stop` or `length` in the last chunk, else null (as OpenAI sends it).
    #[oai(nullable)]
    pub finish_reason: Option<String>,
}

/// One event of a streamed chat completion (`data:` of an SSE event).
#[derive(Debug, Clone, Object)]
pub struct ChatCompletionChunk {
    /// Same for every chunk of one completion.
    pub id: String,
    /// Always `chat.completion.chunk`.
    pub object: String,
    /// Unix time of creation, in seconds.
    pub created: i64,
    /// Model that answers.
    pub model: String,
    /// One choice; empty in the usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// Token counts, in the last chunk when `stream_options.include_usage` is set.
    #[oai(skip_serializing_if_is_none)]
    pub usage: Option<ChatUsage>,
    /// With `model: "rag"`: the sources the answer cites, in the chunk with the finish
    /// reason.
    #[oai(skip_serializing_if_is_none)]
    pub references: Option<Vec<Source>>,
}

/// One model the server serves.
#[derive(Debug, Clone, Object)]
pub struct ModelCard {
    /// Model id to put in requests.
    pub id: String,
    /// Always `model`.
    pub object: String,
    /// Unix time the server started, in seconds.
    pub created: i64,
    /// Always `constitutional-rag`.
    pub owned_by: String,
}

/// The models the server serves.
#[derive(Debug, Clone, Object)]
pub struct ModelList {
    /// Always `list`.
    pub object: String,
    /// Generator first, then the sentence encoder.
    pub data: Vec<ModelCard>,
}
