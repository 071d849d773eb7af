//! The answer and its parts as the answer routes send them, and the conversation turns and
//! modes their requests carry.

use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::{convert_all, mirror_enum};
use crate::pipeline::types as engine;

mirror_enum! {
    /// The mode a caller asks for; `auto` lets the classifier decide.
    #[serde(rename_all = "lowercase")]
    #[oai(rename_all = "lowercase")]
    pub enum RequestedMode mirrors pipeline::types::RequestedMode {
        /// Classify the question: chat, assist or evidence.
        Auto,
        /// Conversation without retrieval.
        Chat,
        /// An LLM answer over the retrieved sources, with numbered citations.
        Assist,
        /// Verbatim quotes of the sources only; never text the sources do not contain.
        Evidence,
    }
}

impl Default for RequestedMode {
    fn default() -> Self {
        engine::RequestedMode::default().into()
    }
}

mirror_enum! {
    /// What an answer is for; each mode has its own sampling defaults.
    #[serde(rename_all = "lowercase")]
    #[oai(rename_all = "lowercase")]
    pub enum AnswerMode mirrors llm::AnswerMode {
        /// Grounded answers built from quoted evidence.
        Evidence,
        /// Answers written with the sources as context.
        Assist,
        /// Free conversation.
        Chat,
    }
}

mirror_enum! {
    /// Who wrote a turn of the conversation history.
    #[serde(rename_all = "lowercase")]
    #[oai(rename_all = "lowercase")]
    pub enum TurnRole mirrors pipeline::types::TurnRole {
        /// The person asking.
        User,
        /// The assistant's earlier answer.
        Assistant,
    }
}

/// One earlier turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Object)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// Author of the turn.
    pub role: TurnRole,
    /// Text of the turn.
    pub content: String,
}

impl From<Turn> for engine::Turn {
    fn from(turn: Turn) -> Self {
        Self {
            role: turn.role.into(),
            content: turn.content,
        }
    }
}

mirror_enum! {
    /// How strongly the sources back the answer.
    #[serde(rename_all = "lowercase")]
    #[oai(rename_all = "lowercase")]
    pub enum EvidenceLevel mirrors pipeline::types::EvidenceLevel {
        /// No usable evidence: the answer is a refusal (or a chat reply).
        None,
        /// Some evidence, but weak scores or only secondary sources.
        Low,
        /// Strong calibrated scores on primary (legal text) sources.
        High,
    }
}

mirror_enum! {
    /// The kind of question, which decides the collections searched.
    #[serde(rename_all = "snake_case")]
    #[oai(rename_all = "snake_case")]
    pub enum Intent mirrors pipeline::types::Intent {
        /// What a statute or regulation says.
        LegalText,
        /// How to do something: procedures, applications, deadlines.
        Practical,
        /// Parliament, government and policy work.
        ParliamentPolicy,
        /// Background, commentary and research.
        Research,
        /// None of the above.
        Unknown,
    }
}

/// Every score a source was given; `relevance` is the calibrated one thresholds use.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct SourceScores {
    /// Calibrated relevance in [0, 1]: the basis of thresholds and the evidence level.
    pub relevance: f64,
    /// Cosine similarity of the dense embeddings, when the dense signal found it.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dense: Option<f64>,
    /// BM25 score, when the lexical signal found it.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bm25: Option<f64>,
    /// Weighted reciprocal-rank-fusion score (ordering only, never thresholded).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fused: Option<f64>,
    /// Reranker score, when reranked.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerank: Option<f64>,
    /// Share of the question's content terms the passage contains, in [0, 1].
    pub lexical: f64,
}

impl From<engine::SourceScores> for SourceScores {
    fn from(scores: engine::SourceScores) -> Self {
        Self {
            relevance: scores.relevance,
            dense: scores.dense,
            bm25: scores.bm25,
            fused: scores.fused,
            rerank: scores.rerank,
            lexical: scores.lexical,
        }
    }
}

/// A source the answer may cite; `index` is the `n` of `[n]`.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct Source {
    /// 1-based index cited as `[n]`.
    pub index: u32,
    /// Chunk identifier.
    pub chunk_id: String,
    /// Document identifier.
    pub document_id: String,
    /// Document title.
    pub title: String,
    /// Collection it came from.
    pub collection: String,
    /// Structural path, e.g. `RF 2 kap. 1 §`.
    pub path: String,
    /// Start of the chunk in the document text, in characters.
    pub char_start: u64,
    /// End of the chunk (exclusive), in characters.
    pub char_end: u64,
    /// The chunk's text: the document's characters `char_start..char_end`.
    pub snippet: String,
    /// `primary` (routed primary collection) or `support`.
    pub tier: String,
    /// Every signal's score.
    pub scores: SourceScores,
}

