//! Operations support independent of HTTP: the metrics registry and its text exposition.
//!
//! Every part of the server registers its metric families with the one [`Registry`] held by
//! the library (`Library::metrics`), at construction time, and keeps the returned handles:
//!
//! - HTTP requests, latencies and in-flight requests: `api::middleware`;
//! - models and caches (batches, queue depths, cache hits): read from their own counters when
//!   `/metrics` is scraped (`api::metrics`);
//! - per-stage timings of the answer pipeline: a histogram family `crag_stage_seconds{stage}`
//!   with [`LATENCY_BUCKETS`], registered by the pipeline when it lands;
//! - generation tokens and tokens/s: counters registered by the generation backends.

pub mod exposition;
pub mod registry;

pub use registry::{Counter, Family, Gauge, Histogram, LATENCY_BUCKETS, Registry};
