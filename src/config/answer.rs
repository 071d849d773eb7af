//! `[answer]` and `[answer.crag]`: how the answer pipeline retrieves, grades, generates and
//! refuses.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// How the answer pipeline works.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnswerConfig {
    /// Time budget of one answer in milliseconds, when the request sets none.
    pub deadline_ms: u64,
    /// Largest time budget a request may ask for, in milliseconds.
    pub max_deadline_ms: u64,
    /// Optional stages (CRAG, self-reflection) are skipped when less than this many
    /// milliseconds of the budget are left.
    pub optional_stage_reserve_ms: u64,
    /// Longest accepted question, in characters.
    pub max_question_chars: usize,
    /// Most messages of history a request may carry.
    pub max_history_messages: usize,
    /// Longest history message, in characters.
    pub max_history_message_chars: usize,
    /// Largest history in characters, all messages together.
    pub max_history_chars: usize,
    /// Rewrite follow-up questions with the LLM (the rule-based rewrite is the fallback).
    pub llm_rewrite: bool,
    /// Rerank the candidates with the cross-encoder (or MaxSim) before generation. Off by
    /// default: on the development set MaxSim lowers the answer's sources from MRR 0.76 to
    /// 0.65 and costs about 0.3 s an answer (README, "Choosing the defaults").
    pub rerank: bool,
    /// Candidates kept after tiering and passed to the reranker.
    pub rerank_candidates: usize,
    /// Chunks of one document kept among the candidates (dedupe by document). Questions
    /// about one licence want several of its sections: 2 kept the answering passage out of
    /// the top 5 for 6 of 69 development questions that 6 finds.
    pub max_chunks_per_document: usize,
    /// Sources given to generation (and cited as `[n]`).
    pub max_sources: usize,
    /// Calibrated relevance below which a candidate is dropped.
    pub min_relevance: f64,
    /// Calibrated relevance of the best primary source needed for evidence level `high`.
    pub high_relevance: f64,
    /// Token budget of the sources in the assist prompt.
    pub context_tokens: usize,
    /// Quotes in an evidence-mode answer.
    pub max_quotes: usize,
    /// Check every sentence of an assist answer against its sources (`[answer.support]`):
    /// unsupported sentences are dropped, and with too few supported ones the answer falls
    /// back to quotes. Off, assist answers are not checked (and never reach evidence level
    /// `high`).
    pub reflection: bool,
    /// In `auto` mode, answer the questions the classifier sends to assist with the
    /// generator. Off, they are answered with quotes (evidence mode): turn it on only for a
    /// generator measured to stay grounded (`cargo bench --bench grounding`). Off by default:
    /// on the 58 dev-set questions that reach generation, SmolLM2-135M keeps on average 16%
    /// of an answer's sentences supported (local decoder and llama.cpp alike), and 49 of the
    /// 58 answers fall back to quotes.
    pub auto_assist: bool,
    /// When a sentence of an assist answer counts as supported by its sources.
    pub support: SupportConfig,
    /// Files overriding the built-in assets; empty = built in.
    pub constitution_path: String,
    /// Routing table (intents → collections); empty = built in.
    pub routing_path: String,
    /// Abbreviations used by query rewrites; empty = built in.
    pub abbreviations_path: String,
    /// Prompts and the refusal template; empty = built in.
    pub prompts_path: String,
    /// Corrective RAG: grading, rewrite and retry.
    pub crag: CragConfig,
}

/// The support check of assist answers (see `answer.reflection`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupportConfig {
    /// Least cosine similarity (sentence encoder) between an answer sentence and a sentence
    /// of its sources; 0 = the encoder's own on-topic cosine (0.65 for all-MiniLM-L6-v2,
    /// 0.89 for multilingual-e5-small, whose cosines all run high).
    pub min_similarity: f64,
    /// Least share of an answer sentence's content terms (those not in the source's title or
    /// path) found in the source sentence it restates.
    pub min_coverage: f64,
    /// Least share of an answer's checked sentences that must be supported; below it the
    /// answer falls back to quotes.
    pub min_share: f64,
}