impl From<engine::Source> for Source {
    fn from(source: engine::Source) -> Self {
        Self {
            index: source.index,
            chunk_id: source.chunk_id,
            document_id: source.document_id,
            title: source.title,
            collection: source.collection,
            path: source.path,
            char_start: source.char_start,
            char_end: source.char_end,
            snippet: source.snippet,
            tier: source.tier,
            scores: source.scores.into(),
        }
    }
}

/// A quote of an evidence answer: one whole sentence, or one whole enumerated sub-clause
/// (`(a) …; and`), of a source, and where it stands in its document so that a client can
/// highlight it.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct Quote {
    /// The source quoted: the `n` of its `[n]` and its `index` in `sources`.
    pub source: u32,
    /// Structural path of the quoted passage, e.g. `RF 2 kap. 1 §` or `3.2`; empty when
    /// the document has no structure there.
    pub path: String,
    /// The sentence on one line, as the answer text quotes it: the document's characters
    /// `char_start..char_end` with line breaks and runs of whitespace as single spaces, a
    /// word hyphenated across a line break rejoined, and the borders of boxed text (`*`)
    /// left out.
    pub text: String,
    /// Start in the document's text (as `GET …/documents/{id}?include_content=true`
    /// returns it), in characters (Unicode scalar values), like `Source.char_start`.
    pub char_start: u64,
    /// End (exclusive) in the document's text, in characters.
    pub char_end: u64,
}

impl From<engine::Quote> for Quote {
    fn from(quote: engine::Quote) -> Self {
        Self {
            source: quote.source,
            path: quote.path,
            text: quote.text,
            char_start: quote.char_start,
            char_end: quote.char_end,
        }
    }
}

/// The grade CRAG gave one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct Grading {
    /// Chunk graded.
    pub chunk_id: String,
    /// Whether it was kept.
    pub relevant: bool,
    /// The grader's score in [0, 1].
    pub score: f64,
    /// `cross_encoder`, `llm`, or `timeout` when the grader ran out of time.
    pub grader: String,
}

impl From<engine::Grading> for Grading {
    fn from(grading: engine::Grading) -> Self {
        Self {
            chunk_id: grading.chunk_id,
            relevant: grading.relevant,
            score: grading.score,
            grader: grading.grader,
        }
    }
}

/// Where the question was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct Routing {
    /// Collections searched first.
    pub primary: Vec<String>,
    /// Collections searched for supporting material.
    pub support: Vec<String>,
    /// Routed collections that do not exist here (skipped with a warning).
    pub skipped: Vec<String>,
}

impl From<engine::Routing> for Routing {
    fn from(routing: engine::Routing) -> Self {
        Self {
            primary: routing.primary,
            support: routing.support,
            skipped: routing.skipped,
        }
    }
}

/// How long one stage took.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct StageTiming {
    /// Stage name (`safety`, `classify`, `decontextualize`, `route`, `retrieve`, `tier`,
    /// `rerank`, `crag`, `generate`, `guardrail`, `citations`, `support`, `total`; `cache`
    /// for an answer served from the answer cache).
    pub stage: String,
    /// Wall time in milliseconds.
    pub ms: f64,
}

impl From<engine::StageTiming> for StageTiming {
    fn from(timing: engine::StageTiming) -> Self {
        Self {
            stage: timing.stage,
            ms: timing.ms,
        }
    }
}

/// Tokens used by generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Object)]
pub struct AnswerUsage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Generated tokens.
    pub completion_tokens: u32,
    /// Their sum.
    pub total_tokens: u32,
}

impl From<engine::AnswerUsage> for AnswerUsage {
    fn from(usage: engine::AnswerUsage) -> Self {
        Self {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            total_tokens: usage.total_tokens,
        }
    }
}

/// One valid citation marker in the final answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Object)]
pub struct CitationSpan {
    /// The cited source's 1-based index.
    pub source: u32,
    /// Start of the marker in the answer, in characters.
    pub start: u32,
    /// End of the marker (exclusive), in characters.
    pub end: u32,
}

impl From<crate::guard::citations::CitationSpan> for CitationSpan {
    fn from(span: crate::guard::citations::CitationSpan) -> Self {
        Self {
            source: span.source,
            start: span.start,
            end: span.end,
        }
    }
}

/// One correction rule applied to an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Object)]
pub struct Correction {
    /// The text as written.
    pub from: String,
    /// The corrected text.
    pub to: String,
    /// How many times it was replaced.
    pub count: u32,
}

