//! Corpus versions on the wire: every response says the version this server has applied
//! (`X-Corpus-Version`; for a write, one that includes it), and a request that sends
//! `X-Min-Corpus-Version` is served only once this server has applied that version — it
//! waits up to `storage.version_wait_ms`, then gets 503 with `Retry-After`. A client that
//! wrote through one server reads its write on any other this way.

use std::sync::Arc;
use std::time::Duration;

use poem::http::{HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

use super::refusal;
use crate::api::problem::Problem;
use crate::service::Library;

/// The response header with the version this server has applied.
pub const VERSION_HEADER: &str = "x-corpus-version";
/// The request header naming the least version a request must be served at.
pub const MIN_VERSION_HEADER: &str = "x-min-corpus-version";
/// How long a client refused for lagging is asked to wait.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The layer; one per server.
pub struct CorpusVersion {
    library: Library,
    wait: Duration,
}

impl CorpusVersion {
    /// Versions of `library`, waiting at most `storage.version_wait_ms` for one asked for.
    pub fn new(library: &Library) -> Self {
        Self {
            library: library.clone(),
            wait: Duration::from_millis(library.config().storage.version_wait_ms),
        }
    }

    /// Serves `request` once the version it asks for is applied, and stamps the response.
    pub async fn apply<E: Endpoint>(
        self: Arc<Self>,
        endpoint: Arc<E>,
        request: Request,
    ) -> poem::Result<Response> {
        if let Some(asked) = request.headers().get(MIN_VERSION_HEADER) {
            let Some(asked) = asked
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
            else {
                return Ok(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_corpus_version",
                    format!("{MIN_VERSION_HEADER} must be a corpus version (a whole number ≥ 0)"),
                )
                .into_http_response());
            };
            if !self.library.wait_for_version(asked, self.wait).await {
                return Ok(self.stamped(refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "corpus_version_not_reached",
                    format!(
                        "this server has applied corpus version {} and not yet {asked}; \
                         retry, here or on another server",
                        self.library.corpus_version()
                    ),
                    RETRY_AFTER,
                )));
            }
        }
        let response = endpoint.call(request).await?.into_response();
        Ok(self.stamped(response))
    }

    fn stamped(&self, mut response: Response) -> Response {
        response.headers_mut().insert(
            VERSION_HEADER,
            HeaderValue::from(self.library.corpus_version()),
        );
        response
    }
}
