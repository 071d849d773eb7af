//! `GET /metrics`: the Prometheus text exposition of the registry, plus the counters the
//! models and the embedding cache keep themselves, read at scrape time.

use std::sync::atomic::Ordering::Relaxed;

use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, OpenApi};

use super::ApiTags;
use crate::inference::batcher::BatchStats;
use crate::inference::precision::PrecisionChoice;
use crate::ops::exposition::{Kind, TextWriter};
use crate::service::Library;

/// A scrape.
#[derive(Debug, ApiResponse)]
pub enum Exposition {
    /// Every metric, in the Prometheus text format 0.0.4.
    #[oai(
        status = 200,
        content_type = "text/plain; version=0.0.4; charset=utf-8"
    )]
    Ok(PlainText<String>),
}

/// The metrics route.
pub struct MetricsApi {
    /// The service whose metrics are exposed.
    pub library: Library,
}

#[OpenApi]
impl MetricsApi {
    /// Prometheus metrics: HTTP requests and latencies by route template and status,
    /// in-flight requests, embedding-cache hits and misses, model batches, inputs, tokens
    /// and queue depths.
    #[oai(path = "/metrics", method = "get", tag = "ApiTags::Metrics")]
    async fn metrics(&self) -> Exposition {
        Exposition::Ok(PlainText(exposition(&self.library)))
    }
}

/// The Prometheus text of every metric of `library`.
pub fn exposition(library: &Library) -> String {
    let mut out = TextWriter::new();
    library.metrics().render(&mut out);
    write_cache(library, &mut out);
    write_models(library, &mut out);
    out.finish()
}

fn write_cache(library: &Library, out: &mut TextWriter) {
    let cache = library.embedder().cache_stats();
    let name = "crag_embedding_cache_hits_total";
    out.family(name, "Embedding-cache hits, by level.", Kind::Counter);
    out.sample(name, &[("level", "memory")], cache.memory_hits as f64);
    out.sample(name, &[("level", "disk")], cache.disk_hits as f64);
    let name = "crag_embedding_cache_misses_total";
    out.family(
        name,
        "Embeddings found in neither cache level.",
        Kind::Counter,
    );
    out.sample(name, &[], cache.misses as f64);
    let name = "crag_embedding_cache_memory_bytes";
    out.family(
        name,
        "Bytes held by the in-memory embedding cache.",
        Kind::Gauge,
    );
    out.sample(name, &[], cache.memory_bytes as f64);
}

/// Reads one counter of a model worker.
type ReadCounter = fn(&BatchStats) -> u64;

fn write_models(library: &Library, out: &mut TextWriter) {
    let (encoder_depth, encoder) = library.embedder().batcher_stats();
    let (reranker_depth, reranker) = library.reranker().batcher_stats();
    let models = [("encoder", encoder), ("reranker", reranker)];
    let counters: [(&str, &str, ReadCounter); 4] = [
        (
            "crag_model_batches_total",
            "Batches run by a model worker.",
            |s| s.batches.load(Relaxed),
        ),
        (
            "crag_model_batch_inputs_total",
            "Inputs run by a model worker (divided by batches: the mean batch size).",
            |s| s.inputs.load(Relaxed),
        ),
        (
            "crag_model_tokens_total",
            "Real tokens run by a model worker.",
            |s| s.tokens.load(Relaxed),
        ),
        (
            "crag_model_padded_tokens_total",
            "Tokens run by a model worker, padding included.",
            |s| s.padded_tokens.load(Relaxed),
        ),
    ];
    for (name, help, read) in counters {
        out.family(name, help, Kind::Counter);
        for (model, stats) in models {
            out.sample(name, &[("model", model)], read(stats) as f64);
        }
    }
    let name = "crag_model_queue_depth";
    out.family(name, "Inputs waiting for a model worker.", Kind::Gauge);
    out.sample(name, &[("model", "encoder")], encoder_depth as f64);
    out.sample(name, &[("model", "reranker")], reranker_depth as f64);
    write_precisions(
        [
            ("encoder", library.embedder().precision()),
            ("reranker", library.reranker().precision()),
        ],
        out,
    );
}

/// Each loaded model's precision (an info gauge) and the probe's timings.
fn write_precisions(models: [(&str, Option<&PrecisionChoice>); 2], out: &mut TextWriter) {
    let loaded = models
        .iter()
        .filter_map(|(model, choice)| choice.map(|c| (*model, c)));
    let name = "crag_model_precision_info";
    out.family(
        name,
        "The precision a loaded model runs in (value 1) and who chose it: probe, configuration or default.",
        Kind::Gauge,
    );
    for (model, choice) in loaded.clone() {
        let labels = [
            ("model", model),
            ("precision", choice.precision.as_str()),
            ("chosen_by", choice.chosen_by.as_str()),
        ];
        out.sample(name, &labels, 1.0);
    }
    let name = "crag_model_precision_probe_seconds";
    out.family(
        name,
        "Time the precision probe measured at load: input=batch (eight 128-token passages) or query (one short query).",
        Kind::Gauge,
    );
    for (model, choice) in loaded {
        for timing in &choice.probe {
            for (input, seconds) in [("batch", timing.batch), ("query", timing.query)] {
                let labels = [
                    ("model", model),
                    ("precision", timing.precision.as_str()),
                    ("input", input),
                ];
                out.sample(name, &labels, seconds.as_secs_f64());
            }
        }
    }
}
