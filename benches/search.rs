//! BM25 search latency over a generated statute-like corpus, in process, on an on-disk
//! SurrealDB. Run with `just bench`; writes `bench/results/search-<unix time>.json`.
//!
//! Environment: `BENCH_DOCUMENTS` (default 500, 20 sections each = 10,000 chunks) and
//! `BENCH_QUERIES` (default 300).

use std::sync::Arc;
use std::time::{Duration, Instant};

use constitutional_rag::config::Config;
use constitutional_rag::model::DocumentInput;
use constitutional_rag::model::Language;
use constitutional_rag::service::{Library, SearchMode, SearchRequest};

mod common;
use common::{Rng, percentile};

fn statute(rng: &mut Rng, number: usize, sections: usize) -> String {
    let mut text = format!("{number} kap. Synthetic provisions {number}\n\n");
    for section in 1..=sections {
        text.push_str(&format!("{section} § "));
        for _ in 0..3 {
            let length = 8 + (rng.next() % 10) as usize;
            text.push_str(&rng.sentence(length));
            text.push(' ');
        }
        text.push_str("\n\n");
    }
    text
}

async fn ingest(library: &Library, documents: usize) -> (usize, Duration) {
    library
        .create_collection("bench", "synthetic statutes", Language::English)
        .await
        .expect("create collection");
    let mut rng = Rng(0x5eed);
    let started = Instant::now();
    let mut chunks = 0;
    for number in 0..documents {
        let input = DocumentInput {
            external_id: Some(format!("doc-{number}")),
            title: None,
            source: None,
            metadata: [("part".to_string(), serde_json::json!(number % 10))].into(),
            text: statute(&mut rng, number + 1, 20),
        };
        let (document, _) = library
            .upsert_document("bench", input)
            .await
            .expect("ingest");
        chunks += document.chunk_count as usize;
    }
    (chunks, started.elapsed())
}

async fn measure(library: &Library, queries: usize, words: usize, filtered: bool) -> Vec<f64> {
    let mut rng = Rng(0xbeef + words as u64);
    let mut latencies = Vec::with_capacity(queries);
    for _ in 0..queries {
        let query = (0..words).map(|_| rng.word()).collect::<Vec<_>>().join(" ");
        let request = SearchRequest {
            query,
            collections: vec!["bench".into()],
            mode: Some(SearchMode::Bm25),
            limit: Some(10),
            filter: filtered.then(|| [("part".to_string(), serde_json::json!(3))].into()),
            rerank: false,
        };
        let started = Instant::now();
        let (_, hits) = library.search(&request).await.expect("search");
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(!hits.is_empty(), "every generated query matches something");
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

#[tokio::main]
async fn main() {
    let documents: usize = std::env::var("BENCH_DOCUMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let queries: usize = std::env::var("BENCH_QUERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.storage.url = format!("surrealkv://{}", dir.path().display());
    config.cache.embedding_path = String::new();
    let library = Library::open(Arc::new(config)).await.expect("open store");

    let (chunks, ingest_time) = ingest(&library, documents).await;
    println!(
        "ingested {documents} documents, {chunks} chunks in {:.1} s ({:.0} chunks/s)",
        ingest_time.as_secs_f64(),
        chunks as f64 / ingest_time.as_secs_f64()
    );
    // Warm the index (first queries load it lazily).
    measure(&library, 20, 2, false).await;

    let mut scenarios = Vec::new();
    for (name, words, filtered) in [
        ("bm25 1 term", 1, false),
        ("bm25 3 terms", 3, false),
        ("bm25 3 terms + metadata filter", 3, true),
    ] {
        let latencies = measure(&library, queries, words, filtered).await;
        let (p50, p95, p99) = (
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.95),
            percentile(&latencies, 0.99),
        );
        println!(
            "{name:<34} p50 {p50:8.2} ms   p95 {p95:8.2} ms   p99 {p99:8.2} ms   ({queries} queries)"
        );
        scenarios.push(serde_json::json!({"scenario": name, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "queries": queries}));
    }
    let report = serde_json::json!({
        "benchmark": "search",
        "documents": documents,
        "chunks": chunks,
        "ingest_chunks_per_s": chunks as f64 / ingest_time.as_secs_f64(),
        "scenarios": scenarios,
    });
    common::write_results("search", &report);
}