/// Corrective RAG: grade candidates, drop the irrelevant, rewrite and retrieve again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CragConfig {
    /// Run CRAG at all. Off by default: with the reranker as grader it refused answerable
    /// development questions and lowered hit@5 (README, "Choosing the defaults"); requests
    /// may still ask for it (`"crag": true`).
    pub enabled: bool,
    /// `reranker` (calibrated reranker score) or `llm` (the generator answers yes/no).
    pub grader: Grader,
    /// Calibrated score at or above which a candidate is relevant.
    pub relevant_score: f64,
    /// Fewest relevant candidates; with fewer the query is rewritten and retrieved again.
    pub min_relevant: usize,
    /// Most rewrite-and-retrieve rounds.
    pub max_retries: u32,
    /// Gradings run at once.
    pub concurrency: usize,
    /// Time limit of one grading, in milliseconds.
    pub grade_timeout_ms: u64,
}

/// `answer.crag.grader`: who judges a candidate's relevance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grader {
    /// The reranker's calibrated score against `relevant_score`.
    Reranker,
    /// The generator, asked yes or no (the reranker when no generator is configured).
    Llm,
}

impl Default for AnswerConfig {
    fn default() -> Self {
        Self {
            deadline_ms: 60_000,
            max_deadline_ms: 300_000,
            optional_stage_reserve_ms: 2_000,
            max_question_chars: 4_000,
            max_history_messages: 20,
            max_history_message_chars: 8_000,
            max_history_chars: 32_000,
            llm_rewrite: false,
            rerank: false,
            rerank_candidates: 16,
            max_chunks_per_document: 6,
            max_sources: 6,
            min_relevance: 0.35,
            high_relevance: 0.6,
            context_tokens: 1_200,
            max_quotes: 4,
            reflection: true,
            auto_assist: false,
            support: SupportConfig::default(),
            constitution_path: String::new(),
            routing_path: String::new(),
            abbreviations_path: String::new(),
            prompts_path: String::new(),
            crag: CragConfig::default(),
        }
    }
}

impl Default for SupportConfig {
    fn default() -> Self {
        Self {
            min_similarity: 0.0,
            min_coverage: 0.7,
            min_share: 0.5,
        }
    }
}

impl Default for CragConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            grader: Grader::Reranker,
            relevant_score: 0.45,
            min_relevant: 1,
            max_retries: 1,
            concurrency: 4,
            grade_timeout_ms: 5_000,
        }
    }
}

impl AnswerConfig {
    /// Checks values that parse but make no sense.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| Err(ConfigError(format!("answer.{key}: {why}")));
        if self.deadline_ms == 0 || self.deadline_ms > self.max_deadline_ms {
            return fail(
                "deadline_ms",
                "must be positive and at most answer.max_deadline_ms",
            );
        }
        for (key, value) in [
            ("max_question_chars", self.max_question_chars),
            ("max_history_message_chars", self.max_history_message_chars),
            ("max_history_chars", self.max_history_chars),
            ("rerank_candidates", self.rerank_candidates),
            ("max_chunks_per_document", self.max_chunks_per_document),
            ("max_sources", self.max_sources),
            ("context_tokens", self.context_tokens),
            ("max_quotes", self.max_quotes),
            ("crag.concurrency", self.crag.concurrency),
        ] {
            if value == 0 {
                return fail(key, "must be positive");
            }
        }
        for (key, value) in [
            ("min_relevance", self.min_relevance),
            ("high_relevance", self.high_relevance),
            ("crag.relevant_score", self.crag.relevant_score),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return fail(key, "must be within 0..=1 (a calibrated score)");
            }
        }
        for (key, value) in [
            ("support.min_similarity", self.support.min_similarity),
            ("support.min_coverage", self.support.min_coverage),
            ("support.min_share", self.support.min_share),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return fail(key, "must be within 0..=1");
            }
        }
        if self.high_relevance < self.min_relevance {
            return fail("high_relevance", "must not be below answer.min_relevance");
        }
        Ok(())
    }
}
