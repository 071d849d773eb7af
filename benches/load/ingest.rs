//! Ingests the generated statute corpus through the bulk NDJSON route and measures its
//! throughput in documents and chunks per second.

use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use super::client::Api;
use super::server::Server;
use super::stats::{Outcome, Summary};
use crate::common::corpus::{section_pool, statute};

/// The collections the corpus is spread over.
pub const COLLECTIONS: [&str; 3] = ["bench0", "bench1", "bench2"];

/// What ingesting the corpus took.
#[derive(Debug, Serialize)]
pub struct Ingestion {
    /// Documents sent.
    pub documents: usize,
    /// Chunks stored (from the collections' counts).
    pub chunks: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Documents per second.
    pub docs_per_s: f64,
    /// Chunks per second.
    pub chunks_per_s: f64,
    /// Documents per bulk request.
    pub batch: usize,
    /// Lines the server reported as failed.
    pub failed_lines: u64,
    /// The bulk requests.
    pub requests: Summary,
}

/// Creates [`COLLECTIONS`] and bulk-ingests `documents` statutes of 20 sections into them,
/// `batch` documents a request, one collection after another. Every statute has the same
/// title, so chunks repeating one of the corpus's 2,000 section texts embed identically and
/// hit the embedding cache: the rest of the ingestion path is measured, not only the encoder.
pub async fn ingest_corpus(
    server: &Server,
    api: &Api,
    documents: usize,
    batch: usize,
) -> Ingestion {
    for name in COLLECTIONS {
        api.create_collection(name).await;
    }
    let pool = section_pool();
    let started = Instant::now();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut failed_lines = 0;
    let numbers: Vec<usize> = (0..documents).collect();
    for chunk in numbers.chunks(batch) {
        // Consecutive batches rotate through the collections.
        let collection = COLLECTIONS[(chunk[0] / batch) % COLLECTIONS.len()];
        let body: String = chunk
            .iter()
            .flat_map(|&number| {
                let line = json!({
                    "external_id": format!("doc-{number}"),
                    "title": "Synthetic statute",
                    "text": statute(&pool, number),
                    "metadata": {"part": number % 10},
                });
                [line.to_string(), "\n".to_string()]
            })
            .collect();
        let (outcome, summary) = api.bulk(collection, body).await;
        assert!(
            outcome.ok(),
            "bulk ingestion failed: {outcome:?}\nserver log:\n{}",
            server.log_tail()
        );
        failed_lines += summary.map_or(0, |s| s["failed"].as_u64().unwrap_or(0));
        outcomes.push(outcome);
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut chunks = 0;
    for name in COLLECTIONS {
        chunks += api.collection(name).await["chunk_count"]
            .as_u64()
            .unwrap_or(0);
    }
    let ingestion = Ingestion {
        documents,
        chunks,
        seconds,
        docs_per_s: documents as f64 / seconds,
        chunks_per_s: chunks as f64 / seconds,
        batch,
        failed_lines,
        requests: Summary::of(&outcomes, seconds),
    };
    println!(
        "ingested {documents} documents ({chunks} chunks) in {seconds:.1} s: {:.1} docs/s, {:.0} chunks/s, {failed_lines} failed lines",
        ingestion.docs_per_s, ingestion.chunks_per_s
    );
    ingestion
}
