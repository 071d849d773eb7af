//! Request body limits, enforced before any handler reads the body: size, and the time a
//! client may take to send it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use poem::http::StatusCode;
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use tokio::io::{AsyncRead, ReadBuf};

use super::problem::Problem;
use crate::config::Config;

/// Byte limits for ordinary bodies and for streamed bodies (bulk NDJSON, multipart uploads),
/// and the time an ordinary body may take to arrive.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    regular: usize,
    bulk: usize,
    timeout: Duration,
}

impl BodyLimits {
    /// Limits from `[server]` settings.
    pub fn from_config(config: &Config) -> Self {
        Self {
            regular: config.server.max_body_bytes,
            bulk: config.server.max_bulk_bytes,
            timeout: Duration::from_millis(config.server.body_timeout_ms),
        }
    }

    /// Rejects bodies over the limit with 413; ordinary bodies are read here (bounded in size
    /// and time: 408 when the client sends too slowly), streamed bodies are left to stream:
    /// their declared length is checked, bulk bodies are bounded by their handler and uploads
    /// here, as they stream.
    pub async fn apply<E: Endpoint>(
        self,
        endpoint: std::sync::Arc<E>,
        mut request: Request,
    ) -> poem::Result<Response> {
        let path = request.uri().path();
        let is_bulk = path.ends_with("/documents/bulk");
        let is_upload = path.ends_with("/documents/upload");
        let limit = if is_bulk || is_upload {
            self.bulk
        } else {
            self.regular
        };
        let declared = request
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Ok(too_large(limit));
        }
        if is_upload {
            let exceeded = Arc::new(AtomicBool::new(false));
            let body = Bounded {
                inner: request.take_body().into_async_read(),
                remaining: limit as u64,
                exceeded: exceeded.clone(),
            };
            request.set_body(Body::from_async_read(body));
            let response = endpoint.call(request).await;
            if exceeded.load(Ordering::Relaxed) {
                return Ok(too_large(limit));
            }
            return response.map(IntoResponse::into_response);
        }
        if !is_bulk {
            let body = request.take_body();
            match tokio::time::timeout(self.timeout, body.into_bytes_limit(limit)).await {
                Err(_) => return Ok(too_slow(self.timeout)),
                Ok(Ok(bytes)) => request.set_body(Body::from_bytes(bytes)),
                Ok(Err(poem::error::ReadBodyError::PayloadTooLarge)) => {
                    return Ok(too_large(limit));
                }
                Ok(Err(err)) => {
                    return Ok(Problem::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_body",
                        err.to_string(),
                    )
                    .into_http_response());
                }
            }
        }
        endpoint
            .call(request)
            .await
            .map(IntoResponse::into_response)
    }
}

/// A body that fails once more than `remaining` bytes arrive, and says so in `exceeded`
/// (for bodies without a declared length, or longer than declared).
struct Bounded<R> {
    inner: R,
    remaining: u64,
    exceeded: Arc<AtomicBool>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Bounded<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let read = (buf.filled().len() - before) as u64;
        if read > self.remaining {
            self.exceeded.store(true, Ordering::Relaxed);
            return Poll::Ready(Err(io::Error::other("the request body exceeds its limit")));
        }
        self.remaining -= read;
        Poll::Ready(Ok(()))
    }
}

fn too_large(limit: usize) -> Response {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("request body exceeds the limit of {limit} bytes"),
    )
    .into_http_response()
}

fn too_slow(timeout: Duration) -> Response {
    let mut response = Problem::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        format!(
            "the request body did not arrive within {} ms",
            timeout.as_millis()
        ),
    )
    .into_http_response();
    // The rest of the body may never come: the connection is not reused.
    response.headers_mut().insert(
        poem::http::header::CONNECTION,
        poem::http::HeaderValue::from_static("close"),
    );
    response
}
