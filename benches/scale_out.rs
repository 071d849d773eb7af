//! Scale-out over a SurrealDB server (issue 19 item 5), with the release server binary as
//! child processes and the `surreal` binary `just test-peers` builds:
//!
//! - ingestion and cold start: the same documents into an embedded (`surrealkv://`) server
//!   and into a server over the SurrealDB server (`ws://`), then each restarted;
//! - replication lag: one server writes at a steady rate, another's applied version is
//!   watched (its `X-Corpus-Version`) until it includes each write: p50/p99;
//! - search throughput with 1, 2 and 3 servers over the same store, clients spread over them.
//!
//! On a 2-core machine every server shares the same two cores: the numbers show that the
//! mechanism works and what it costs, not how throughput scales with machines.
//! `SCALE_DOCUMENTS` (default 60), `SCALE_WRITES` (default 60), `SCALE_SECONDS` (default 10).

mod common;
#[path = "../tests/common/scale_out_client.rs"]
mod scale_out_client;
#[path = "load/server.rs"]
mod server;
#[path = "../tests/common/surreal.rs"]
mod surreal;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Client;
use scale_out_client::{corpus_version, describe_collection, write_document};
use serde_json::{Value, json};
use server::{Server, free_port};
use surreal::Surreal;

const PASSWORD: &str = "bench-root-secret";
const COLLECTION: &str = "bench";
const CLIENTS: usize = 8;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let documents = env_usize("SCALE_DOCUMENTS", 60);
    let writes = env_usize("SCALE_WRITES", 60);
    let seconds = env_usize("SCALE_SECONDS", 10) as u64;
    let client = Client::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let surreal = Surreal::start(dir.path(), free_port(), PASSWORD);
    surreal.wait_ready(&client).await;
    let url = surreal.url();
    let remote = [
        ("CRAG_STORAGE_URL", url.as_str()),
        ("CRAG_STORAGE_USERNAME", "root"),
        ("CRAG_STORAGE_PASSWORD", PASSWORD),
    ];
    let pool = common::corpus::section_pool();
    let texts: Vec<String> = (0..documents)
        .map(|n| common::corpus::statute(&pool, n))
        .collect();

    // Ingestion and cold start, embedded against remote (and, given a baseline build in
    // SCALE_BASELINE_BIN, its embedded ingestion: the cost of the change log on one node).
    let baseline = match std::env::var_os("SCALE_BASELINE_BIN") {
        Some(binary) => {
            let server = Server::start_binary(std::path::Path::new(&binary), &[]).await;
            let ingested = ingest(&client, &server, &texts).await;
            println!("baseline embedded: {ingested}");
            ingested
        }
        None => Value::Null,
    };
    let mut embedded = Server::start().await;
    let embedded_ingest = ingest(&client, &embedded, &texts).await;
    let embedded_restart = embedded.restart().await;
    println!("embedded: {embedded_ingest}, restart {embedded_restart:.1?}");
    drop(embedded);
    let mut first = Server::start_with(&remote).await;
    let remote_ingest = ingest(&client, &first, &texts).await;
    let remote_restart = first.restart().await;
    println!("remote: {remote_ingest}, restart {remote_restart:.1?}");

    // Replication lag under a steady write load.
    let second = Server::start_with(&remote).await;
    let lags = replication_lags(&client, &first, &second, writes).await;
    println!("replication lag: {}", common::summary(lags.clone()));

    // Search throughput with 1, 2 and 3 servers.
    let third = Server::start_with(&remote).await;
    let servers = [&first, &second, &third];
    let mut throughput = Vec::new();
    for count in 1..=3 {
        let qps = search_throughput(&client, &servers[..count], Duration::from_secs(seconds)).await;
        println!("{count} server(s): {qps:.1} searches/s");
        throughput.push(json!({ "servers": count, "searches_per_s": qps }));
    }
    let mut sorted = lags;
    sorted.sort_by(f64::total_cmp);
    common::write_results(
        "scale_out",
        &json!({
            "cores": std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
            "documents": documents,
            "ingest": {
                "embedded": embedded_ingest,
                "remote": remote_ingest,
                "embedded_baseline": baseline,
            },
            "cold_start_s": {
                "embedded": embedded_restart.as_secs_f64(),
                "remote": remote_restart.as_secs_f64(),
            },
            "replication_lag_ms": {
                "p50": common::percentile(&sorted, 0.5),
                "p99": common::percentile(&sorted, 0.99),
                "max": sorted.last(),
                "writes": sorted.len(),
            },
            "search_throughput": throughput,
        }),
    );
}

