//! An answer request as the pipeline takes it, and its checks (4xx on bad input).

use std::time::Duration;

use super::deadline::Deadline;
use super::decontextualize::{HistoryLimits, validate_history};
use super::types::{RequestedMode, Turn};
use crate::config::AnswerConfig;
use crate::error::{AppError, AppResult};
use crate::llm::SamplingOverrides;

/// A question to answer.
#[derive(Debug, Clone, Default)]
pub struct AnswerRequest {
    /// The question.
    pub question: String,
    /// Requested mode; `auto` classifies.
    pub mode: RequestedMode,
    /// Earlier turns, oldest first.
    pub history: Vec<Turn>,
    /// Collections to search instead of the routed ones; empty = route by intent.
    pub collections: Vec<String>,
    /// Time budget in milliseconds; the configured default when absent.
    pub deadline_ms: Option<u64>,
    /// Run CRAG; the configured default when absent.
    pub crag: Option<bool>,
    /// Rerank before generation; the configured default when absent.
    pub rerank: Option<bool>,
    /// Sampling overrides for generation.
    pub sampling: SamplingOverrides,
}

/// Checks `request` against `config` and starts its deadline.
pub fn check(request: &AnswerRequest, config: &AnswerConfig) -> AppResult<Deadline> {
    if request.question.trim().is_empty() {
        return Err(AppError::invalid(
            "empty_question",
            "question must not be empty",
        ));
    }
    let chars = request.question.chars().count();
    if chars > config.max_question_chars {
        return Err(AppError::invalid(
            "question_too_long",
            format!(
                "question has {chars} characters; at most {} are accepted",
                config.max_question_chars
            ),
        ));
    }
    validate_history(
        &request.history,
        &HistoryLimits {
            max_messages: config.max_history_messages,
            max_message_chars: config.max_history_message_chars,
            max_total_chars: config.max_history_chars,
        },
    )?;
    let budget = request.deadline_ms.unwrap_or(config.deadline_ms);
    if budget == 0 || budget > config.max_deadline_ms {
        return Err(AppError::invalid(
            "invalid_deadline",
            format!("deadline_ms must be within 1..={}", config.max_deadline_ms),
        ));
    }
    Ok(Deadline::new(
        Duration::from_millis(budget),
        Duration::from_millis(config.optional_stage_reserve_ms),
    ))
}
