//! The answer pipeline's request, answer and event types (`api::dto` mirrors them on the
//! wire for every route that answers).

use crate::guard::citations::CitationSpan;
use crate::guard::constitution::Correction;

/// The mode a caller asks for; `auto` lets the classifier decide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RequestedMode {
    /// Classify the question: chat, assist or evidence.
    #[default]
    Auto,
    /// Conversation without retrieval.
    Chat,
    /// An LLM answer over the retrieved sources, with numbered citations.
    Assist,
    /// Verbatim quotes of the sources only; never text the sources do not contain.
    Evidence,
}

/// The mode an answer was produced in (the generation backends' sampling modes).
pub type ResolvedMode = crate::llm::AnswerMode;

/// Who wrote a turn of the conversation history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnRole {
    /// The person asking.
    User,
    /// The assistant's earlier answer.
    Assistant,
}

/// One earlier turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// Author of the turn.
    pub role: TurnRole,
    /// Text of the turn.
    pub content: String,
}

/// How strongly the sources back the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EvidenceLevel {
    /// No usable evidence: the answer is a refusal (or a chat reply).
    None,
    /// Some evidence, but weak scores or only secondary sources.
    Low,
    /// Strong calibrated scores on primary (legal text) sources.
    High,
}

/// The kind of question, which decides the collections searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
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

/// Every score a source was given; `relevance` is the calibrated one thresholds use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceScores {
    /// Calibrated relevance in [0, 1]: the basis of thresholds and the evidence level.
    pub relevance: f64,
    /// Cosine similarity of the dense embeddings, when the dense signal found it.
    pub dense: Option<f64>,
    /// BM25 score, when the lexical signal found it.
    pub bm25: Option<f64>,
    /// Weighted reciprocal-rank-fusion score (ordering only, never thresholded).
    pub fused: Option<f64>,
    /// Reranker score, when reranked.
    pub rerank: Option<f64>,
    /// Share of the question's content terms the passage contains, in [0, 1].
    pub lexical: f64,
}

/// A source the answer may cite; `index` is the `n` of `[n]`.
#[derive(Debug, Clone, PartialEq)]
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

/// A quote of an evidence answer: one whole sentence, or one whole enumerated sub-clause
/// (`(a) …; and`), of a source, and where it stands in its document so that a client can
/// highlight it.
#[derive(Debug, Clone, PartialEq)]
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

/// The grade CRAG gave one candidate.
#[derive(Debug, Clone, PartialEq)]
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

/// Where the question was sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Routing {
    /// Collections searched first.
    pub primary: Vec<String>,
    /// Collections searched for supporting material.
    pub support: Vec<String>,
    /// Routed collections that do not exist here (skipped with a warning).
    pub skipped: Vec<String>,
}

/// How long one stage took.
#[derive(Debug, Clone, PartialEq)]
pub struct StageTiming {
    /// Stage name (`safety`, `classify`, `decontextualize`, `route`, `retrieve`, `tier`,
    /// `rerank`, `crag`, `generate`, `guardrail`, `citations`, `support`, `total`; `cache`
    /// for an answer served from the answer cache).
    pub stage: String,
    /// Wall time in milliseconds.
    pub ms: f64,
}

/// Tokens used by generation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnswerUsage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Generated tokens.
    pub completion_tokens: u32,
    /// Their sum.
    pub total_tokens: u32,
}

/// A finished answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The answer text (the refusal template when `saknas_underlag`).
    pub answer: String,
    /// Mode the answer was produced in.
    pub mode: ResolvedMode,
    /// True when the sources do not back an answer; then `sources` is empty.
    pub saknas_underlag: bool,
    /// Why the pipeline refused, when it did.
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

/// A generated sentence its sources do not support, removed from the answer (serialisable
/// for the grounding benchmark's report).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UnsupportedSentence {
    /// The sentence as generated.
    pub text: String,
    /// Why it is unsupported (terms its sources lack, no similar source sentence, negation
    /// or a number that differs).
    pub reason: String,
}

/// What the pipeline reports while it works; the streaming routes send these as SSE, then
/// the whole answer or the failure.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineEvent {
    /// Sources, mode, intent and routing, before any token.
    Metadata(MetadataEvent),
    /// The standalone question a follow-up was rewritten into.
    Decontextualized(DecontextualizedEvent),
    /// CRAG gradings.
    Grading(GradingEvent),
    /// A step of the pipeline's reasoning (stage decisions, rewrites).
    ThoughtChain(ThoughtEvent),
    /// A piece of the answer text.
    Token(TokenEvent),
    /// Term corrections applied to the answer.
    Corrections(CorrectionsEvent),
    /// A validated citation.
    Citation(CitationSpan),
    /// A stage's duration.
    Timing(StageTiming),
    /// The pipeline refuses; the answer is the refusal template.
    Refusal(RefusalEvent),
}

/// Sent first: what the answer will be built from.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataEvent {
    /// Mode the answer is produced in.
    pub mode: ResolvedMode,
    /// Classified intent.
    pub intent: Intent,
    /// Collections searched.
    pub routing: Routing,
    /// Sources the answer may cite.
    pub sources: Vec<Source>,
    /// Evidence level of the sources.
    pub evidence_level: EvidenceLevel,
}

/// A follow-up rewritten into a standalone question.
#[derive(Debug, Clone, PartialEq)]
pub struct DecontextualizedEvent {
    /// The question as asked.
    pub original: String,
    /// The standalone question retrieved for.
    pub question: String,
}

/// CRAG gradings of one retrieval round.
#[derive(Debug, Clone, PartialEq)]
pub struct GradingEvent {
    /// Retrieval round, from 1.
    pub round: u32,
    /// The query of that round.
    pub query: String,
    /// One grade per candidate.
    pub gradings: Vec<Grading>,
}

/// A step of the pipeline's reasoning.
#[derive(Debug, Clone, PartialEq)]
pub struct ThoughtEvent {
    /// Stage that decided.
    pub stage: String,
    /// What it decided.
    pub message: String,
}

/// A piece of answer text.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEvent {
    /// Text to append.
    pub text: String,
}

/// Corrections the guardrail applied.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectionsEvent {
    /// The corrected answer text, which replaces the streamed tokens.
    pub answer: String,
    /// What was changed.
    pub corrections: Vec<Correction>,
}

/// The pipeline refuses.
#[derive(Debug, Clone, PartialEq)]
pub struct RefusalEvent {
    /// The refusal text.
    pub answer: String,
    /// Why.
    pub reason: String,
}
