//! Replies of the answer routes: one JSON answer with a `Server-Timing` header, or a
//! `text/event-stream` (documented as its event schema) — the stream's shape is hand-written
//! because poem-openapi has no SSE payload of its own.

use std::time::Duration;

use futures::stream::BoxStream;
use poem::web::sse::{Event, SSE};
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;

/// Comment lines sent while the pipeline is silent, so proxies keep the stream open.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// A `text/event-stream` whose events follow the schema `S`.
pub struct EventStream<S> {
    events: BoxStream<'static, Event>,
    schema: std::marker::PhantomData<S>,
}

impl<S> EventStream<S> {
    /// A reply streaming `events`, with a heartbeat comment every 15 s.
    pub fn new(events: BoxStream<'static, Event>) -> Self {
        Self {
            events,
            schema: std::marker::PhantomData,
        }
    }
}

impl<S: Send> IntoResponse for EventStream<S> {
    fn into_response(self) -> Response {
        SSE::new(self.events).keep_alive(HEARTBEAT).into_response()
    }
}

impl<S: Type + Send> ApiResponse for EventStream<S> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "A `text/event-stream`; each event's data is one JSON object of \
                              this schema, its `event`/`type` field naming it. Comment lines \
                              (`: …`) every 15 s keep idle streams open.",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "text/event-stream",
                    schema: S::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        S::register(registry);
    }
}
