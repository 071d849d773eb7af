//! One upstream endpoint: its pooled client, its time limits and the retried request that
//! opens a streamed response.

use std::error::Error as _;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Client, Response, StatusCode, Url};
use tokio::time::Instant;

use super::upstream_message;
use crate::config::GenerationConfig;
use crate::llm::GenerationError;

/// Ceiling of the first pause between two attempts; it doubles with every retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Highest ceiling of a pause between two attempts (a `Retry-After` may ask for longer).
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Most bytes of an error body kept for its message.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// Time limits and retries of every generation sent to one upstream.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Opening a TCP (and TLS) connection.
    pub(super) connect: Duration,
    /// From the start of the request, retries included, to the first token.
    pub(super) first_token: Duration,
    /// From one token to the next.
    pub(super) between_tokens: Duration,
    /// The whole generation.
    pub(super) total: Duration,
    /// Attempts after the first one, made only before any token arrived.
    pub(super) retries: u32,
}

/// A pooled HTTP client bound to one endpoint of an upstream generation server.
#[derive(Debug)]
pub(crate) struct Upstream {
    client: Client,
    base: String,
    endpoint: Url,
    pub(super) limits: Limits,
}

impl Upstream {
    /// A client for `{config.url}/{path}` with the pool, timeout and retry settings of
    /// `config`; a bad URL, a zero time limit or a bad API key is [`GenerationError::Invalid`].
    pub(crate) fn new(config: &GenerationConfig, path: &str) -> Result<Self, GenerationError> {
        let invalid = |key: &str, why: String| GenerationError::Invalid(format!("{key}: {why}"));
        let endpoint = format!("{}/{path}", config.url.trim_end_matches('/'));
        let endpoint = Url::parse(&endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| {
                invalid(
                    "generation.url",
                    format!("'{}' is not an http(s) URL", config.url),
                )
            })?;
        let millis = |key: &str, value: u64| {
            if value == 0 {
                Err(invalid(key, "must be positive".into()))
            } else {
                Ok(Duration::from_millis(value))
            }
        };
        let limits = Limits {
            connect: millis("generation.connect_timeout_ms", config.connect_timeout_ms)?,
            first_token: millis(
                "generation.first_token_timeout_ms",
                config.first_token_timeout_ms,
            )?,
            between_tokens: millis(
                "generation.between_tokens_timeout_ms",
                config.between_tokens_timeout_ms,
            )?,
            total: millis("generation.total_timeout_ms", config.total_timeout_ms)?,
            retries: config.retries,
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if !config.api_key.is_empty() {
            let mut bearer = HeaderValue::try_from(format!("Bearer {}", config.api_key))
                .map_err(|_| invalid("generation.api_key", "not a valid header value".into()))?;
            bearer.set_sensitive(true);
            headers.insert(AUTHORIZATION, bearer);
        }
        let client = Client::builder()
            .default_headers(headers)
            .connect_timeout(limits.connect)
            .pool_max_idle_per_host(config.max_connections)
            .pool_idle_timeout(Duration::from_secs(config.keep_alive_s))
            .tcp_keepalive(Duration::from_secs(config.keep_alive_s.max(1)))
            .tcp_nodelay(true)
            .build()
            .map_err(|err| {
                GenerationError::Internal(format!("cannot build the HTTP client: {err}"))
            })?;
        Ok(Self {
            client,
            base: config.url.trim_end_matches('/').to_string(),
            endpoint,
            limits,
        })
    }

    /// Whether the upstream answers a GET of `{url}/{path}` (any status below 500) within
    /// the connect timeout plus a second, for readiness probes.
    pub(crate) async fn probe(&self, path: &str) -> Result<(), String> {
        let url = format!("{}/{path}", self.base);
        let answered = self
            .client
            .get(&url)
            .timeout(self.limits.connect + Duration::from_secs(1))
            .send()
            .await
            .map_err(|err| format!("{url} unreachable: {err}"))?;
        if answered.status().is_server_error() {
            return Err(format!("{url} answered {}", answered.status()));
        }
        Ok(())
    }

    /// Sends `body` until the upstream accepts it: connection failures, 5xx and 429 answers
    /// are retried up to `limits.retries` times, after a [`pause`] that honours the
    /// upstream's `Retry-After`; any other answer is final. A retry whose pause would end at
    /// or after `deadline` is not made: the last failure is returned at once. The caller
    /// bounds the whole by the same deadline.
    pub(super) async fn send(
        &self,
        body: &Bytes,
        deadline: Instant,
    ) -> Result<Response, GenerationError> {
        let mut attempt = 0;
        loop {
            let sent = self
                .client
                .post(self.endpoint.clone())
                .body(body.clone())
                .send()
                .await;
            let failure = match sent {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => self.refusal(response).await,
                Err(err) => self.transport_failure(&err),
            };
            if !failure.retryable || attempt >= self.limits.retries {
                return Err(failure.error);
            }
            let wait = pause(attempt, failure.retry_after);
            if Instant::now() + wait >= deadline {
                tracing::warn!(
                    endpoint = %self.endpoint,
                    wait_ms = wait.as_millis() as u64,
                    error = %failure.error,
                    "not retrying the generation request: the pause would outlast its deadline"
                );
                return Err(failure.error);
            }
            attempt += 1;
            tracing::warn!(
                endpoint = %self.endpoint,
                attempt,
                retries = self.limits.retries,
                wait_ms = wait.as_millis() as u64,
                error = %failure.error,
                "retrying the generation request"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// An upstream answer with an error status; 5xx and 429 may be retried.
    async fn refusal(&self, mut response: Response) -> Failure {
        let status = response.status();
        let retry_after = match status {
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                retry_after(response.headers(), Utc::now())
            }
            _ => None,
        };
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() >= MAX_ERROR_BODY {
                break;
            }
        }
        let asked = retry_after.map_or_else(String::new, |wait| {
            format!(" (retry after {} ms)", wait.as_millis())
        });
        let message = format!(
            "the upstream answered {status}{asked}: {}",
            upstream_message(&body)
        );
        if status == StatusCode::TOO_MANY_REQUESTS {
            Failure {
                retry_after,
                ..Failure::retryable(GenerationError::Overloaded(message))
            }
        } else {
            Failure {
                retryable: status.is_server_error(),
                retry_after,
                error: GenerationError::Upstream(message),
            }
        }
    }

    /// A request that got no answer; connection failures may be retried.
    fn transport_failure(&self, err: &reqwest::Error) -> Failure {
        if err.is_connect() && err.is_timeout() {
            Failure::retryable(GenerationError::Timeout(format!(
                "connecting to the upstream at {} timed out after {} ms",
                self.endpoint,
                self.limits.connect.as_millis()
            )))
        } else if err.is_connect() {
            Failure::retryable(GenerationError::Unreachable(format!(
                "cannot reach the upstream at {}: {}",
                self.endpoint,
                describe(err)
            )))
        } else {
            Failure {
                retryable: false,
                retry_after: None,
                error: GenerationError::Upstream(format!(
                    "the request to {} failed: {}",
                    self.endpoint,
                    describe(err)
                )),
            }
        }
    }
}

/// One failed attempt.
struct Failure {
    retryable: bool,
    /// The pause the upstream asked for with `Retry-After`.
    retry_after: Option<Duration>,
    error: GenerationError,
}

impl Failure {
    fn retryable(error: GenerationError) -> Self {
        Self {
            retryable: true,
            retry_after: None,
            error,
        }
    }
}

/// The pause before retry number `attempt + 1`: a random time between half and all of an
/// exponential ceiling (100 ms, 200 ms, … up to 2 s), so that clients refused together do
/// not return together; at least the upstream's `Retry-After` when it sent one.
fn pause(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let ceiling = FIRST_BACKOFF
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF);
    // Without randomness (which the OS always has) the pause is the ceiling itself.
    let fraction = getrandom::u32().map_or(1.0, |bits| f64::from(bits) / f64::from(u32::MAX));
    let jittered = ceiling.mul_f64(0.5 + 0.5 * fraction);
    retry_after.map_or(jittered, |asked| asked.max(jittered))
}

/// The pause a `Retry-After` header asks for, counted from `now`: its delay in seconds or
/// its HTTP date (a date already past asks for no pause); `None` when the header is absent
/// or unreadable.
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (date.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or_default(),
    )
}

