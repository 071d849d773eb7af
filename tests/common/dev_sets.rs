//! A development set (`constitutional_rag::eval::dev_run`) run against a real server over
//! HTTP: the backend of `tests/legal_dev_eval.rs` and `tests/swedish_dev_eval.rs`.

use constitutional_rag::error::AppResult;
use constitutional_rag::eval::dev_run::{AnswerObservation, DEPTH, DevBackend};
use constitutional_rag::eval::dev_set::DevDocument;
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
