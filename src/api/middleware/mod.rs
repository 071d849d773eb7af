//! Layers around every route: request ids, tracing and HTTP metrics (outermost), response
//! compression, CORS, the in-flight bound (every request counts, refused ones too), API keys,
//! the per-client rate limit (so that it knows the caller's key) and corpus versions
//! (innermost: only admitted requests wait for a version).

pub(crate) mod access;
pub mod auth;
mod compression;
mod concurrency;
pub mod corpus_version;
mod cors;
mod observe;
mod rate_limit;
pub mod request_id;
mod route_label;

use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::http::header::RETRY_AFTER;
use poem::{Endpoint, EndpointExt, Response};

use super::problem::Problem;
use crate::auth::KeyRing;
use crate::service::Library;

/// Routes that the rate limit and the in-flight bound never refuse, so that probes and
/// scrapes keep answering under load.
const EXEMPT: [&str; 3] = ["/health/live", "/health/ready", "/metrics"];

/// `app` with every layer, configured from `library`'s `[limits]`, keys checked against
/// `keys`; errors from any layer become problem responses. `spec` (the OpenAPI document as
/// JSON) names each route's role and its label in metrics. Call it once per library: it
/// registers the HTTP metric families.
pub fn wrap<E>(app: E, library: &Library, keys: Arc<KeyRing>, spec: &str) -> impl Endpoint + use<E>
where
    E: Endpoint<Output = Response> + 'static,
{
    let limits = &library.config().limits;
    let versions = Arc::new(corpus_version::CorpusVersion::new(library));
    let mut endpoint = app
        .around(move |endpoint, request| versions.clone().apply(endpoint, request))
        .boxed();
    if let Some(rate) = rate_limit::RateLimiter::from_config(limits).map(Arc::new) {
        endpoint = endpoint
            .around(move |endpoint, request| rate.clone().apply(endpoint, request))
            .boxed();
    }
    let auth = Arc::new(auth::Authenticate::new(keys, spec));
    let in_flight = Arc::new(concurrency::ConcurrencyLimit::new(limits.max_in_flight));
    let endpoint = endpoint
        .around(move |endpoint, request| auth.clone().apply(endpoint, request))
        .around(move |endpoint, request| in_flight.clone().apply(endpoint, request))
        .boxed();
    let endpoint = cors::allow(endpoint, &limits.cors_origins);
    let compress = Arc::new(compression::Compress::new(
        library.config().server.compress_min_bytes,
    ));
    let endpoint = endpoint
        .around(move |endpoint, request| compress.clone().apply(endpoint, request))
        .boxed();
    let observe = Arc::new(observe::Observe::register(library.metrics(), spec));
    endpoint.around(move |endpoint, request| observe.clone().apply(endpoint, request))
}

fn is_exempt(path: &str) -> bool {
    EXEMPT.contains(&path)
}

/// A refusal with `Retry-After` (whole seconds, at least 1).
fn refusal(status: StatusCode, code: &str, detail: String, retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut response = Problem::new(status, code, detail).into_http_response();
    response.headers_mut().insert(RETRY_AFTER, seconds.into());
    response
}
