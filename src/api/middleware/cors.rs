//! Cross-origin access for the origins in `limits.cors_origins` (none by default).

use poem::endpoint::BoxEndpoint;
use poem::error::CorsError;
use poem::http::StatusCode;
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, Response};

use super::request_id;
use crate::api::problem::Problem;

/// `endpoint` answering preflights and adding CORS headers for `origins`; unchanged when
/// `origins` is empty. Other origins get a 403 problem.
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
        .expose_header("retry-after");
    endpoint
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
        .boxed()
}
