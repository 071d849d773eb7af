//! The labelled retrieval set (tests/data/retrieval_eval.json) through the real encoder,
//! indexes and reranker: every mode must find the answering section, and hybrid must not
//! lose to either signal alone.

use std::sync::Arc;

use constitutional_rag::eval::{EvalSet, evaluate, format_table};
use constitutional_rag::service::{Library, SearchMode};

mod common;

#[tokio::test]
async fn labelled_queries_find_their_sections() {
    let set = EvalSet::from_json(include_str!("data/retrieval_eval.json")).unwrap();
    assert!(set.queries.len() >= 40);
    let mut config = common::test_config();
    // Reranking 10 candidates instead of 32 keeps this test's CPU time reasonable; the
    // `eval` subcommand reports the configured depth.
    config.search.rerank_candidates = 10;
    let library = Library::open(Arc::new(config)).await.unwrap();
    let rows = evaluate(&library, &set).await.unwrap();
    eprintln!("{}", format_table(&rows, library.reranker().name()));
    let row = |mode: SearchMode, rerank: bool| {
        rows.iter()
            .find(|r| r.mode == mode && r.rerank == rerank)
            .unwrap()
    };
    let (bm25, dense, hybrid) = (
        row(SearchMode::Bm25, false),
        row(SearchMode::Dense, false),
        row(SearchMode::Hybrid, false),
    );
    // recall@10 is index 2, recall@5 index 1.
    assert!(bm25.recall[2] >= 0.6, "bm25 {bm25:?}");
    assert!(dense.recall[2] >= 0.6, "dense {dense:?}");
    assert!(hybrid.recall[1] >= 0.75, "hybrid {hybrid:?}");
    assert!(
        hybrid.recall[2] >= bm25.recall[2].max(dense.recall[2]) - 0.05,
        "{rows:?}"
    );
    assert!(hybrid.mrr >= bm25.mrr.min(dense.mrr), "{rows:?}");
    for row in &rows {
        assert!(
            row.recall.windows(2).all(|w| w[0] <= w[1]),
            "recall must grow with k: {row:?}"
        );
        assert!((0.0..=1.0).contains(&row.mrr));
    }
}
