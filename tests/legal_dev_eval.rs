//! The real-text development set (tests/data/legal_dev) over HTTP: a real server ingests the
//! licence texts that `just setup` installs into .cache/legal-corpus, answers every question in
//! evidence mode and runs every search mode with and without reranking; the scores must not
//! fall below the floors below.
//!
//! The floors sit a little under what the pipeline reached when they were set (the measured
//! values are printed with every run); raise them as the pipeline improves, never lower them
//! to make a change pass.

use std::path::Path;

use constitutional_rag::eval::dev_set::{DevSet, QuestionKind};
use constitutional_rag::service::SearchMode;

mod common;

use common::dev_sets::{Floors, assert_floors, run_every_search};

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

    let report = run_every_search(&set).await;
    assert_floors(&report, &FLOORS);
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
// 0.806 (f32) / 0.809 (bf16), quote in the answer 0.768. With count questions answered only
// by a sentence stating the count ("How many employees does the PSF have?" is refused):
// refusal recall 0.955 (21/22), false refusals 0. With questions after a length of time
// answered only by a sentence stating one (the California statute of limitations is refused):
// refusal recall 1.000 (22/22), false refusals 0 (f32 on an AVX2-only EPYC).
// Reranked rows guarded since the MaxSim reranker reads each chunk under its context header,
// as it was embedded (it read the bare chunk before: hybrid hit@5 0.754, MRR 0.610): hit@5
// bm25 0.855, dense 0.928, hybrid 0.928 (MRR 0.888), from the token vectors ingestion stored.
const FLOORS: Floors = Floors {
    answer_hit_at_5: 0.88,
    answer_mrr: 0.77,
    quote_in_answer: 0.72,
    refusal_recall: 0.97,
    false_refusals: 0.03,
    search_hit_at_5: [
        (SearchMode::Bm25, 0.68),
        (SearchMode::Dense, 0.71),
        (SearchMode::Hybrid, 0.85),
    ],
    reranked_hit_at_5: [
        (SearchMode::Bm25, 0.82),
        (SearchMode::Dense, 0.89),
        (SearchMode::Hybrid, 0.89),
    ],
};
