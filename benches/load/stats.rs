//! What one request did ([`Outcome`]) and what a run of them amounts to ([`Summary`]).

use std::collections::BTreeMap;

use serde::Serialize;

/// One request's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The kind of request (`search`, `evidence`, `assist`, `ingest`, …).
    pub kind: &'static str,
    /// HTTP status, absent when no response came.
    pub status: Option<u16>,
    /// Why no (whole) response came: `timeout` or `transport`.
    pub failure: Option<String>,
    /// Latency until the whole body was read, in milliseconds.
    pub ms: f64,
    /// Response body size in bytes.
    pub bytes: usize,
    /// `Server-Timing` stages in milliseconds.
    pub stages: Vec<(String, f64)>,
    /// Whether an answer was marked `cached`.
    pub cached: bool,
    /// The server's own time for the request (a search's `took_ms`).
    pub server_ms: Option<f64>,
    /// Hits in a search response.
    pub items: Option<usize>,
}

impl Outcome {
    /// An outcome of `kind` with nothing recorded yet.
    pub fn new(kind: &'static str) -> Self {
        Self {
            kind,
            status: None,
            failure: None,
            ms: 0.0,
            bytes: 0,
            stages: Vec::new(),
            cached: false,
            server_ms: None,
            items: None,
        }
    }

    /// A 2xx status and the whole body read.
    pub fn ok(&self) -> bool {
        self.failure.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// Deliberate back-pressure: 429 (rate limited) or 503 (overloaded).
    pub fn backpressure(&self) -> bool {
        self.failure.is_none() && matches!(self.status, Some(429 | 503))
    }

    /// The key counted in [`Summary::by_status`]: the status, or the failure.
    fn status_key(&self) -> String {
        match (&self.failure, self.status) {
            (Some(failure), _) => failure.clone(),
            (None, Some(status)) => status.to_string(),
            (None, None) => "none".into(),
        }
    }
}

/// Latency distribution in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// The distribution of `millis` (all zero when empty).
    pub fn of(mut millis: Vec<f64>) -> Self {
        if millis.is_empty() {
            return Self::default();
        }
        millis.sort_by(f64::total_cmp);
        let quantile = |p| crate::common::percentile(&millis, p);
        Self {
            p50_ms: quantile(0.5),
            p95_ms: quantile(0.95),
            p99_ms: quantile(0.99),
            mean_ms: millis.iter().sum::<f64>() / millis.len() as f64,
            max_ms: millis[millis.len() - 1],
        }
    }
}

/// A run of requests summed up; latencies are those of successful requests.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Requests sent.
    pub requests: usize,
    /// Successful (2xx) requests.
    pub ok: usize,
    /// Requests answered with 429 or 503.
    pub backpressure: usize,
    /// Requests that failed otherwise (other statuses, timeouts, broken connections).
    pub errors: usize,
    /// Count of each status (or `timeout`/`transport`).
    pub by_status: BTreeMap<String, usize>,
    /// Latency of the successful requests.
    pub latency: Latency,
    /// Successful requests per second of wall time.
    pub throughput_rps: f64,
    /// Wall time of the run in seconds.
    pub wall_s: f64,
    /// Mean response size in bytes.
    pub mean_bytes: f64,
    /// Successful answers marked `cached`.
    pub cached: usize,
    /// Mean milliseconds of each `Server-Timing` stage over the answers that reported timings.
    pub stages_mean_ms: BTreeMap<String, f64>,
}

impl Summary {
    /// Sums up `outcomes` of a run that took `wall_s` seconds.
    pub fn of(outcomes: &[Outcome], wall_s: f64) -> Self {
        let ok: Vec<&Outcome> = outcomes.iter().filter(|o| o.ok()).collect();
        let mut by_status = BTreeMap::new();
        for outcome in outcomes {
            *by_status.entry(outcome.status_key()).or_insert(0) += 1;
        }
        // A stage an answer skipped (a cache hit skips them all) counts as 0 ms, so the
        // stage means add up to the mean total.
        let timed = ok.iter().filter(|o| !o.stages.is_empty()).count();
        let mut stage_sums: BTreeMap<String, f64> = BTreeMap::new();
        for (stage, ms) in ok.iter().flat_map(|o| &o.stages) {
            *stage_sums.entry(stage.clone()).or_default() += ms;
        }
        let backpressure = outcomes.iter().filter(|o| o.backpressure()).count();
        Self {
            requests: outcomes.len(),
            ok: ok.len(),
            backpressure,
            errors: outcomes.len() - ok.len() - backpressure,
            by_status,
            latency: Latency::of(ok.iter().map(|o| o.ms).collect()),
            throughput_rps: ok.len() as f64 / wall_s.max(1e-9),
            wall_s,
            mean_bytes: mean(ok.iter().map(|o| o.bytes as f64)),
            cached: ok.iter().filter(|o| o.cached).count(),
            stages_mean_ms: stage_sums
                .into_iter()
                .map(|(stage, sum)| (stage, sum / timed as f64))
                .collect(),
        }
    }

    /// One line for the console.
    pub fn line(&self) -> String {
        format!(
            "{} req, {} ok, {} back-pressure, {} errors {:?}; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {:.1} req/s",
            self.requests,
            self.ok,
            self.backpressure,
            self.errors,
            self.by_status,
            self.latency.p50_ms,
            self.latency.p95_ms,
            self.latency.p99_ms,
            self.latency.max_ms,
            self.throughput_rps
        )
    }
}

/// Mean of `values` (0 when empty).
pub fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(sum, n), v| (sum + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}
