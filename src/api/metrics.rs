//! `GET /metrics`: the Prometheus text exposition of the registry, plus the counters the
//! models and the embedding cache keep themselves and the process's own figures, read at
//! scrape time.

use std::sync::atomic::Ordering::Relaxed;

use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, OpenApi};

use super::ApiTags;
use crate::inference::batcher::BatchStats;
use crate::inference::precision::PrecisionChoice;
use crate::ops::{Kind, Readings, process};
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
    let mut out = String::new();
    library.metrics().render(&mut out);
    let mut readings = Readings::new();
    read_cache(library, &mut readings);
    read_models(library, &mut readings);
    read_decoder(library, &mut readings);
    read_replication(library, &mut readings);
    process::read_into(&mut readings);
    readings.render(&mut out);
    out
}

fn read_cache(library: &Library, out: &mut Readings) {
    let cache = library.embedder().cache_stats();
    let hits = out.family(
        "crag_embedding_cache_hits_total",
        "Embedding-cache hits, by level.",
        Kind::Counter,
    );
    hits.sample(&[("level", "memory")], cache.memory_hits);
    hits.sample(&[("level", "disk")], cache.disk_hits);
    out.family(
        "crag_embedding_cache_misses_total",
        "Embeddings found in neither cache level.",
        Kind::Counter,
    )
    .sample(&[], cache.misses);
    out.family(
        "crag_embedding_cache_memory_bytes",
        "Bytes held by the in-memory embedding cache.",
        Kind::Gauge,
    )
    .sample(&[], cache.memory_bytes);
    out.family(
        "crag_token_vectors_stored_total",
        "Passages' token vectors written to the embedding cache file (for the MaxSim reranker).",
        Kind::Counter,
    )
    .sample(&[], cache.token_vector_writes);
    out.family(
        "crag_token_vectors_over_budget_total",
        "Passages' token vectors not stored because cache.token_vectors_disk_mib was spent.",
        Kind::Counter,
    )
    .sample(&[], cache.token_vectors_over_budget);
    out.family(
        "crag_token_vectors_stored_bytes",
        "Bytes of token vectors in the embedding cache file.",
        Kind::Gauge,
    )
    .sample(&[], cache.token_vector_bytes);
    if let Some(counts) = library.reranker().token_vector_counts() {
        let sources = out.family(
            "crag_rerank_token_vectors_total",
            "Candidates' token vectors the MaxSim reranker used, by where they came from.",
            Kind::Counter,
        );
        sources.sample(&[("source", "memory")], counts.memory);
        sources.sample(&[("source", "stored")], counts.stored);
        sources.sample(&[("source", "encoded")], counts.encoded);
    }
}

/// Where this server stands in the change log: the corpus version it serves, the last
/// change known to exist, and how long the log has been unreadable (0 while it is read).
fn read_replication(library: &Library, out: &mut Readings) {
    let status = library.replication_status();
    out.family(
        "crag_corpus_version",
        "The corpus version served: the number of the last change applied to the indexes.",
        Kind::Gauge,
    )
    .sample(&[], status.applied);
    out.family(
        "crag_change_log_head",
        "The number of the last change known to be in the change log.",
        Kind::Gauge,
    )
    .sample(&[], status.head);
    out.family(
        "crag_replication_lag_changes",
        "Changes committed to the store and not applied here yet.",
        Kind::Gauge,
    )
    .sample(&[], status.lag());
    out.family(
        "crag_change_log_unreadable_seconds",
        "How long the change log has been unreadable (0 while it is read).",
        Kind::Gauge,
    )
    .sample(
        &[],
        status
            .fault
            .as_ref()
            .map_or(0.0, |(_, since)| since.as_secs_f64()),
    );
}

/// Reads one counter of a model worker.
type ReadCounter = fn(&BatchStats) -> u64;

fn read_models(library: &Library, out: &mut Readings) {
    // Every worker: the encoders (`encoder`, and `swedish-encoder` when Swedish collections
    // have their own) and the reranker.
    let workers: Vec<(&str, usize, &BatchStats, Option<&PrecisionChoice>)> = library
        .encoders()
        .all()
        .map(|encoder| {
            let (depth, stats) = encoder.batcher_stats();
            (encoder.name(), depth, stats, encoder.precision())
        })
        .chain(std::iter::once({
            let reranker = library.reranker();
            let (depth, stats) = reranker.batcher_stats();
            ("reranker", depth, stats, reranker.precision())
        }))
        .collect();
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
        let family = out.family(name, help, Kind::Counter);
        for (model, _, stats, _) in &workers {
            family.sample(&[("model", model)], read(stats));
        }
    }
    let depth = out.family(
        "crag_model_queue_depth",
        "Inputs waiting for a model worker.",
        Kind::Gauge,
    );
    for (model, queued, _, _) in &workers {
        depth.sample(&[("model", model)], *queued as u64);
    }
    let precisions: Vec<(&str, Option<&PrecisionChoice>)> = workers
        .iter()
        .map(|(model, _, _, precision)| (*model, *precision))
        .collect();
    read_precisions(&precisions, out);
}