/// Creates the collection on `server` and writes `texts` through it, four at a time; the
/// documents and chunks per second.
async fn ingest(client: &Client, server: &Server, texts: &[String]) -> Value {
    let response = client
        .post(server.url("/v1/collections"))
        .json(&json!({ "name": COLLECTION, "language": "swedish" }))
        .send()
        .await
        .expect("create collection");
    assert!(response.status().is_success(), "{}", response.status());
    let started = Instant::now();
    let next = AtomicU64::new(0);
    let writers = (0..4).map(|_| async {
        loop {
            let n = next.fetch_add(1, Ordering::Relaxed) as usize;
            let Some(text) = texts.get(n) else { break };
            write(client, server, &format!("doc-{n}"), text).await;
        }
    });
    futures::future::join_all(writers).await;
    let elapsed = started.elapsed().as_secs_f64();
    let collection = describe_collection(client, &server.url(""), COLLECTION).await;
    let chunks = collection["chunk_count"].as_f64().unwrap_or(0.0);
    json!({
        "documents_per_s": texts.len() as f64 / elapsed,
        "chunks_per_s": chunks / elapsed,
        "seconds": elapsed,
    })
}

/// Writes one document through `server`; the corpus version that includes it (`None` from
/// a baseline build that has none).
async fn write(client: &Client, server: &Server, external_id: &str, text: &str) -> Option<u64> {
    let document = json!({ "external_id": external_id, "text": text });
    let response = write_document(client, &server.url(""), COLLECTION, &document).await;
    corpus_version(&response)
}

/// Writes `writes` documents through `writer`, five a second; for each, the milliseconds
/// from its acknowledgement until `reader` reports a version that includes it (watched every
/// 2 ms through a cheap route).
async fn replication_lags(
    client: &Client,
    writer: &Server,
    reader: &Server,
    writes: usize,
) -> Vec<f64> {
    let mut lags = Vec::with_capacity(writes);
    let pool = common::corpus::section_pool();
    for n in 0..writes {
        let text = common::corpus::statute(&pool, 10_000 + n);
        let version = write(client, writer, &format!("lag-{n}"), &text)
            .await
            .expect("X-Corpus-Version on a write");
        let acknowledged = Instant::now();
        loop {
            let response = client
                .get(reader.url(&format!("/v1/collections/{COLLECTION}")))
                .send()
                .await
                .expect("read");
            if corpus_version(&response).expect("X-Corpus-Version") >= version {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        lags.push(acknowledged.elapsed().as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    lags
}

/// Hybrid searches per second from [`CLIENTS`] closed-loop clients spread over `servers`.
async fn search_throughput(client: &Client, servers: &[&Server], duration: Duration) -> f64 {
    let questions = common::corpus::questions(64);
    let stop = Arc::new(AtomicBool::new(false));
    let done = AtomicU64::new(0);
    let clients = (0..CLIENTS).map(|i| {
        let (server, stop, questions, done) =
            (servers[i % servers.len()], &stop, &questions, &done);
        async move {
            let mut n = i;
            while !stop.load(Ordering::Relaxed) {
                let response = client
                    .post(server.url("/v1/search"))
                    .json(&json!({
                        "query": questions[n % questions.len()],
                        "collections": [COLLECTION],
                        "limit": 10,
                    }))
                    .send()
                    .await
                    .expect("search");
                assert!(response.status().is_success(), "{}", response.status());
                done.fetch_add(1, Ordering::Relaxed);
                n += CLIENTS;
            }
        }
    });
    let started = Instant::now();
    let timer = {
        let stop = stop.clone();
        async move {
            tokio::time::sleep(duration).await;
            stop.store(true, Ordering::Relaxed);
        }
    };
    futures::join!(futures::future::join_all(clients), timer);
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}
