//! The outermost layer: gives each request its id and a tracing span, turns any error into a
//! problem response, echoes the id, logs the request once and records HTTP metrics.

use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, Method};
use poem::{Endpoint, IntoResponse, PathPattern, Request, Response};
use tracing::Instrument;

use super::request_id::{HEADER, RequestId};
use super::route_label::RouteLabels;
use crate::api::problem;
use crate::ops::{Counter, Family, Gauge, Histogram, LATENCY_BUCKETS, Registry};

/// Request counts, latencies and in-flight requests, by route template.
pub struct Observe {
    requests: Arc<Family<Counter>>,
    duration: Arc<Family<Histogram>>,
    in_flight: Arc<Gauge>,
    routes: RouteLabels,
}

impl Observe {
    /// Registers the HTTP metric families with `registry`; route labels are the templates of
    /// `spec` (the OpenAPI document as JSON).
    pub fn register(registry: &Registry, spec: &str) -> Self {
        let labels = &["method", "route", "status"];
        Self {
            requests: registry.counter(
                "crag_http_requests_total",
                "HTTP requests answered, by method, route template and status.",
                labels,
            ),
            duration: registry.histogram(
                "crag_http_request_duration_seconds",
                "Time from receiving a request to its response head, by method, route \
                 template and status.",
                labels,
                LATENCY_BUCKETS,
            ),
            in_flight: registry
                .gauge(
                    "crag_http_requests_in_flight",
                    "HTTP requests being served now.",
                    &[],
                )
                .with(&[]),
            routes: RouteLabels::from_spec(spec),
        }
    }

    /// Serves `request` through `endpoint` inside the request's span.
    pub async fn apply<E: Endpoint>(
        self: Arc<Self>,
        endpoint: Arc<E>,
        mut request: Request,
    ) -> poem::Result<Response> {
        let id = RequestId::of(&request);
        let method = method_label(request.method());
        let span = tracing::info_span!(
            "request",
            id = id.as_str(),
            method,
            path = request.uri().path()
        );
        request.set_data(id.clone());
        let started = Instant::now();
        let in_flight = InFlight::enter(self.in_flight.clone());
        let mut response = async {
            match endpoint.call(request).await {
                Ok(response) => response.into_response(),
                Err(err) => problem_response(err).await,
            }
        }
        .instrument(span.clone())
        .await;
        drop(in_flight);
        let elapsed = started.elapsed();

        let pattern = response.data::<PathPattern>().map(|p| &*p.0);
        let route = self.routes.label(method, pattern);
        let status = response.status();
        let labels = [method, route.as_str(), status.as_str()];
        self.requests.with(&labels).inc();
        self.duration.with(&labels).observe(elapsed.as_secs_f64());
        let id_header = HeaderValue::from_str(id.as_str()).expect("request ids are visible ASCII");
        response.headers_mut().insert(HEADER, id_header);
        span.in_scope(|| {
            tracing::info!(
                status = status.as_u16(),
                route,
                latency_ms = elapsed.as_micros() as f64 / 1e3,
                "request"
            );
        });
        Ok(response)
    }
}

/// Keeps the in-flight gauge raised while a request is served, even when the client goes
/// away and the request's future is dropped.
struct InFlight(Arc<Gauge>);

impl InFlight {
    fn enter(gauge: Arc<Gauge>) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The problem response of an error that escaped the routes, labelled with the route it
/// matched, if any.
async fn problem_response(err: poem::Error) -> Response {
    let pattern = err.data::<PathPattern>().cloned();
    let mut response = problem::catch_all(err).await;
    if let Some(pattern) = pattern {
        response.set_data(pattern);
    }
    response
}

/// A bounded label for the method: the standard ones by name, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        .into_iter()
        .find(|name| *name == method.as_str())
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
