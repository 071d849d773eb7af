//! Per-client token buckets: each client — the API key a request was authenticated with, or
//! the IP address of a request without one — may send `burst` requests at once and
//! `requests_per_second` sustained; beyond that it gets 429 with `Retry-After`. Runs after
//! authentication, so keys sharing an address (a gateway) never share a bucket.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response};

use super::{is_exempt, refusal};
use crate::auth::Caller;
use crate::config::LimitsConfig;

/// Buckets kept before full (idle) ones are forgotten.
const MAX_TRACKED_CLIENTS: usize = 65_536;

/// Whose bucket a request draws from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Client {
    /// The id of the API key the request was authenticated with.
    Key(String),
    /// The address of a request without a key.
    Ip(IpAddr),
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Client::Key(id) => write!(f, "API key {id}"),
            Client::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// The token buckets of every client seen recently.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<Client, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// The limiter `limits` describes; `None` when rate limiting is off.
    pub fn from_config(limits: &LimitsConfig) -> Option<Self> {
        (limits.requests_per_second > 0.0).then(|| Self {
            per_second: limits.requests_per_second,
            burst: f64::from(limits.burst),
            buckets: Mutex::default(),
        })
    }

    /// Takes a token from `client`'s bucket, or says how long until one is there.
    fn take(&self, client: Client, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() >= MAX_TRACKED_CLIENTS && !buckets.contains_key(&client) {
            buckets.retain(|_, bucket| self.refilled(*bucket, now) < self.burst);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let tokens = self.refilled(*bucket, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                updated: now,
            };
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - tokens) / self.per_second))
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }

    /// Serves `request` when its client has a token left, else answers 429.
    pub async fn apply<E: Endpoint>(
        self: Arc<Self>,
        endpoint: Arc<E>,
        request: Request,
    ) -> poem::Result<Response> {
        if let Some(client) = client_of(&request).filter(|_| !is_exempt(request.uri().path()))
            && let Err(wait) = self.take(client.clone(), Instant::now())
        {
            return Ok(refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests from {client}; retry later"),
                wait,
            ));
        }
        endpoint
            .call(request)
            .await
            .map(IntoResponse::into_response)
    }
}

/// The request's key when authentication attached one, else its peer address.
fn client_of(request: &Request) -> Option<Client> {
    match request.data::<Caller>() {
        Some(Caller::Key { id, .. }) => Some(Client::Key(id.clone())),
        _ => request
            .remote_addr()
            .as_socket_addr()
            .map(|addr| Client::Ip(addr.ip().to_canonical())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_empty_and_refill_per_client() {
        let limiter = RateLimiter::from_config(&LimitsConfig {
            requests_per_second: 2.0,
            burst: 2,
            ..LimitsConfig::default()
        })
        .expect("on");
        let a = Client::Ip("10.0.0.1".parse().unwrap());
        let b = Client::Ip("10.0.0.2".parse().unwrap());
        let key = Client::Key("k1".into());
        let start = Instant::now();
        assert!(limiter.take(a.clone(), start).is_ok());
        assert!(limiter.take(a.clone(), start).is_ok());
        assert_eq!(
            limiter.take(a.clone(), start),
            Err(Duration::from_millis(500))
        );
        assert!(limiter.take(b, start).is_ok());
        assert!(limiter.take(key, start).is_ok());
        assert!(limiter.take(a, start + Duration::from_millis(500)).is_ok());
    }

    #[test]
    fn off_by_default() {
        assert!(RateLimiter::from_config(&LimitsConfig::default()).is_none());
    }
}
