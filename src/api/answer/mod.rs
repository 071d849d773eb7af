//! Native answer routes: `POST /v1/answer` (one JSON answer) and `POST /v1/answer/stream`
//! (server-sent events named `metadata`, `decontextualized`, `grading`, `thought_chain`,
//! `token`, `corrections`, `citation`, `timing`, `refusal`, then `done` or `error`).

mod dto;
mod reply;
mod stream;

pub use dto::AnswerBody;
pub use reply::EventStream;
pub use stream::answer_events;

use std::sync::Arc;

use futures::StreamExt;
use poem::web::sse::Event;
use poem_openapi::{ApiResponse, OpenApi};

use super::ApiTags;
use super::json_body::JsonBody;
use super::problem::ApiError;
use super::strict_json::StrictJson;
use crate::api::dto::answer::Answer;
use crate::api::dto::events::PipelineEvent;
use crate::pipeline::{Events, Pipeline, server_timing};

/// Answer routes.
pub struct AnswerApi {
    /// The pipeline behind the routes.
    pub pipeline: Arc<Pipeline>,
}

/// A whole answer.
#[derive(ApiResponse)]
pub enum AnswerReply {
    /// The answer (a refusal is an answer with `saknas_underlag: true`).
    #[oai(status = 200)]
    Ok(
        JsonBody<Answer>,
        /// Stage durations, e.g. `retrieve;dur=3.1, rerank;dur=40.2, total;dur=52.0`.
        #[oai(header = "Server-Timing")]
        String,
    ),
}

#[OpenApi]
impl AnswerApi {
    /// Answer a question from the collections, grounded in cited sources; refuses with
    /// `saknas_underlag: true` when the sources do not back an answer.
    #[oai(path = "/v1/answer", method = "post", tag = "ApiTags::Answer")]
    async fn answer(&self, body: StrictJson<AnswerBody>) -> Result<AnswerReply, ApiError> {
        let request = body.0.into_request()?;
        let answer = self.pipeline.answer(request, &Events::none()).await?;
        let timing = server_timing(&answer.timings);
        Ok(AnswerReply::Ok(JsonBody(answer.into()), timing))
    }

    /// The same answer as server-sent events: `metadata` with the sources first, then
    /// tokens, corrections, citations and timings, ending with `done` (the whole answer) or
    /// `error`. Bad input is a 4xx before the stream starts.
    #[oai(path = "/v1/answer/stream", method = "post", tag = "ApiTags::Answer")]
    async fn answer_stream(
        &self,
        body: StrictJson<AnswerBody>,
    ) -> Result<EventStream<PipelineEvent>, ApiError> {
        let request = body.0.into_request()?;
        self.pipeline.check(&request)?;
        let events = answer_events(self.pipeline.clone(), request)
            .enumerate()
            .map(|(id, event)| native_event(id, &event))
            .boxed();
        Ok(EventStream::new(events))
    }
}

/// `event: <name>`, `id: <n>`, `data: <the event as JSON>`.
fn native_event(id: usize, event: &PipelineEvent) -> Event {
    let data = sonic_rs::to_string(event).unwrap_or_else(|_| "{}".into());
    Event::message(data)
        .event_type(event.name())
        .id((id + 1).to_string())
}
