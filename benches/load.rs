//! Loopback load generator (issue 7 item 8) and soak (issue 8 item 3) against the real
//! release server, run as a child process over HTTP.
//!
//! `cargo bench --bench load` ingests a generated corpus through the bulk NDJSON route and
//! runs bounded scenarios (answers at concurrency 1 and 10, one question 100 times, a
//! 100-hit search, a 20-message conversation, assist answers, hybrid search at concurrency
//! 1/10/50), then writes `bench/results/<date>.json` and `load-*.svg`.
//!
//! `cargo bench --bench load -- soak` runs the soak (`SOAK_CLIENTS`, default 64, for
//! `SOAK_SECONDS`, default 120), writes `bench/results/soak-<date>.json` and `soak-rss.svg`,
//! and exits non-zero when its verdict fails.

mod common;
#[path = "load/mod.rs"]
mod load;

#[tokio::main]
async fn main() {
    if std::env::args().skip(1).any(|arg| arg == "soak") {
        load::soak::main().await;
    } else {
        load::suite::main().await;
    }
}