/// Each loaded model's precision (an info gauge), its threads and the probes' timings.
fn read_precisions(models: &[(&str, Option<&PrecisionChoice>)], out: &mut Readings) {
    let loaded = models
        .iter()
        .filter_map(|(model, choice)| choice.map(|c| (*model, c)));
    let info = out.family(
        "crag_model_precision_info",
        "The precision a loaded model runs in (value 1) and who chose it: probe, configuration or default.",
        Kind::Gauge,
    );
    for (model, choice) in loaded.clone() {
        let labels = [
            ("model", model),
            ("precision", choice.precision.as_str()),
            ("chosen_by", choice.chosen_by.as_str()),
        ];
        info.sample(&labels, 1_u64);
    }
    let probe = out.family(
        "crag_model_precision_probe_seconds",
        "Time the precision probe measured at load: input=batch (eight 128-token passages) or query (one short query).",
        Kind::Gauge,
    );
    for (model, choice) in loaded.clone() {
        for timing in &choice.probe {
            for (input, seconds) in [("batch", timing.batch), ("query", timing.query)] {
                let labels = [
                    ("model", model),
                    ("precision", timing.precision.as_str()),
                    ("input", input),
                ];
                probe.sample(&labels, seconds.as_secs_f64());
            }
        }
    }
    let threads = out.family(
        "crag_model_threads",
        "Torch threads a model's batches run on: work=interactive (a query in the batch) or bulk (ingestion only).",
        Kind::Gauge,
    );
    for (model, choice) in loaded.clone() {
        if let Some(chosen) = &choice.threads {
            for (work, count) in [
                ("interactive", chosen.plan.interactive),
                ("bulk", chosen.plan.bulk),
            ] {
                threads.sample(&[("model", model), ("work", work)], count as u64);
            }
        }
    }
    let thread_probe = out.family(
        "crag_model_thread_probe_seconds",
        "Time the thread probe measured at load in the chosen precision: input=batch or query, by thread count.",
        Kind::Gauge,
    );
    for (model, choice) in loaded {
        for timing in choice.threads.iter().flat_map(|t| &t.probe) {
            let count = timing.threads.to_string();
            for (input, seconds) in [("batch", timing.batch), ("query", timing.query)] {
                let labels = [
                    ("model", model),
                    ("threads", count.as_str()),
                    ("input", input),
                ];
                thread_probe.sample(&labels, seconds.as_secs_f64());
            }
        }
    }
}

/// The local decoder's numerics (an info gauge), its threads and the probe's timings, once
/// it has loaded.
fn read_decoder(library: &Library, out: &mut Readings) {
    let Some((model, choice)) = library
        .generator()
        .ok()
        .and_then(|generator| Some((generator.model(), generator.numerics()?)))
    else {
        return;
    };
    let numerics = choice.numerics.to_string();
    out.family(
        "crag_decoder_numerics_info",
        "The numerics the local decoder runs in (value 1): f32, bf16, f16 or int4, and who chose them: probe or configuration.",
        Kind::Gauge,
    )
    .sample(
        &[
            ("model", model),
            ("numerics", numerics.as_str()),
            ("chosen_by", choice.chosen_by.as_str()),
        ],
        1_u64,
    );
    out.family(
        "crag_decoder_threads",
        "Torch threads the local decoder runs on.",
        Kind::Gauge,
    )
    .sample(&[("model", model)], choice.threads as u64);
    let probe = out.family(
        "crag_decoder_probe_seconds",
        "Time the decoder's probe measured at load: phase=prefill (a 70-token prompt) or step (one decoded token), by numerics.",
        Kind::Gauge,
    );
    for timing in &choice.probe {
        let numerics = timing.numerics.to_string();
        for (phase, seconds) in [("prefill", timing.prefill), ("step", timing.step)] {
            let labels = [
                ("model", model),
                ("numerics", numerics.as_str()),
                ("phase", phase),
            ];
            probe.sample(&labels, seconds.as_secs_f64());
        }
    }
}
