//! A development set (`constitutional_rag::eval::dev_run`) run against a real server over
//! HTTP: the backend, the run and the floors of `tests/legal_dev_eval.rs` and
//! `tests/swedish_dev_eval.rs`.

use constitutional_rag::error::AppResult;
use constitutional_rag::eval::dev_report::DevReport;
use constitutional_rag::eval::dev_run::{self, AnswerObservation, DevBackend};
use constitutional_rag::eval::dev_set::{DevDocument, DevSet};
use constitutional_rag::eval::outcome::{DEPTH, SEARCHES};
use constitutional_rag::model::Language;
use constitutional_rag::service::SearchMode;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{TestServer, expect_json};

/// The development set answered over HTTP.
pub struct HttpBackend<'a> {
    pub server: &'a TestServer,
}

impl DevBackend for HttpBackend<'_> {
    async fn ingest(
        &self,
        collection: &str,
        language: Language,
        documents: &[DevDocument],
    ) -> AppResult<()> {
        let language = serde_json::to_value(language).expect("a language");
        self.server
            .create_collection(collection, language.as_str().expect("a name"))
            .await;
        for document in documents {
            let (status, body) = self
                .server
                .upsert(
                    collection,
                    &json!({
                        "external_id": document.entry.external_id,
                        "title": document.entry.title,
                        "source": document.entry.source(),
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

/// The least scores a development set must keep: a regression guard set a little under what
/// the pipeline measured, raised as it improves and never lowered to let a change pass.
pub struct Floors {
    /// hit@5 of the answers' sources over the answerable questions.
    pub answer_hit_at_5: f64,
    /// MRR@10 of the answers' sources.
    pub answer_mrr: f64,
    /// Share of answers that contain the expected quote.
    pub quote_in_answer: f64,
    /// Share of the negatives refused.
    pub refusal_recall: f64,
    /// Most answerable questions refused (a ceiling).
    pub false_refusals: f64,
    /// hit@5 of each search mode without reranking.
    pub search_hit_at_5: [(SearchMode, f64); 3],
    /// hit@5 of each search mode with its candidates reranked.
    pub reranked_hit_at_5: [(SearchMode, f64); 3],
}

/// Runs `set` against a fresh server with an embedding cache file, as deployed (so reranking
/// reads the token vectors ingestion stored): answers, and every search mode with and without
/// reranking. Prints its table.
pub async fn run_every_search(set: &DevSet) -> DevReport {
    let scratch = tempfile::tempdir().unwrap();
    let mut config = super::test_config();
    config.cache.embedding_path = scratch.path().join("embeddings.redb").display().to_string();
    let server = TestServer::start_with(config).await;
    let started = std::time::Instant::now();
    let report = dev_run::run(set, &HttpBackend { server: &server }, &SEARCHES)
        .await
        .unwrap();
    eprintln!(
        "{}\n(run took {:.0} s)",
        report.format_table("maxsim"),
        started.elapsed().as_secs_f64()
    );
    server.stop().await;
    report
}

/// Asserts that `report` holds `floors`, printing the measured values on failure.
pub fn assert_floors(report: &DevReport, floors: &Floors) {
    let positive = report.answer_row("positive").unwrap();
    let sources = positive.sources.unwrap();
    let measured = format!("{positive:?}\n{:?}", report.refusal);
    assert!(sources.hit_at_5 >= floors.answer_hit_at_5, "{measured}");
    assert!(sources.mrr_at_10 >= floors.answer_mrr, "{measured}");
    assert!(
        positive.quote_in_answer.unwrap() >= floors.quote_in_answer,
        "{measured}"
    );
    assert!(report.refusal.recall >= floors.refusal_recall, "{measured}");
    assert!(
        report.refusal.false_refusal_rate <= floors.false_refusals,
        "{measured}"
    );
    for (reranked, mode_floors) in [
        (false, floors.search_hit_at_5),
        (true, floors.reranked_hit_at_5),
    ] {
        for (mode, floor) in mode_floors {
            let row = report.search_row(mode, reranked).unwrap();
            assert!(row.all.hit_at_5 >= floor, "{row:?}");
        }
    }
}
