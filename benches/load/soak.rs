//! The soak (issue 8 item 3): many clients for minutes mixing hybrid search, evidence
//! answers, a small share of assist answers and single-document upserts, while RSS and
//! `/health/ready` are sampled every second. The verdict: no errors besides 429/503
//! back-pressure, readiness 200 throughout, and RSS after the warm-up within 10% of its
//! post-warm-up value.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::client::Api;
use super::ingest::{COLLECTIONS, ingest_corpus};
use super::monitor::{Monitor, Sample};
use super::plots::{Series, lines};
use super::runner::{Bounds, run};
use super::scenarios::{assist, evidence, search, search_query};
use super::server::Server;
use super::stats::{Outcome, Summary};
use super::{env_usize, report};
use crate::common::corpus::{questions, section_pool};

/// Largest allowed RSS deviation from the post-warm-up value.
const RSS_TOLERANCE: f64 = 0.10;

/// Percent of requests of each kind; the rest are assist answers.
const SEARCH_SHARE: u64 = 45;
const EVIDENCE_SHARE: u64 = 35;
const INGEST_SHARE: u64 = 17;

/// Documents the upserts rotate through, so the data stays the same size.
const UPSERT_IDS: usize = 100;

/// What the soak found.
#[derive(Debug, Serialize)]
struct Verdict {
    passed: bool,
    errors: usize,
    backpressure: usize,
    ready_failures: usize,
    rss_baseline_mib: f64,
    rss_min_after_warmup_mib: f64,
    rss_max_after_warmup_mib: f64,
    rss_max_deviation: f64,
    clean_shutdown: bool,
}

/// Runs the soak, writes `bench/results/soak-<date>.json` and `soak-rss.svg`, and exits
/// with status 1 when the verdict fails.
pub async fn main() {
    let seconds = env_usize("SOAK_SECONDS", 120) as u64;
    let clients = env_usize("SOAK_CLIENTS", 64);
    let warmup = env_usize("SOAK_WARMUP_SECONDS", 30) as f64;
    let documents = env_usize("BENCH_DOCS", 2_000);
    let server = Server::start().await;
    let api = Api::new(&server.url(""), Duration::from_secs(120));
    let ingestion =
        ingest_corpus(&server, &api, documents, env_usize("BENCH_BULK_BATCH", 100)).await;
    let rss_before = server.rss_mib();
    println!(
        "soak: {clients} clients for {seconds} s (warm-up {warmup} s), RSS {rss_before:.0} MiB"
    );

    let monitor = Monitor::start(server.pid(), Duration::from_secs(1), Some(api.clone()));
    let bounds = Bounds {
        concurrency: clients,
        max_requests: usize::MAX,
        max_time: Duration::from_secs(seconds),
    };
    let mix = Arc::new(Mix::new());
    let client = api.clone();
    let (outcomes, wall_s) = run(bounds, move |i| {
        let (mix, api) = (mix.clone(), client.clone());
        async move { mix.request(&api, i).await }
    })
    .await;
    let samples = monitor.finish().await;
    let tail = server.log_tail();
    let clean_shutdown = server.stop();

    let overall = Summary::of(&outcomes, wall_s);
    println!("soak overall: {}", overall.line());
    let mut by_kind = BTreeMap::new();
    for kind in ["search", "evidence", "assist", "ingest"] {
        let of_kind: Vec<Outcome> = outcomes
            .iter()
            .filter(|o| o.kind == kind)
            .cloned()
            .collect();
        let summary = Summary::of(&of_kind, wall_s);
        println!("  {kind}: {}", summary.line());
        by_kind.insert(kind, summary);
    }
    let verdict = judge(&overall, &samples, warmup, clean_shutdown);
    println!("soak verdict: {verdict:?}");
    if overall.errors > 0 {
        println!("server log tail:\n{tail}");
    }
    let date = report::today();
    let result = json!({
        "date": date, "clients": clients, "seconds": seconds, "warmup_seconds": warmup,
        "corpus": ingestion, "rss_before_mib": rss_before,
        "overall": overall, "by_kind": by_kind, "verdict": verdict, "samples": samples,
    });
    report::write(
        &format!("soak-{date}.json"),
        &serde_json::to_string_pretty(&result).expect("JSON"),
    );
    report::write("soak-rss.svg", &rss_plot(&samples, &verdict, warmup));
    if !verdict.passed {
        std::process::exit(1);
    }
}

