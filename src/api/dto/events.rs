//! The answer pipeline's events as the streaming routes send them, one JSON object each.

use poem_openapi::{Object, Union};
use serde::Serialize;

use super::answer::{
    Answer, AnswerMode, CitationSpan, Correction, EvidenceLevel, Grading, Intent, Routing, Source,
    StageTiming,
};
use super::convert_all;
use crate::pipeline::types as engine;

/// What the pipeline reports while it works; the streaming routes turn these into SSE.
#[derive(Debug, Clone, PartialEq, Serialize, Union)]
#[serde(tag = "event", rename_all = "snake_case")]
#[oai(discriminator_name = "event", one_of)]
// `done` carries the whole answer; poem-openapi unions cannot hold a `Box`, and each stream
// sends it once.
#[allow(clippy::large_enum_variant)]
pub enum PipelineEvent {
    /// Sources, mode, intent and routing, before any token.
    #[oai(mapping = "metadata")]
    Metadata(MetadataEvent),
    /// The standalone question a follow-up was rewritten into.
    #[oai(mapping = "decontextualized")]
    Decontextualized(DecontextualizedEvent),
    /// CRAG gradings.
    #[oai(mapping = "grading")]
    Grading(GradingEvent),
    /// A step of the pipeline's reasoning (stage decisions, rewrites).
    #[oai(mapping = "thought_chain")]
    ThoughtChain(ThoughtEvent),
    /// A piece of the answer text.
    #[oai(mapping = "token")]
    Token(TokenEvent),
    /// Term corrections applied to the answer.
    #[oai(mapping = "corrections")]
    Corrections(CorrectionsEvent),
    /// A validated citation.
    #[oai(mapping = "citation")]
    Citation(CitationSpan),
    /// A stage's duration.
    #[oai(mapping = "timing")]
    Timing(StageTiming),
    /// The pipeline refuses; the answer is the refusal template.
    #[oai(mapping = "refusal")]
    Refusal(RefusalEvent),
    /// Last event of a stream that succeeded: the whole answer, as `POST /v1/answer` returns
    /// it (sent by the streaming routes).
    #[oai(mapping = "done")]
    Done(Answer),
    /// Last event of a stream that failed after it started (sent by the streaming routes).
    #[oai(mapping = "error")]
    Error(ErrorEvent),
}

impl From<engine::PipelineEvent> for PipelineEvent {
    fn from(event: engine::PipelineEvent) -> Self {
        use engine::PipelineEvent as Engine;
        match event {
            Engine::Metadata(metadata) => Self::Metadata(metadata.into()),
            Engine::Decontextualized(rewrite) => Self::Decontextualized(rewrite.into()),
            Engine::Grading(grading) => Self::Grading(grading.into()),
            Engine::ThoughtChain(thought) => Self::ThoughtChain(thought.into()),
            Engine::Token(token) => Self::Token(token.into()),
            Engine::Corrections(corrections) => Self::Corrections(corrections.into()),
            Engine::Citation(citation) => Self::Citation(citation.into()),
            Engine::Timing(timing) => Self::Timing(timing.into()),
            Engine::Refusal(refusal) => Self::Refusal(refusal.into()),
        }
    }
}

impl PipelineEvent {
    /// The event's name, as in `event:` lines and the `event` field.
    pub fn name(&self) -> &'static str {
        match self {
            PipelineEvent::Metadata(_) => "metadata",
            PipelineEvent::Decontextualized(_) => "decontextualized",
            PipelineEvent::Grading(_) => "grading",
            PipelineEvent::ThoughtChain(_) => "thought_chain",
            PipelineEvent::Token(_) => "token",
            PipelineEvent::Corrections(_) => "corrections",
            PipelineEvent::Citation(_) => "citation",
            PipelineEvent::Timing(_) => "timing",
            PipelineEvent::Refusal(_) => "refusal",
            PipelineEvent::Done(_) => "done",
            PipelineEvent::Error(_) => "error",
        }
    }
}

/// A failure after the stream started.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct ErrorEvent {
    /// Stable code, as in problem responses.
    pub code: String,
    /// What went wrong.
    pub detail: String,
    /// The HTTP status the failure would have had.
    pub status: u16,
}

/// Sent first: what the answer will be built from.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct MetadataEvent {
    /// Mode the answer is produced in.
    pub mode: AnswerMode,
    /// Classified intent.
    pub intent: Intent,
    /// Collections searched.
    pub routing: Routing,
    /// Sources the answer may cite.
    pub sources: Vec<Source>,
    /// Evidence level of the sources.
    pub evidence_level: EvidenceLevel,
}

impl From<engine::MetadataEvent> for MetadataEvent {
    fn from(metadata: engine::MetadataEvent) -> Self {
        Self {
            mode: metadata.mode.into(),
            intent: metadata.intent.into(),
            routing: metadata.routing.into(),
            sources: convert_all(metadata.sources),
            evidence_level: metadata.evidence_level.into(),
        }
    }
}

/// A follow-up rewritten into a standalone question.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct DecontextualizedEvent {
    /// The question as asked.
    pub original: String,
    /// The standalone question retrieved for.
    pub question: String,
}

impl From<engine::DecontextualizedEvent> for DecontextualizedEvent {
    fn from(rewrite: engine::DecontextualizedEvent) -> Self {
        Self {
            original: rewrite.original,
            question: rewrite.question,
        }
    }
}

/// CRAG gradings of one retrieval round.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct GradingEvent {
    /// Retrieval round, from 1.
    pub round: u32,
    /// The query of that round.
    pub query: String,
    /// One grade per candidate.
    pub gradings: Vec<Grading>,
}

impl From<engine::GradingEvent> for GradingEvent {
    fn from(round: engine::GradingEvent) -> Self {
        Self {
            round: round.round,
            query: round.query,
            gradings: convert_all(round.gradings),
        }
    }
}

/// A step of the pipeline's reasoning.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct ThoughtEvent {
    /// Stage that decided.
    pub stage: String,
    /// What it decided.
    pub message: String,
}

impl From<engine::ThoughtEvent> for ThoughtEvent {
    fn from(thought: engine::ThoughtEvent) -> Self {
        Self {
            stage: thought.stage,
            message: thought.message,
        }
    }
}

/// A piece of answer text.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct TokenEvent {
    /// Text to append.
    pub text: String,
}

impl From<engine::TokenEvent> for TokenEvent {
    fn from(token: engine::TokenEvent) -> Self {
        Self { text: token.text }
    }
}

/// Corrections the guardrail applied.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct CorrectionsEvent {
    /// The corrected answer text, which replaces the streamed tokens.
    pub answer: String,
    /// What was changed.
    pub corrections: Vec<Correction>,
}

impl From<engine::CorrectionsEvent> for CorrectionsEvent {
    fn from(corrected: engine::CorrectionsEvent) -> Self {
        Self {
            answer: corrected.answer,
            corrections: convert_all(corrected.corrections),
        }
    }
}

/// The pipeline refuses.
#[derive(Debug, Clone, PartialEq, Serialize, Object)]
pub struct RefusalEvent {
    /// The refusal text.
    pub answer: String,
    /// Why.
    pub reason: String,
}

impl From<engine::RefusalEvent> for RefusalEvent {
    fn from(refusal: engine::RefusalEvent) -> Self {
        Self {
            answer: refusal.answer,
            reason: refusal.reason,
        }
    }
}
