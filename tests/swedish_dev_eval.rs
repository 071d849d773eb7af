//! The Swedish development set (tests/data/swedish_dev) over HTTP: eight acts written in-house
//! in the style of SFS statute text (not real statutes), ingested into a Swedish collection by
//! a real server; Swedish and English questions answered in evidence mode, every search mode
//! run with and without reranking; the scores must not fall below the floors below.
//!
//! The floors sit a little under what the pipeline reached with the default encoder when they
//! were set (the measured values are printed with every run): a regression guard, not a
//! target. Raise them as Swedish retrieval improves, never lower them to make a change pass.

use std::path::Path;

use constitutional_rag::eval::dev_set::{DevSet, QuestionKind, TextLanguage};
use constitutional_rag::service::SearchMode;

mod common;

use common::dev_sets::{Floors, assert_floors, run_every_search};

#[tokio::test]
async fn swedish_development_set_holds_its_floors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let set = DevSet::load(
        &root.join("tests/data/swedish_dev"),
        &root.join(".cache/legal-corpus"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.language, TextLanguage::Swedish);
    assert!(set.documents.len() >= 8);
    let sections: usize = set
        .documents
        .iter()
        .map(|d| d.text.lines().filter(|l| is_section_start(l)).count())
        .sum();
    assert!(sections >= 150, "{sections} sections");
    let asked_in = |language| {
        set.questions
            .iter()
            .filter(|q| q.language == Some(language))
            .count()
    };
    assert!(asked_in(TextLanguage::Swedish) >= 60);
    assert!(asked_in(TextLanguage::English) >= 20);
    assert!(set.of_kind(QuestionKind::Negative).count() >= 12);
    for kind in [
        QuestionKind::Lookup,
        QuestionKind::Paraphrase,
        QuestionKind::CrossReference,
    ] {
        assert!(set.of_kind(kind).count() >= 15, "too few {kind} questions");
    }

    let report = run_every_search(&set).await;
    assert_floors(&report, &FLOORS);
    for (row, floor) in [
        ("sv positive", FLOOR_SWEDISH_ANSWER_HIT_AT_5),
        ("en positive", FLOOR_ENGLISH_ANSWER_HIT_AT_5),
    ] {
        let sources = report.answer_row(row).and_then(|row| row.sources).unwrap();
        assert!(sources.hit_at_5 >= floor, "{row}: {sources:?}");
    }
}

/// A line that opens a section: `12 §   Text` or `2 a §   Text`.
fn is_section_start(line: &str) -> bool {
    let Some((head, _)) = line.split_once(" §   ") else {
        return false;
    };
    let mut words = head.split(' ');
    let number = words.next().is_some_and(|n| n.parse::<u32>().is_ok());
    let letter = words
        .next()
        .is_none_or(|l| l.len() == 1 && l.chars().all(|c| c.is_ascii_lowercase()));
    number && letter && words.next().is_none()
}

// Measured with all-MiniLM-L6-v2 (the default encoder when the set was written; it has no
// Swedish training and BM25 does not split compounds yet). On svset cf827ca: answer sources
// hit@5 0.595, MRR@10 0.503, quote in the answer 0.500 (Swedish questions alone: hit@5
// 0.714); refusal recall 0.722 (13/18), false refusals 0.203 (15/74); search hit@5 without
// rerank: bm25 0.473, dense 0.365, hybrid 0.473. With Swedish titles resolving
// (`lagen om …`), cited rulings and papers unheld (`NJA 2019 s. 512`) and transitional
// provisions as their own division (svfix): answer sources hit@5 0.608, MRR@10 0.520, quote
// in the answer 0.527 (Swedish questions: hit@5 0.732); refusal recall 0.833 (15/18), false
// refusals 0.203 (15/74: 14 of them English lookups and paraphrases refused as "no source is
// relevant enough"); search hit@5 without rerank: bm25 0.459, dense 0.365, hybrid 0.486. With
// Swedish compounds split in BM25 (decomp): answers unchanged, search hit@5 bm25 0.500, hybrid
// 0.514.
// With multilingual-e5-small for Swedish collections, passages in another language than the
// question judged by meaning alone on e5's scale across languages, and quotes chosen by
// meaning when no sentence shares the question's words (2026-12-03): answer sources hit@5
// 0.770, MRR@10 0.686, quote in the answer 0.662 (Swedish questions: hit@5 0.821; English
// questions: 0.611, from 0.278 when they were refused as "no source is relevant enough");
// refusal recall 0.833 (15/18), false refusals 0 (from 15/74); search hit@5: bm25 0.500,
// dense 0.662, hybrid 0.635. With count questions answered only by a sentence stating the
// count: refusal recall 0.944 (17/18), false refusals 0.
// Reranked rows guarded since the MaxSim reranker (all-MiniLM-L6-v2) reads each chunk under
// its context header (bare chunks before: hybrid hit@5 0.554, MRR 0.416): hit@5 bm25 0.554,
// dense 0.608, hybrid 0.595 (MRR 0.455) — still below hybrid without it on this set.
const FLOORS: Floors = Floors {
    answer_hit_at_5: 0.74,
    answer_mrr: 0.65,
    quote_in_answer: 0.62,
    refusal_recall: 0.90,
    false_refusals: 0.03,
    search_hit_at_5: [
        (SearchMode::Bm25, 0.48),
        (SearchMode::Dense, 0.62),
        (SearchMode::Hybrid, 0.60),
    ],
    reranked_hit_at_5: [
        (SearchMode::Bm25, 0.52),
        (SearchMode::Dense, 0.57),
        (SearchMode::Hybrid, 0.56),
    ],
};
const FLOOR_SWEDISH_ANSWER_HIT_AT_5: f64 = 0.78;
const FLOOR_ENGLISH_ANSWER_HIT_AT_5: f64 = 0.55;
