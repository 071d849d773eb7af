//! Where results go (`bench/results/`), and the load suite's plots.

use std::path::PathBuf;

use super::plots::{Series, grouped_bars, lines, stacked_bars};
use super::scenarios::{SEARCH_CONCURRENCY, ScenarioResult};
use super::svg::label;

/// `bench/results/` of this package, created when missing.
pub fn results_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/results");
    std::fs::create_dir_all(&dir).expect("results dir");
    dir
}

/// Today's UTC date, `YYYY-MM-DD`.
pub fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// Writes `contents` to `bench/results/<name>` and says so.
pub fn write(name: &str, contents: &str) {
    let path = results_dir().join(name);
    std::fs::write(&path, contents).expect("write result");
    println!("wrote {}", path.display());
}

/// Writes the suite's three plots: `load-latency.svg`, `load-stages.svg` and
/// `load-throughput.svg`.
pub fn write_plots(results: &[ScenarioResult]) {
    let names: Vec<String> = results.iter().map(|r| r.name.clone()).collect();
    let percentile =
        |name: &str, pick: fn(&ScenarioResult) -> f64| Series::bars(name, results.iter().map(pick));
    let latency = grouped_bars(
        "Latency per scenario (successful requests)",
        "milliseconds (log scale)",
        &names,
        &[
            percentile("p50", |r| r.summary.latency.p50_ms),
            percentile("p95", |r| r.summary.latency.p95_ms),
            percentile("p99", |r| r.summary.latency.p99_ms),
        ],
        true,
    );
    write("load-latency.svg", &latency);

    let answers: Vec<&ScenarioResult> = results
        .iter()
        .filter(|r| !r.summary.stages_mean_ms.is_empty())
        .collect();
    let mut stages: Vec<String> = answers
        .iter()
        .flat_map(|r| r.summary.stages_mean_ms.keys().cloned())
        .filter(|stage| stage != "total")
        .collect();
    stages.sort();
    stages.dedup();
    // Each bar shows the stages' shares of the scenario's mean answer time (its label).
    let share = |r: &ScenarioResult, stage: &str| {
        let stages = &r.summary.stages_mean_ms;
        let sum: f64 = stages
            .iter()
            .filter(|(s, _)| *s != "total")
            .map(|(_, ms)| ms)
            .sum();
        100.0 * stages.get(stage).copied().unwrap_or(0.0) / sum.max(1e-9)
    };
    let parts: Vec<Series> = stages
        .iter()
        .map(|stage| Series::bars(stage, answers.iter().map(|r| share(r, stage))))
        .collect();
    let categories: Vec<String> = answers.iter().map(|r| r.name.clone()).collect();
    let labels: Vec<String> = answers
        .iter()
        .map(|r| {
            format!(
                "{} ms",
                label(
                    r.summary
                        .stages_mean_ms
                        .get("total")
                        .copied()
                        .unwrap_or(0.0)
                )
            )
        })
        .collect();
    let breakdown = stacked_bars(
        "Share of answer time per stage (Server-Timing; mean total above each bar)",
        "percent of the stages' time",
        &categories,
        &parts,
        &labels,
    );
    write("load-stages.svg", &breakdown);

    let point = |name: &str| {
        results
            .iter()
            .find(|r| r.name == name)
            .map(|r| (r.concurrency as f64, r.summary.throughput_rps))
    };
    let search: Vec<(f64, f64)> = SEARCH_CONCURRENCY
        .iter()
        .filter_map(|c| point(&format!("search_hybrid_c{c}")))
        .collect();
    let evidence: Vec<(f64, f64)> = ["single_query", "concurrent_10"]
        .into_iter()
        .filter_map(point)
        .collect();
    let throughput = lines(
        "Throughput against concurrency",
        "concurrent clients (log scale)",
        "successful requests per second",
        &[
            Series {
                name: "hybrid search".into(),
                points: search,
            },
            Series {
                name: "evidence answers".into(),
                points: evidence,
            },
        ],
        &[],
        true,
    );
    write("load-throughput.svg", &throughput);
}
