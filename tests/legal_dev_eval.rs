//! The real-text development set (tests/data/legal_dev) over HTTP: a real server ingests the
//! licence texts that `just setup` installs into .cache/legal-corpus, answers every question in
//! evidence mode and runs every search mode without reranking (the reranked rows, which no
//! floor guards and which cost most of the time, come from `constitutional-rag eval`); the
//! scores must not fall below the floors below.
//!
//! The floors sit a little under what the pipeline reached when they were set (the measured
//! values are printed with every run); raise them as the pipeline improves, never lower them
//! to make a change pass.

use std::path::Path;

use constitutional_rag::eval::dev_report::DevReport;
use constitutional_rag::eval::dev_run::{self, SEARCHES};
use constitutional_rag::eval::dev_set::{DevSet, QuestionKind};
use constitutional_rag::service::SearchMode;

mod common;

use common::TestServer;
use common::dev_sets::HttpBackend;

#[tokio::test]
async fn development_set_holds_its_floors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let set = DevSet::load(
        &root.join("tests/data/legal_dev"),
        &root.join(".cache/legal-corpus"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(set.questions.len() >= 80);
    for (kind, least) in [
        (QuestionKind::Lookup, 25),
        (QuestionKind::Paraphrase, 25),
        (QuestionKind::CrossDocument, 12),
        (QuestionKind::Negative, 18),
    ] {
        assert!(
            set.of_kind(kind).count() >= least,
            "too few {kind} questions"
        );
    }

    let server = TestServer::start().await;
    let started = std::time::Instant::now();
    let plain: Vec<_> = SEARCHES
        .into_iter()
        .filter(|&(_, rerank)| !rerank)
        .collect();
    let report = dev_run::run(&set, &HttpBackend { server: &server }, &plain)
        .await
        .unwrap();
    eprintln!(
        "{}\n(run took {:.0} s)",
        report.format_table("none"),
        started.elapsed().as_secs_f64()
    );
    server.stop().await;
    assert_floors(&report);
}

/// Floors a little below the values measured when they were set (see the module doc).
fn assert_floors(report: &DevReport) {
    let positive = report.answer_row("positive").unwrap();
    let sources = positive.sources.unwrap();
    let measured = format!("{positive:?}\n{:?}", report.refusal);
    assert!(sources.hit_at_5 >= FLOOR_ANSWER_HIT_AT_5, "{measured}");
    assert!(sources.mrr_at_10 >= FLOOR_ANSWER_MRR, "{measured}");
    assert!(
        positive.quote_in_answer.unwrap() >= FLOOR_QUOTE_IN_ANSWER,
        "{measured}"
    );
    assert!(report.refusal.recall >= FLOOR_REFUSAL_RECALL, "{measured}");
    assert!(
        report.refusal.false_refusal_rate <= CEILING_FALSE_REFUSALS,
        "{measured}"
    );
    for (mode, floor) in [
        (SearchMode::Bm25, FLOOR_BM25_HIT_AT_5),
        (SearchMode::Dense, FLOOR_DENSE_HIT_AT_5),
        (SearchMode::Hybrid, FLOOR_HYBRID_HIT_AT_5),
    ] {
        let row = report.search_row(mode, false).unwrap();
        assert!(row.all.hit_at_5 >= floor, "{row:?}");
    }
}

// Measured on main 78ba053 (the "before"): answer sources hit@5 0.681, MRR@10 0.594,
// quote in the answer 0.203; refusal recall 0.409 (9/22), false refusals 0.159 (11/69);
// search hit@5 without rerank: bm25 0.725, dense 0.812, hybrid 0.899.
//
// Raised with the issue-15 pipeline (whole-section chunks with a context header, structural
// references, sentence quotes, no MaxSim rerank or CRAG by default, six chunks a document):
// answer sources hit@5 0.899, MRR@10 0.794, quote in the answer 0.754; refusal recall 0.909
// (20/22), false refusals 0 of 69; search hit@5 bm25 0.710, dense 0.739, hybrid 0.884. Dense
// search alone lost ground with whole-section chunks (0.812 → 0.739, MRR 0.682 → 0.705) while
// every answer score rose; 128-token chunks would keep it at 0.812 but lower the answer's
// hit@5 to 0.870 and MRR to 0.735, so the dense floor follows the chunks that were kept.
// With named documents kept ahead of look-alike clauses of others: answer hit@5 0.913, MRR
// 0.806 (f32) / 0.809 (bf16), quote in the answer 0.768.
const FLOOR_ANSWER_HIT_AT_5: f64 = 0.88;
const FLOOR_ANSWER_MRR: f64 = 0.77;
const FLOOR_QUOTE_IN_ANSWER: f64 = 0.72;
const FLOOR_REFUSAL_RECALL: f64 = 0.86;
const CEILING_FALSE_REFUSALS: f64 = 0.03;
const FLOOR_BM25_HIT_AT_5: f64 = 0.68;
const FLOOR_DENSE_HIT_AT_5: f64 = 0.71;
const FLOOR_HYBRID_HIT_AT_5: f64 = 0.85;
