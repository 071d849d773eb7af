//! Cross-origin access for the origins in `limits.cors_origins` (none by default).
//!
//! A request whose `Origin` names this server itself (the web page at `/` posting to the API:
//! browsers send `Origin` on every same-origin POST) is not cross-origin and passes untouched.

use std::sync::Arc;

use poem::endpoint::BoxEndpoint;
use poem::error::CorsError;
use poem::http::StatusCode;
use poem::http::header::{HOST, ORIGIN};
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, Request, Response, Result};

use super::{corpus_version, request_id};
use crate::api::problem::Problem;

/// `endpoint` answering preflights and adding CORS headers for `origins`; unchanged when
/// `origins` is empty. Other origins get a 403 problem; the server's own origin passes.
pub fn allow(
    endpoint: BoxEndpoint<'static, Response>,
    origins: &[String],
) -> BoxEndpoint<'static, Response> {
    if origins.is_empty() {
        return endpoint;
    }
    let cors = origins
        .iter()
        .fold(Cors::new(), |cors, origin| {
            cors.allow_origin(origin.as_str())
        })
        .expose_header(request_id::HEADER)
        .expose_header(corpus_version::VERSION_HEADER)
        .expose_header("retry-after");
    let plain = Arc::new(endpoint);
    let checked = plain
        .clone()
        .with(cors)
        .around(|endpoint, request| async move {
            match endpoint.call(request).await {
                Err(err) if err.is::<CorsError>() => {
                    Ok(
                        Problem::new(StatusCode::FORBIDDEN, "cors_denied", err.to_string())
                            .into_http_response(),
                    )
                }
                other => other,
            }
        })
        .boxed();
    SameOriginOrCors { plain, checked }.boxed()
}

/// Sends same-origin requests to `plain` and the rest through the CORS layer.
struct SameOriginOrCors {
    plain: Arc<BoxEndpoint<'static, Response>>,
    checked: BoxEndpoint<'static, Response>,
}

impl Endpoint for SameOriginOrCors {
    type Output = Response;

    async fn call(&self, request: Request) -> Result<Response> {
        if is_same_origin(&request) {
            self.plain.call(request).await
        } else {
            self.checked.call(request).await
        }
    }
}

/// Whether the request's `Origin` (`scheme://host[:port]`) names the host it was sent to.
fn is_same_origin(request: &Request) -> bool {
    let header = |name| request.headers().get(name).and_then(|v| v.to_str().ok());
    let (Some(origin), Some(host)) = (header(ORIGIN), header(HOST)) else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}