/// The request mix: which kind request `i` is, and its body.
struct Mix {
    questions: Vec<String>,
    pool: Vec<Vec<String>>,
}

impl Mix {
    fn new() -> Self {
        Self {
            questions: questions(100),
            pool: section_pool(),
        }
    }

    async fn request(&self, api: &Api, i: usize) -> Outcome {
        let roll = (i as u64).wrapping_mul(2_654_435_761) % 100;
        if roll < SEARCH_SHARE {
            let body = search(&search_query(&self.pool, i % 16_000), 10);
            api.search("search", &body).await.0
        } else if roll < SEARCH_SHARE + EVIDENCE_SHARE {
            api.answer("evidence", &evidence(&self.questions[i % 100]))
                .await
                .0
        } else if roll < SEARCH_SHARE + EVIDENCE_SHARE + INGEST_SHARE {
            let collection = COLLECTIONS[i % COLLECTIONS.len()];
            api.upsert(collection, &self.document(i)).await
        } else {
            let body = assist(&self.questions[i % 100], 16);
            api.answer("assist", &body).await.0
        }
    }

    /// A three-section statute that replaces one of [`UPSERT_IDS`] documents.
    fn document(&self, i: usize) -> Value {
        let sections: Vec<String> = (0..3)
            .map(|s| {
                let variants = &self.pool[(i + s) % self.pool.len()];
                format!(
                    "{} § {}",
                    s + 1,
                    variants[(i / 7 + s * 13) % variants.len()]
                )
            })
            .collect();
        json!({
            "external_id": format!("soak-{}", i % UPSERT_IDS),
            "title": format!("Soak statute {}", i % UPSERT_IDS),
            "text": format!("1 kap. Soak\n\n{}\n", sections.join("\n\n")),
            "metadata": {"soak": true},
        })
    }
}

/// The verdict over the run's summary and samples.
fn judge(overall: &Summary, samples: &[Sample], warmup: f64, clean_shutdown: bool) -> Verdict {
    let ready_failures = samples.iter().filter(|s| s.ready != Some(200)).count();
    let after: Vec<f64> = samples
        .iter()
        .filter(|s| s.t_s >= warmup)
        .map(|s| s.rss_mib)
        .collect();
    let baseline = after.first().copied().unwrap_or(f64::NAN);
    let min = after.iter().copied().fold(f64::INFINITY, f64::min);
    let max = after.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let deviation = ((max - baseline) / baseline).max((baseline - min) / baseline);
    Verdict {
        passed: overall.errors == 0
            && ready_failures == 0
            && deviation <= RSS_TOLERANCE
            && clean_shutdown,
        errors: overall.errors,
        backpressure: overall.backpressure,
        ready_failures,
        rss_baseline_mib: baseline,
        rss_min_after_warmup_mib: min,
        rss_max_after_warmup_mib: max,
        rss_max_deviation: deviation,
        clean_shutdown,
    }
}

/// RSS over time with the ±10% band around the post-warm-up value.
fn rss_plot(samples: &[Sample], verdict: &Verdict, warmup: f64) -> String {
    let end = samples.last().map_or(warmup, |s| s.t_s);
    let band = |name: &str, factor: f64| Series {
        name: name.to_string(),
        points: vec![
            (warmup, verdict.rss_baseline_mib * factor),
            (end, verdict.rss_baseline_mib * factor),
        ],
    };
    lines(
        "Server RSS during the soak",
        "seconds",
        "RSS (MiB)",
        &[Series {
            name: "RSS".into(),
            points: samples.iter().map(|s| (s.t_s, s.rss_mib)).collect(),
        }],
        &[
            band("+10%", 1.0 + RSS_TOLERANCE),
            band("post-warm-up", 1.0),
            band("-10%", 1.0 - RSS_TOLERANCE),
        ],
        false,
    )
}
