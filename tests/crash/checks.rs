//! What must hold after a kill: in the data directory itself (read while no server runs)
//! and through a restarted server's API.

use std::collections::{BTreeMap, BTreeSet};

use constitutional_rag::config::Config;
use constitutional_rag::inference::LoadOptions;
use constitutional_rag::inference::encoder::SentenceEncoder;
use constitutional_rag::inference::tokenizer::TextTokenizer;
use constitutional_rag::model::Chunk;
use constitutional_rag::service::chunking::chunk_for_encoder;
use reqwest::Client;
use serde_json::{Value, json};

use super::store::{Snapshot, StoredChunk};
use super::workload::{Model, marker_of, title_of};
use super::{COLLECTION, Rng};

/// Dimension of the sentence encoder's vectors.
const DIMENSION: usize = 384;
/// Longest query sent (the server's default limit is 2000 characters).
const MAX_QUERY_CHARS: usize = 1500;

/// The chunking the server applies with its default configuration and encoder to a
/// document titled `title`.
fn server_chunking(text: &str, title: &str) -> Vec<Chunk> {
    static TOKENIZER: std::sync::LazyLock<TextTokenizer> = std::sync::LazyLock::new(|| {
        let config = Config::default();
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/models"))
            .join(&config.models.embedding);
        let info = SentenceEncoder::describe(&dir, &LoadOptions::default())
            .unwrap_or_else(|e| panic!("the default encoder in {}: {e}", dir.display()));
        TextTokenizer::load(&dir, info.max_length).expect("the default encoder's tokenizer")
    });
    chunk_for_encoder(text, title, &Config::default().ingest, &TOKENIZER)
}

/// What a store check found.
#[derive(Debug, Default)]
pub struct StoreReport {
    /// Chunks stored.
    pub chunks: usize,
    /// Unanswered writes the store kept.
    pub kept: usize,
    /// Unanswered writes the store does not show (it holds the previous state).
    pub lost: usize,
}

/// Checks the store against the model and settles the model on what was found: no orphan
/// chunk; every document holds exactly the chunks (text, offsets, embedding) of its text;
/// every acknowledged write is there, and every other document is one whole version that
/// an unanswered write may have stored.
pub fn check_store(snapshot: &Snapshot, model: &mut Model) -> StoreReport {
    let documents: BTreeMap<&str, _> = snapshot
        .documents
        .iter()
        .map(|document| (document.id.as_str(), document))
        .collect();
    let mut chunks: BTreeMap<&str, Vec<&StoredChunk>> = BTreeMap::new();
    for chunk in &snapshot.chunks {
        assert!(
            documents.contains_key(chunk.document.as_str()),
            "orphan chunk {} of missing document {}",
            chunk.position,
            chunk.document
        );
        chunks.entry(&chunk.document).or_default().push(chunk);
    }
    let mut found: BTreeMap<String, (String, String)> = BTreeMap::new();
    for document in &snapshot.documents {
        assert_eq!(document.collection, COLLECTION);
        let stored = chunks.remove(document.id.as_str()).unwrap_or_default();
        let title = title_of(
            document
                .external_id
                .as_deref()
                .expect("workload external id"),
        );
        let expected = server_chunking(&document.content, &title);
        assert_eq!(
            stored.len(),
            expected.len(),
            "document {} holds {} chunks, its text makes {}",
            document.id,
            stored.len(),
            expected.len()
        );
        assert_eq!(document.chunk_count as usize, expected.len());
        for (chunk, want) in stored.iter().zip(&expected) {
            assert_eq!(chunk.position as usize, want.position, "{}", document.id);
            assert_eq!(chunk.text, want.text, "{}", document.id);
            assert_eq!(
                (chunk.char_start, chunk.char_end),
                (want.char_start as u64, want.char_end as u64)
            );
            let dimension = chunk.embedding.as_ref().map_or(0, Vec::len);
            assert_eq!(dimension, DIMENSION, "chunk embedding of {}", document.id);
        }
        let external_id = document.external_id.clone().expect("external id");
        let previous = found.insert(
            external_id.clone(),
            (document.id.clone(), document.content.clone()),
        );
        assert!(
            previous.is_none(),
            "two documents with external id {external_id}"
        );
    }
    let mut report = StoreReport {
        chunks: snapshot.chunks.len(),
        ..StoreReport::default()
    };
    let known: BTreeSet<String> = model.entries.keys().cloned().collect();
    for external_id in found.keys() {
        assert!(
            known.contains(external_id),
            "document {external_id} was never written"
        );
    }
    for external_id in known {
        let stored = found.remove(&external_id);
        let allowed = &model.entries[&external_id].allowed;
        let text = stored.as_ref().map(|(_, text)| text.clone());
        assert!(
            allowed.contains(&text),
            "{external_id}: the store holds {:?}, acknowledged/possible: {:?}",
            text.as_deref().map(marker_of),
            allowed
                .iter()
                .map(|t| t.as_deref().map(marker_of))
                .collect::<Vec<_>>()
        );
        if allowed.len() > 1 {
            if allowed.last() == Some(&text) {
                report.kept += 1;
            } else {
                report.lost += 1;
            }
        }
        model.observe(&external_id, stored);
    }
    report
}

