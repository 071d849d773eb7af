//! The load suite: start the release server, ingest the corpus over HTTP, run every
//! scenario, and write `bench/results/<date>.json` with the plots.

use std::time::Duration;

use serde_json::json;

use super::client::Api;
use super::ingest::ingest_corpus;
use super::scenarios::run_all;
use super::server::Server;
use super::{env_usize, report};

/// Runs the suite. `BENCH_DOCS` (default 2,000 statutes of 20 sections), `BENCH_BULK_BATCH`
/// (documents per bulk request, default 100) and `BENCH_ASSIST_ANSWERS` (default 3; 0 skips
/// assist) size it.
pub async fn main() {
    let documents = env_usize("BENCH_DOCS", 2_000);
    let batch = env_usize("BENCH_BULK_BATCH", 100);
    let assist_answers = env_usize("BENCH_ASSIST_ANSWERS", 3);
    let server = Server::start().await;
    let startup_rss = server.rss_mib();
    let api = Api::new(&server.url(""), Duration::from_secs(120));
    let ingestion = ingest_corpus(&server, &api, documents, batch).await;
    let corpus_rss = server.rss_mib();
    let scenarios = run_all(&server, &api, assist_answers).await;
    let clean_shutdown = server.stop();
    let date = report::today();
    let result = json!({
        "date": date,
        "machine": machine(),
        "corpus": {"documents": documents, "collections": super::ingest::COLLECTIONS},
        "rss_mib": {"after_start": startup_rss, "after_ingestion": corpus_rss},
        "ingestion": ingestion,
        "scenarios": scenarios,
        "clean_shutdown": clean_shutdown,
    });
    report::write(
        &format!("{date}.json"),
        &serde_json::to_string_pretty(&result).expect("JSON"),
    );
    report::write_plots(&scenarios);
}

/// CPU model and count, for reading the numbers later.
fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string());
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    json!({"cpu": model, "cpus": cpus})
}
