//! The answer pipeline behind the old system's routes and behind chat completions with
//! `model: "rag"`.

mod common;

use common::{TestServer, expect_json, expect_problem, sse, statutes};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn server() -> TestServer {
    let server = TestServer::start().await;
    statutes::load(&server).await;
    server
}

#[tokio::test]
async fn the_old_query_route_answers_with_the_old_field_names() {
    let server = server().await;
    let body =
        json!({"question": "Vad säger RF 2 kap. 1 § om yttrandefrihet?", "mode": "evidence"});
    let answer = expect_json(
        server.post("/api/constitutional/agent/query", &body).await,
        StatusCode::OK,
    )
    .await;
    for field in [
        "answer",
        "sources",
        "mode",
        "saknas_underlag",
        "evidence_level",
        "citations",
        "intent",
        "routing",
    ] {
        assert!(answer.get(field).is_some(), "{field} missing: {answer}");
    }
    assert_eq!(answer["mode"], "evidence");
    assert_eq!(answer["saknas_underlag"], false);
    let source = &answer["sources"][0];
    for field in ["title", "snippet", "score", "doc_type", "source"] {
        assert!(source.get(field).is_some(), "{field} missing: {source}");
    }
    assert_eq!(source["doc_type"], "sfs");
    assert!(answer["processing_time_ms"].as_f64().unwrap() > 0.0);

    let refused = expect_json(
        server
            .post(
                "/api/constitutional/agent/query",
                &json!({"question": "Vem vann valet 2030?"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(refused["saknas_underlag"], true);
    assert_eq!(refused["sources"], json!([]));

    let bad = server
        .post("/api/constitutional/agent/query", &json!({"question": ""}))
        .await;
    expect_problem(bad, StatusCode::BAD_REQUEST, "empty_question").await;
}

#[tokio::test]
async fn the_old_stream_route_sends_typed_data_events() {
    let server = server().await;
    let body = json!({"question": "Vad säger RF 2 kap. 1 § om yttrandefrihet?"});
    let response = server
        .post("/api/constitutional/agent/query/stream", &body)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("event:"),
        "old clients read only data lines: {text}"
    );
    let events = sse::parse(&text);
    let types: Vec<&str> = events
        .iter()
        .map(|e| e.data["type"].as_str().unwrap())
        .collect();
    let metadata = types
        .iter()
        .position(|t| *t == "metadata")
        .expect("metadata");
    let token = types.iter().position(|t| *t == "token").expect("token");
    assert!(metadata < token, "{types:?}");
    assert_eq!(*types.last().unwrap(), "done", "{types:?}");
    let token = &events[token].data;
    assert_eq!(token["content"], token["text"]);
}

#[tokio::test]
async fn chat_completions_with_the_rag_model_return_references() {
    let server = server().await;
    let body = json!({
        "model": "rag:sfs",
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "Vad säger RF 2 kap. 1 § om yttrandefrihet?"}
        ]
    });
    let whole = expect_json(
        server.post("/v1/chat/completions", &body).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(whole["model"], "rag");
    let content = whole["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(content.contains("yttrandefrihet"), "{whole}");
    let references = whole["references"].as_array().unwrap();
    assert!(!references.is_empty());
    assert!(
        references.iter().all(|r| r["collection"] == "sfs"),
        "{whole}"
    );

    let mut streaming = body.clone();
    streaming["stream"] = json!(true);
    let text = server
        .post("/v1/chat/completions", &streaming)
        .await
        .text()
        .await
        .unwrap();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    let chunks: Vec<Value> = text
        .split("\n\n")
        .filter_map(|block| block.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    let streamed: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(streamed, content);
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        last["references"].as_array().unwrap().len(),
        references.len()
    );

    let unknown = json!({"model": "rag:nope", "messages": [{"role": "user", "content": "Vad?"}]});
    let response = server.post("/v1/chat/completions", &unknown).await;
    expect_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn the_old_operational_routes_report_from_the_same_counters() {
    let server = server().await;
    let health = expect_json(
        server.get("/api/constitutional/health").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(health["status"], "healthy", "{health}");
    for service in ["database", "encoder", "reranker"] {
        assert_eq!(health["services"][service], "healthy", "{health}");
    }

    let collections = expect_json(
        server.get("/api/constitutional/collections").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(collections["total"], 3);
    let sfs = collections["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sfs")
        .unwrap();
    assert_eq!(sfs["documents"], 1);
    assert!(sfs["count"].as_u64().unwrap() >= 5, "{sfs}");

    let before = expect_json(
        server.get("/api/constitutional/metrics").await,
        StatusCode::OK,
    )
    .await;
    for question in [
        "Vad säger RF 2 kap. 1 § om yttrandefrihet?",
        "Vem vann valet 2030?",
    ] {
        let body = json!({"question": question});
        expect_json(
            server.post("/api/constitutional/agent/query", &body).await,
            StatusCode::OK,
        )
        .await;
    }
    let after = expect_json(
        server.get("/api/constitutional/metrics").await,
        StatusCode::OK,
    )
    .await;
    let count = |m: &Value, key: &str| m[key].as_u64().unwrap();
    assert_eq!(
        count(&after, "total_queries"),
        count(&before, "total_queries") + 2,
        "{after}"
    );
    assert_eq!(
        count(&after, "refusals"),
        count(&before, "refusals") + 1,
        "{after}"
    );
    assert_eq!(
        after["queries_by_mode"]["evidence"]["answered"], 1,
        "{after}"
    );
    assert!(after["average_latency_ms"].as_f64().unwrap() > 0.0);

    let text = server
        .get("/api/constitutional/metrics/prometheus")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("crag_answers_total{mode=\"evidence\",outcome=\"answered\"} 1"),
        "{text}"
    );
    assert!(text.contains("crag_answer_stage_duration_seconds_bucket{stage=\"retrieve\""));
}
