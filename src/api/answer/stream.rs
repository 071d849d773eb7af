//! Running the pipeline behind a stream: its events as they come, then `done` with the whole
//! answer or `error`. Dropping the stream (the client went away) aborts the pipeline and with
//! it any generation.

use std::sync::Arc;

use futures::Stream;
use futures::stream;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::api::dto::events::{ErrorEvent, PipelineEvent};
use crate::api::problem::ApiError;
use crate::pipeline::{AnswerRequest, EventReceiver, Events, Pipeline};

/// Aborts the pipeline task when the stream holding it is dropped.
struct AbortOnDrop(JoinHandle<Result<crate::pipeline::types::Answer, crate::error::AppError>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The pipeline's events for `request` as the wire sends them, ending with `done` or `error`.
pub fn answer_events(
    pipeline: Arc<Pipeline>,
    request: AnswerRequest,
) -> impl Stream<Item = PipelineEvent> + Send + 'static {
    let (events, receiver) = Events::channel();
    // The task keeps the request's span, so its log lines carry the request id.
    let task =
        tokio::spawn(async move { pipeline.answer(request, &events).await }.in_current_span());
    let state: Option<(EventReceiver, AbortOnDrop)> = Some((receiver, AbortOnDrop(task)));
    stream::unfold(state, |state| async move {
        let (mut receiver, mut task) = state?;
        if let Some(event) = receiver.recv().await {
            return Some((event.into(), Some((receiver, task))));
        }
        let last = match (&mut task.0).await {
            Ok(Ok(answer)) => PipelineEvent::Done(answer.into()),
            Ok(Err(err)) => PipelineEvent::Error(error_event(err)),
            Err(join) => PipelineEvent::Error(error_event(crate::error::AppError::Internal(
                format!("answer task: {join}"),
            ))),
        };
        Some((last, None))
    })
}

fn error_event(err: crate::error::AppError) -> ErrorEvent {
    let problem = ApiError::from(err).into_problem();
    ErrorEvent {
        code: problem.code,
        detail: problem.detail,
        status: problem.status,
    }
}
