//! The old system's answer routes, `POST /api/constitutional/agent/query` and
//! `/agent/query/stream`, with its field names and its `data: {"type": …}` event format,
//! answered by the same pipeline as `/v1/answer`.

use std::sync::Arc;

use futures::StreamExt;
use poem::web::sse::Event;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::ApiTags;
use super::answer::{EventStream, answer_events};
use super::problem::ApiError;
use super::strict_json::StrictJson;
use crate::api::dto::answer::{
    AnswerMode, CitationSpan, Correction, EvidenceLevel, Intent, RequestedMode, Routing,
    StageTiming, Turn,
};
use crate::api::dto::convert_all;
use crate::api::dto::events::PipelineEvent;
use crate::pipeline::types::Answer;
use crate::pipeline::{AnswerRequest, Events, Pipeline, server_timing};

/// A question in the old system's shape.
#[derive(Debug, Clone, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyQuery {
    /// The question.
    pub question: String,
    /// `auto` (default), `chat`, `assist` or `evidence`.
    #[oai(default)]
    #[serde(default)]
    pub mode: RequestedMode,
    /// Earlier turns, oldest first.
    #[oai(default)]
    #[serde(default)]
    pub history: Vec<Turn>,
}

/// A source in the old system's shape.
#[derive(Debug, Clone, Object)]
pub struct LegacySource {
    /// Chunk identifier.
    pub id: String,
    /// Document title.
    pub title: String,
    /// The chunk's text.
    pub snippet: String,
    /// Calibrated relevance in [0, 1].
    pub score: f64,
    /// Collection (the old system's document type).
    pub doc_type: String,
    /// Collection the source came from.
    pub source: String,
    /// Structural path, e.g. `2 kap. 1 §`.
    pub path: String,
    /// Document identifier.
    pub document_id: String,
    /// The `n` of `[n]`.
    pub index: u32,
}

/// An answer in the old system's shape (fields it declared but never filled are filled).
#[derive(Debug, Clone, Object)]
pub struct LegacyAnswer {
    /// The answer text.
    pub answer: String,
    /// Sources the answer cites.
    pub sources: Vec<LegacySource>,
    /// `chat`, `assist` or `evidence`.
    pub mode: AnswerMode,
    /// True when the sources do not back an answer.
    pub saknas_underlag: bool,
    /// `high`, `low` or `none`.
    pub evidence_level: EvidenceLevel,
    /// Every `[n]` in the answer.
    pub citations: Vec<CitationSpan>,
    /// Classified intent.
    pub intent: Intent,
    /// Collections searched.
    pub routing: Routing,
    /// Guardrail corrections.
    pub corrections: Vec<Correction>,
    /// Time per stage.
    pub timings: Vec<StageTiming>,
    /// Total time in milliseconds.
    pub processing_time_ms: f64,
}

impl From<Answer> for LegacyAnswer {
    fn from(answer: Answer) -> Self {
        let processing_time_ms = answer
            .timings
            .iter()
            .find(|t| t.stage == "total")
            .map_or(0.0, |t| t.ms);
        Self {
            sources: answer
                .sources
                .into_iter()
                .map(|s| LegacySource {
                    id: s.chunk_id,
                    title: s.title,
                    snippet: s.snippet,
                    score: s.scores.relevance,
                    doc_type: s.collection.clone(),
                    source: s.collection,
                    path: s.path,
                    document_id: s.document_id,
                    index: s.index,
                })
                .collect(),
            answer: answer.answer,
            mode: answer.mode.into(),
            saknas_underlag: answer.saknas_underlag,
            evidence_level: answer.evidence_level.into(),
            citations: convert_all(answer.citations),
            intent: answer.intent.into(),
            routing: answer.routing.into(),
            corrections: convert_all(answer.corrections),
            timings: convert_all(answer.timings),
            processing_time_ms,
        }
    }
}

/// A whole answer in the old shape.
#[derive(ApiResponse)]
pub enum LegacyReply {
    /// The answer.
    #[oai(status = 200)]
    Ok(
        Json<LegacyAnswer>,
        /// Stage durations.
        #[oai(header = "Server-Timing")]
        String,
    ),
}

/// The old system's agent routes.
pub struct LegacyAgentApi {
    /// The pipeline behind the routes.
    pub pipeline: Arc<Pipeline>,
}

impl LegacyQuery {
    fn into_request(self) -> AnswerRequest {
        AnswerRequest {
            question: self.question,
            mode: self.mode.into(),
            history: convert_all(self.history),
            ..AnswerRequest::default()
        }
    }
}

#[OpenApi]
impl LegacyAgentApi {
    /// Answer a question (old API; the same pipeline as `POST /v1/answer`).
    #[oai(
        path = "/api/constitutional/agent/query",
        method = "post",
        tag = "ApiTags::Legacy"
    )]
    async fn query(&self, body: StrictJson<LegacyQuery>) -> Result<LegacyReply, ApiError> {
        let answer = self
            .pipeline
            .answer(body.0.into_request(), &Events::none())
            .await?;
        let timing = server_timing(&answer.timings);
        Ok(LegacyReply::Ok(Json(answer.into()), timing))
    }

    /// Answer as a stream of `data: {"type": …}` events (old API): `metadata`,
    /// `decontextualized`, `grading`, `thought_chain`, `token` (with `content`), `corrections`,
    /// `citation`, `timing`, `refusal`, then `done` or `error`.
    #[oai(
        path = "/api/constitutional/agent/query/stream",
        method = "post",
        tag = "ApiTags::Legacy"
    )]
    async fn query_stream(
        &self,
        body: StrictJson<LegacyQuery>,
    ) -> Result<EventStream<PipelineEvent>, ApiError> {
        let request = body.0.into_request();
        self.pipeline.check(&request)?;
        let events = answer_events(self.pipeline.clone(), request)
            .map(|event| legacy_event(&event))
            .boxed();
        Ok(EventStream::new(events))
    }
}

/// `data: {"type": <name>, …}`: the native event with `event` renamed `type`, tokens also
/// carrying their text as `content`.
fn legacy_event(event: &PipelineEvent) -> Event {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("event");
        object.insert("type".into(), event.name().into());
        if let PipelineEvent::Token(token) = event {
            object.insert("content".into(), token.text.clone().into());
        }
    }
    Event::message(value.to_string())
}
