//! What a development-set run observes for each question: the answer and each search,
//! scored by `dev_report`. The run (`dev_run`) produces these, the report reads them.

use serde::Serialize;

use super::dev_set::{QuestionKind, TextLanguage};
use crate::service::SearchMode;

/// Hits asked of each search and sources scored of each answer (MRR@10).
pub const DEPTH: usize = 10;

/// The search configurations scored, in report order.
pub const SEARCHES: [(SearchMode, bool); 6] = [
    (SearchMode::Bm25, false),
    (SearchMode::Dense, false),
    (SearchMode::Hybrid, false),
    (SearchMode::Bm25, true),
    (SearchMode::Dense, true),
    (SearchMode::Hybrid, true),
];

/// One search of one question.
#[derive(Debug, Clone, Serialize)]
pub struct SearchOutcome {
    /// Signal.
    pub mode: SearchMode,
    /// Whether candidates were reranked.
    pub rerank: bool,
    /// 0-based rank of the first hit containing the quote, within [`DEPTH`].
    pub found_at: Option<usize>,
    /// Latency in milliseconds.
    pub ms: f64,
}

/// Everything observed for one question.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionOutcome {
    /// The question's id.
    pub id: String,
    /// Its kind.
    pub kind: QuestionKind,
    /// The language it was asked in.
    pub language: TextLanguage,
    /// Whether the answer refused.
    pub refused: bool,
    /// Why, when it refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal_reason: Option<String>,
    /// 0-based rank of the first source containing the quote (positives).
    pub answer_found_at: Option<usize>,
    /// Whether the answer text contains the quote (positives).
    pub answer_contains_quote: bool,
    /// Answer latency in milliseconds.
    pub answer_ms: f64,
    /// The searches (positives only).
    pub searches: Vec<SearchOutcome>,
}
