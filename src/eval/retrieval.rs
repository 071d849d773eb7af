//! Retrieval evaluation on the synthetic statute set: ingest a labelled corpus, run its queries
//! in every mode with and without reranking, and report recall@k and MRR.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::model::DocumentInput;
use crate::model::{Language, SearchHit};
use crate::service::{Library, SearchMode, SearchRequest};

/// Cut-offs reported as recall@k.
pub const RECALL_AT: [usize; 3] = [1, 5, 10];

/// A labelled evaluation set (see `tests/data/retrieval_eval.json`).
#[derive(Debug, Deserialize)]
pub struct EvalSet {
    /// Collections to create.
    pub collections: Vec<EvalCollection>,
    /// Documents to ingest.
    pub documents: Vec<EvalDocument>,
    /// Queries with the one section that answers each.
    pub queries: Vec<EvalQuery>,
}

/// A collection of the set.
#[derive(Debug, Deserialize)]
pub struct EvalCollection {
    /// Name.
    pub name: String,
    /// Analyzer language.
    pub language: Language,
}

/// A document of the set.
#[derive(Debug, Deserialize)]
pub struct EvalDocument {
    /// Its collection.
    pub collection: String,
    /// Label used by the queries.
    pub external_id: String,
    /// Title.
    pub title: String,
    /// Text.
    pub text: String,
}

/// A query and the section that answers it.
#[derive(Debug, Deserialize)]
pub struct EvalQuery {
    /// Query text.
    pub query: String,
    /// Collection to search.
    pub collection: String,
    /// The answering section.
    pub expected: ExpectedSection,
}

/// A section named by document label and structural path.
#[derive(Debug, Deserialize)]
pub struct ExpectedSection {
    /// The document's `external_id`.
    pub external_id: String,
    /// The chunk's structural path.
    pub path: String,
}

/// Scores of one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct EvalRow {
    /// Retrieval signal.
    pub mode: SearchMode,
    /// Whether candidates were reranked.
    pub rerank: bool,
    /// Recall at each of [`RECALL_AT`].
    pub recall: Vec<f64>,
    /// Mean reciprocal rank of the answering section within the top 10.
    pub mrr: f64,
    /// Median query latency in milliseconds.
    pub p50_ms: f64,
}

impl EvalSet {
    /// Reads a set from JSON.
    pub fn from_json(text: &str) -> AppResult<Self> {
        serde_json::from_str(text).map_err(|e| AppError::invalid("invalid_eval_set", e))
    }
}

/// Ingests `set` into `library` and scores every mode with and without reranking.
pub async fn evaluate(library: &Library, set: &EvalSet) -> AppResult<Vec<EvalRow>> {
    let labels = ingest(library, set).await?;
    let mut rows = Vec::new();
    for rerank in [false, true] {
        for mode in [SearchMode::Bm25, SearchMode::Dense, SearchMode::Hybrid] {
            rows.push(score(library, set, &labels, mode, rerank).await?);
        }
    }
    Ok(rows)
}

/// Creates the collections and documents; returns document id → external id.
async fn ingest(library: &Library, set: &EvalSet) -> AppResult<HashMap<String, String>> {
    for collection in &set.collections {
        library
            .create_collection(&collection.name, "evaluation", collection.language)
            .await?;
    }
    let mut labels = HashMap::new();
    for document in &set.documents {
        let input = DocumentInput {
            external_id: Some(document.external_id.clone()),
            title: Some(document.title.clone()),
            text: document.text.clone(),
            ..DocumentInput::default()
        };
        let (stored, _) = library.upsert_document(&document.collection, input).await?;
        labels.insert(stored.id, document.external_id.clone());
    }
    Ok(labels)
}

async fn score(
    library: &Library,
    set: &EvalSet,
    labels: &HashMap<String, String>,
    mode: SearchMode,
    rerank: bool,
) -> AppResult<EvalRow> {
    let depth = *RECALL_AT.last().expect("cut-offs");
    let mut found_at: Vec<Option<usize>> = Vec::with_capacity(set.queries.len());
    let mut latencies = Vec::with_capacity(set.queries.len());
    for query in &set.queries {
        let request = SearchRequest {
            query: query.query.clone(),
            collections: vec![query.collection.clone()],
            mode: Some(mode),
            limit: Some(depth as u32),
            filter: None,
            rerank,
        };
        let started = Instant::now();
        let (_, hits) = library.search(&request).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        found_at.push(
            hits.iter()
                .position(|hit| answers(hit, labels, &query.expected)),
        );
    }
    Ok(EvalRow {
        mode,
        rerank,
        recall: RECALL_AT
            .iter()
            .map(|&k| super::share_within(&found_at, k))
            .collect(),
        mrr: super::mean_reciprocal_rank(&found_at, depth),
        p50_ms: super::median(&mut latencies),
    })
}

fn answers(hit: &SearchHit, labels: &HashMap<String, String>, expected: &ExpectedSection) -> bool {
    hit.path == expected.path && labels.get(&hit.document_id) == Some(&expected.external_id)
}

/// The rows as an aligned text table.
pub fn format_table(rows: &[EvalRow], reranker: &str) -> String {
    let mut out = format!(
        "{:<8} {:<22} {:>9} {:>9} {:>10} {:>7} {:>9}\n",
        "mode", "rerank", "recall@1", "recall@5", "recall@10", "MRR", "p50 ms"
    );
    for row in rows {
        let rerank = if row.rerank { reranker } else { "-" };
        out.push_str(&format!(
            "{:<8} {:<22} {:>9.3} {:>9.3} {:>10.3} {:>7.3} {:>9.1}\n",
            format!("{:?}", row.mode).to_lowercase(),
            rerank,
            row.recall[0],
            row.recall[1],
            row.recall[2],
            row.mrr,
            row.p50_ms
        ));
    }
    out
}
