//! Per-client-IP token buckets: each IP may send `burst` requests at once and
//! `requests_per_second` sustained; beyond that it gets 429 with `Retry-After`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response};

use super::{is_exempt, refusal};
use crate::config::LimitsConfig;

/// Buckets kept before full (idle) ones are forgotten.
const MAX_TRACKED_CLIENTS: usize = 65_536;

/// The token buckets of every client IP seen recently.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
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

    /// Takes a token from `ip`'s bucket, or says how long until one is there.
    fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() >= MAX_TRACKED_CLIENTS && !buckets.contains_key(&ip) {
            buckets.retain(|_, bucket| self.refilled(*bucket, now) < self.burst);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
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
        let client = request.remote_addr().as_socket_addr().map(|a| a.ip());
        if let Some(ip) = client.filter(|_| !is_exempt(request.uri().path()))
            && let Err(wait) = self.take(ip.to_canonical(), Instant::now())
        {
            return Ok(refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests from {ip}; retry later"),
                wait,
            ));
        }
        endpoint
            .call(request)
            .await
            .map(IntoResponse::into_response)
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
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let start = Instant::now();
        assert!(limiter.take(a, start).is_ok());
        assert!(limiter.take(a, start).is_ok());
        assert_eq!(limiter.take(a, start), Err(Duration::from_millis(500)));
        assert!(limiter.take(b, start).is_ok());
        assert!(limiter.take(a, start + Duration::from_millis(500)).is_ok());
    }

    #[test]
    fn off_by_default() {
        assert!(RateLimiter::from_config(&LimitsConfig::default()).is_none());
    }
}