impl From<crate::guard::constitution::Correction> for Correction {
    fn from(correction: crate::guard::constitution::Correction) -> Self {
        Self {
            from: correction.from,
            to: correction.to,
            count: correction.count,
        }
    }
}

/// A generated sentence its sources do not support, removed from the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct UnsupportedSentence {
    /// The sentence as generated.
    pub text: String,
    /// Why it is unsupported (terms its sources lack, no similar source sentence, negation
    /// or a number that differs).
    pub reason: String,
}

impl From<engine::UnsupportedSentence> for UnsupportedSentence {
    fn from(sentence: engine::UnsupportedSentence) -> Self {
        Self {
            text: sentence.text,
            reason: sentence.reason,
        }
    }
}

/// A finished answer.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct Answer {
    /// The answer text (the refusal template when `saknas_underlag`).
    pub answer: String,
    /// Mode the answer was produced in.
    pub mode: AnswerMode,
    /// True when the sources do not back an answer; then `sources` is empty.
    pub saknas_underlag: bool,
    /// Why the pipeline refused, when it did.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal_reason: Option<String>,
    /// How strongly the sources back the answer.
    pub evidence_level: EvidenceLevel,
    /// The question as retrieved for, after decontextualization.
    pub question: String,
    /// Classified intent.
    pub intent: Intent,
    /// Collections searched.
    pub routing: Routing,
    /// Sources the answer may cite, in `[n]` order.
    pub sources: Vec<Source>,
    /// Every `[n]` in the answer, with its span.
    pub citations: Vec<CitationSpan>,
    /// The quotes of an evidence answer, in the order the answer text gives them, each
    /// with its source and its offsets in the document; empty in other modes and refusals.
    pub quotes: Vec<Quote>,
    /// Invalid citation numbers removed from the generated text.
    pub removed_citations: Vec<u32>,
    /// Term corrections the guardrail applied.
    pub corrections: Vec<Correction>,
    /// CRAG gradings, when CRAG ran.
    pub gradings: Vec<Grading>,
    /// Share of the generated answer's checked sentences that its sources support, in
    /// [0, 1]: each sentence is compared with the sentences of the sources it cites (meaning,
    /// content terms, negation, numbers); sentences with fewer than two content terms are not
    /// checked (0 when no sentence is checkable). Present whenever generated text was checked — also when too little of it was
    /// supported and the answer fell back to quotes (`mode` is then `evidence`); absent for
    /// evidence, chat and refusals, and when `answer.reflection` is off.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_share: Option<f64>,
    /// Sentences of the generated answer that its sources do not support, with why; they are
    /// not in `answer`.
    pub unsupported_sentences: Vec<UnsupportedSentence>,
    /// Optional stages skipped because the deadline ran short (`crag`).
    pub skipped_stages: Vec<String>,
    /// Time per stage.
    pub timings: Vec<StageTiming>,
    /// Generation token counts (zero for a cached answer: nothing was generated).
    pub usage: AnswerUsage,
    /// The corpus version the answer holds at: the last change-log entry this server had
    /// applied when the question arrived. Every server gives the same sources to the same
    /// question at the same version; send it as `X-Min-Corpus-Version` to read at least this.
    pub corpus_version: u64,
    /// True when the answer comes from the answer cache: the same question (up to case and
    /// spacing) with the same mode, collections, history and settings was answered before
    /// and none of the collections it searched has been written since. Its `timings` are
    /// then `cache` and `total`.
    pub cached: bool,
}

impl From<engine::Answer> for Answer {
    fn from(answer: engine::Answer) -> Self {
        Self {
            answer: answer.answer,
            mode: answer.mode.into(),
            saknas_underlag: answer.saknas_underlag,
            refusal_reason: answer.refusal_reason,
            evidence_level: answer.evidence_level.into(),
            question: answer.question,
            intent: answer.intent.into(),
            routing: answer.routing.into(),
            sources: convert_all(answer.sources),
            citations: convert_all(answer.citations),
            quotes: convert_all(answer.quotes),
            removed_citations: answer.removed_citations,
            corrections: convert_all(answer.corrections),
            gradings: convert_all(answer.gradings),
            supported_share: answer.supported_share,
            unsupported_sentences: convert_all(answer.unsupported_sentences),
            skipped_stages: answer.skipped_stages,
            timings: convert_all(answer.timings),
            usage: answer.usage.into(),
            corpus_version: answer.corpus_version,
            cached: answer.cached,
        }
    }
}
