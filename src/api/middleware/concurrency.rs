//! A global bound on requests served at once; beyond it requests get 503 with `Retry-After`.

use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response};
use tokio::sync::Semaphore;

use super::{is_exempt, refusal};

/// How long a refused client is asked to wait.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Permits for the requests being served.
pub struct ConcurrencyLimit {
    permits: Semaphore,
    max: usize,
}

impl ConcurrencyLimit {
    /// A bound of `max` requests at once.
    pub fn new(max: usize) -> Self {
        Self {
            permits: Semaphore::new(max),
            max,
        }
    }

    /// Serves `request` while holding a permit (until its response head is ready), or answers
    /// 503 when none is free.
    pub async fn apply<E: Endpoint>(
        self: Arc<Self>,
        endpoint: Arc<E>,
        request: Request,
    ) -> poem::Result<Response> {
        let _permit = if is_exempt(request.uri().path()) {
            None
        } else {
            match self.permits.try_acquire() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    return Ok(refusal(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "overloaded",
                        format!(
                            "the server is serving its limit of {} requests; retry later",
                            self.max
                        ),
                        RETRY_AFTER,
                    ));
                }
            }
        };
        endpoint
            .call(request)
            .await
            .map(IntoResponse::into_response)
    }
}