/// Checks a restarted server: the collection's counts, and for `sample` documents their
/// text and chunk listing, BM25 on their marker word and dense search on their first chunk.
pub async fn check_server(
    client: &Client,
    base: &str,
    model: &Model,
    chunk_total: usize,
    rng: &mut Rng,
    sample: usize,
) {
    let collection = get(client, &format!("{base}/v1/collections/{COLLECTION}")).await;
    assert_eq!(collection["document_count"], model.entries.len());
    assert_eq!(collection["chunk_count"], chunk_total);
    let entries: Vec<_> = model.entries.iter().collect();
    for _ in 0..sample.min(entries.len()) {
        let (external_id, entry) = entries[rng.index(entries.len())];
        let id = entry.id.as_deref().expect("observed id");
        let text = entry.settled_text().expect("observed text");
        let url = format!("{base}/v1/collections/{COLLECTION}/documents/{id}");
        let document = get(client, &format!("{url}?include_content=true")).await;
        assert_eq!(document["content"], text, "{external_id}");
        let listing = get(client, &format!("{url}/chunks")).await;
        let listed: Vec<&str> = listing["chunks"]
            .as_array()
            .expect("chunks")
            .iter()
            .map(|c| c["text"].as_str().expect("chunk text"))
            .collect();
        let expected = server_chunking(text, &title_of(external_id));
        let expected: Vec<&str> = expected.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(listed, expected, "chunk listing of {external_id}");

        let hits = search(client, base, "bm25", marker_of(text)).await;
        assert!(!hits.is_empty(), "BM25 does not find {external_id}");
        for hit in &hits {
            assert_eq!(hit["document_id"], id, "BM25 on {external_id}'s marker");
            let chunk = hit["text"].as_str().expect("hit text");
            assert!(listed.contains(&chunk), "BM25 returns a stale chunk");
        }
        let query: String = listed[0].chars().take(MAX_QUERY_CHARS).collect();
        let hits = search(client, base, "dense", &query).await;
        assert!(
            hits.iter().any(|hit| hit["document_id"] == id),
            "dense search on its first chunk does not find {external_id}"
        );
    }
}

/// The embeddings of `texts` from `/v1/embeddings`.
pub async fn embed(client: &Client, base: &str, texts: &[String]) -> Vec<Vec<f32>> {
    let response = client
        .post(format!("{base}/v1/embeddings"))
        .json(&json!({ "input": texts }))
        .send()
        .await
        .expect("embeddings");
    assert!(response.status().is_success(), "embeddings");
    let body: Value = response.json().await.expect("embeddings body");
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|item| serde_json::from_value(item["embedding"].clone()).expect("vector"))
        .collect()
}

/// The embedding cache's disk hits so far, from `/metrics`.
pub async fn disk_hits(client: &Client, base: &str) -> u64 {
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("crag_embedding_cache_hits_total{level=\"disk\"} "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .expect("disk hits sample") as u64
}

async fn search(client: &Client, base: &str, mode: &str, query: &str) -> Vec<Value> {
    let response = client
        .post(format!("{base}/v1/search"))
        .json(&json!({
            "query": query, "collections": [COLLECTION], "mode": mode, "limit": 10,
        }))
        .send()
        .await
        .expect("search");
    assert!(response.status().is_success(), "{mode} search");
    let body: Value = response.json().await.expect("search body");
    body["hits"].as_array().expect("hits").clone()
}

async fn get(client: &Client, url: &str) -> Value {
    let response = client.get(url).send().await.expect("GET");
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response.json().await.expect("JSON")
}
