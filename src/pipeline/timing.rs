//! Stage timings: each stage's wall time goes into the answer, the SSE `timing` events, the
//! `Server-Timing` header and a Prometheus histogram.

use std::sync::Arc;
use std::time::Instant;

use super::events::Events;
use super::types::{PipelineEvent, StageTiming};
use crate::error::AppResult;
use crate::ops::{Counter, Family, Histogram, LATENCY_BUCKETS, Registry};

/// The pipeline's metric families.
pub struct PipelineMetrics {
    stage_seconds: Arc<Family<Histogram>>,
    answers: Arc<Family<Counter>>,
    corrections: Arc<Family<Counter>>,
    cache_hits: Arc<Counter>,
    cache_misses: Arc<Counter>,
}

impl PipelineMetrics {
    /// Registers the families with `registry`.
    pub fn register(registry: &Registry) -> Self {
        Self {
            stage_seconds: registry.histogram(
                "crag_answer_stage_duration_seconds",
                "Time spent in each stage of the answer pipeline.",
                &["stage"],
                LATENCY_BUCKETS,
            ),
            answers: registry.counter(
                "crag_answers_total",
                "Answers produced, by mode and outcome (answered or refused).",
                &["mode", "outcome"],
            ),
            corrections: registry.counter(
                "crag_answer_corrections_total",
                "Corrections made to generated answers, by mode and kind (term: a guardrail \
                 term correction; citation: an invalid citation removed).",
                &["mode", "kind"],
            ),
            cache_hits: registry
                .counter(
                    "crag_answer_cache_hits_total",
                    "Answers served from the answer cache.",
                    &[],
                )
                .with(&[]),
            cache_misses: registry
                .counter(
                    "crag_answer_cache_misses_total",
                    "Answer cache lookups that found no fresh answer.",
                    &[],
                )
                .with(&[]),
        }
    }

    /// Counts one answer cache lookup.
    pub fn cache_lookup(&self, hit: bool) {
        if hit {
            self.cache_hits.inc();
        } else {
            self.cache_misses.inc();
        }
    }

    /// Answers so far by mode (`chat`, `assist`, `evidence`): answered and refused.
    pub fn answers_by_mode(&self) -> Vec<(&'static str, u64, u64)> {
        ["chat", "assist", "evidence"]
            .into_iter()
            .map(|mode| {
                let count = |outcome| self.answers.with(&[mode, outcome]).get();
                (mode, count("answered"), count("refused"))
            })
            .collect()
    }

    /// Answers timed so far and their mean end-to-end latency in seconds.
    pub fn total_latency(&self) -> (u64, f64) {
        let total = self.stage_seconds.with(&["total"]);
        let count = total.count();
        (
            count,
            if count == 0 {
                0.0
            } else {
                total.sum() / count as f64
            },
        )
    }

    /// Counts one finished answer.
    pub fn answered(&self, mode: &str, refused: bool) {
        let outcome = if refused { "refused" } else { "answered" };
        self.answers.with(&[mode, outcome]).inc();
    }

    /// Counts the corrections made to one freshly generated answer.
    pub fn corrected(&self, mode: &str, terms: usize, citations: usize) {
        for (kind, count) in [("term", terms), ("citation", citations)] {
            if count > 0 {
                self.corrections.with(&[mode, kind]).inc_by(count as u64);
            }
        }
    }
}

/// Collects the timings of one answer.
pub struct Stopwatch<'a> {
    started: Instant,
    timings: Vec<StageTiming>,
    metrics: &'a PipelineMetrics,
}

impl<'a> Stopwatch<'a> {
    /// Starts timing an answer now.
    pub fn start(metrics: &'a PipelineMetrics) -> Self {
        Self {
            started: Instant::now(),
            timings: Vec::new(),
            metrics,
        }
    }

    /// Records that `stage` ran from `since` until now and reports it to `events`.
    pub async fn record(&mut self, stage: &str, since: Instant, events: &Events) -> AppResult<()> {
        let seconds = since.elapsed().as_secs_f64();
        self.metrics.stage_seconds.with(&[stage]).observe(seconds);
        tracing::debug!(stage, ms = seconds * 1000.0, "answer stage finished");
        let timing = StageTiming {
            stage: stage.to_string(),
            ms: seconds * 1000.0,
        };
        self.timings.push(timing.clone());
        events.send(PipelineEvent::Timing(timing)).await
    }

    /// The recorded timings followed by `total` (taken: a second call returns only a new
    /// `total`).
    pub fn finish(&mut self) -> Vec<StageTiming> {
        let seconds = self.started.elapsed().as_secs_f64();
        self.metrics.stage_seconds.with(&["total"]).observe(seconds);
        self.timings.push(StageTiming {
            stage: "total".into(),
            ms: seconds * 1000.0,
        });
        std::mem::take(&mut self.timings)
    }
}

/// The `Server-Timing` header value of `timings` (`retrieve;dur=3.2, …`).
pub fn server_timing(timings: &[StageTiming]) -> String {
    timings
        .iter()
        .map(|t| format!("{};dur={:.1}", t.stage, t.ms))
        .collect::<Vec<_>>()
        .join(", ")
}
