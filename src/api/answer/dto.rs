//! The request body of the native answer routes.

use poem_openapi::Object;
use serde::Deserialize;

use crate::api::dto::answer::{RequestedMode, Turn};
use crate::api::dto::convert_all;
use crate::config::{valid_temperature, valid_top_p};
use crate::error::{AppError, AppResult};
use crate::llm::SamplingOverrides;
use crate::pipeline::AnswerRequest;

/// Most tokens an answer may ask to generate.
const MAX_ANSWER_TOKENS: u32 = 8_192;

/// A question to answer from the collections.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// The question, in Swedish or English.
    pub question: String,
    /// `auto` (default) classifies the question; `chat`, `assist` or `evidence` force a mode.
    #[oai(default)]
    #[serde(default)]
    pub mode: RequestedMode,
    /// Earlier turns, oldest first (at most `answer.max_history_messages`).
    #[oai(default)]
    #[serde(default)]
    pub history: Vec<Turn>,
    /// Collections to search instead of the routed ones.
    #[oai(default)]
    #[serde(default)]
    pub collections: Vec<String>,
    /// Time budget in milliseconds (default `answer.deadline_ms`, at most
    /// `answer.max_deadline_ms`); optional stages are skipped when it runs short.
    pub deadline_ms: Option<u64>,
    /// Run corrective RAG (default `answer.crag.enabled`).
    pub crag: Option<bool>,
    /// Rerank before generation (default `answer.rerank`).
    pub rerank: Option<bool>,
    /// Sampling temperature of generation (0–2).
    pub temperature: Option<f32>,
    /// Nucleus sampling threshold of generation, in (0, 1].
    pub top_p: Option<f32>,
    /// Most tokens to generate.
    pub max_tokens: Option<u32>,
    /// Sampler seed, for reproducible sampling.
    pub seed: Option<u64>,
}

impl AnswerBody {
    /// The pipeline request, or why the sampling values are invalid.
    pub fn into_request(self) -> AppResult<AnswerRequest> {
        if self.temperature.is_some_and(|t| !valid_temperature(t)) {
            return Err(AppError::invalid(
                "invalid_temperature",
                "temperature must be within 0..=2",
            ));
        }
        if self.top_p.is_some_and(|p| !valid_top_p(p)) {
            return Err(AppError::invalid(
                "invalid_top_p",
                "top_p must be within (0, 1]",
            ));
        }
        if self
            .max_tokens
            .is_some_and(|m| m == 0 || m > MAX_ANSWER_TOKENS)
        {
            return Err(AppError::invalid(
                "invalid_max_tokens",
                format!("max_tokens must be within 1..={MAX_ANSWER_TOKENS}"),
            ));
        }
        Ok(AnswerRequest {
            question: self.question,
            mode: self.mode.into(),
            history: convert_all(self.history),
            collections: self.collections,
            deadline_ms: self.deadline_ms,
            crag: self.crag,
            rerank: self.rerank,
            sampling: SamplingOverrides {
                temperature: self.temperature,
                top_p: self.top_p,
                max_tokens: self.max_tokens,
                seed: self.seed,
                ..Default::default()
            },
        })
    }
}