/// An error with its chain of causes, e.g. `error sending request: connection refused`.
pub(super) fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(retry_after: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static(retry_after));
        headers
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_as_an_http_date() {
        let now = DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .expect("date")
            .with_timezone(&Utc);
        let read = |value| retry_after(&headers(value), now);
        assert_eq!(read("120"), Some(Duration::from_secs(120)));
        assert_eq!(read(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            read("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(read("Wed, 21 Oct 2015 07:27:00 GMT"), Some(Duration::ZERO));
        assert_eq!(read("-5"), None);
        assert_eq!(read("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn pauses_are_jittered_below_a_doubling_ceiling_and_honour_retry_after() {
        for attempt in 0..6 {
            let ceiling = (FIRST_BACKOFF * 2u32.pow(attempt)).min(MAX_BACKOFF);
            let pauses: Vec<Duration> = (0..50).map(|_| pause(attempt, None)).collect();
            assert!(
                pauses.iter().all(|p| *p >= ceiling / 2 && *p <= ceiling),
                "attempt {attempt}: {pauses:?}"
            );
            assert!(
                pauses.iter().any(|p| *p != pauses[0]),
                "attempt {attempt}: no jitter in {pauses:?}"
            );
        }
        assert_eq!(
            pause(0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert!(pause(3, Some(Duration::ZERO)) >= FIRST_BACKOFF * 4);
    }
}
