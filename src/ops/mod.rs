//! Operations support independent of HTTP: the metrics registry (on `prometheus-client`), the
//! families read at scrape time, and the process's own families.
//!
//! Every part of the server registers its metric families with the one [`Registry`] held by
//! the library (`Library::metrics`), at construction time, and keeps the returned handles:
//!
//! - HTTP requests, latencies and in-flight requests: `api::middleware`;
//! - models and caches (batches, queue depths, cache hits): read from their own counters when
//!   `/metrics` is scraped (`api::metrics`), as [`Readings`];
//! - the process (resident memory, CPU time, open files, start time): [`process`], read at
//!   scrape time too;
//! - per-stage timings of the answer pipeline: a histogram family
//!   `crag_answer_stage_duration_seconds{stage}` with [`LATENCY_BUCKETS`] (`pipeline::timing`);
//! - generation tokens and tokens/s: counters registered by the generation backends.

pub mod process;
pub mod readings;
pub mod registry;

pub use readings::{Kind, Readings};
pub use registry::{Counter, Family, Gauge, Histogram, LATENCY_BUCKETS, Registry};
