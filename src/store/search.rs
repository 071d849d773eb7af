//! Reads for the search indexes: metadata filters, index loading, hit payloads.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::change_log::Change;
use super::vector_bytes::{self, EMBEDDING_FIELD, to_wire};
use super::{Store, rows};
use crate::error::AppResult;
use crate::model::SearchHit;

/// Equality filters on document metadata: every `(key, value)` must match; an array value
/// matches any of its elements. Keys and values are always bound, never spliced into SQL.
#[derive(Debug, Clone, Default)]
pub struct MetadataFilter {
    conditions: Vec<(String, Value)>,
}

impl MetadataFilter {
    /// A filter from already validated `(key, value)` pairs.
    pub fn new(conditions: Vec<(String, Value)>) -> Self {
        Self { conditions }
    }

    /// True when nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// Whether a document's metadata satisfies every condition (numbers compare by value).
    pub fn matches(&self, metadata: &std::collections::BTreeMap<String, Value>) -> bool {
        self.conditions.iter().all(|(key, wanted)| {
            let Some(actual) = metadata.get(key) else {
                return false;
            };
            match wanted {
                Value::Array(options) => options.iter().any(|o| same_value(o, actual)),
                single => same_value(single, actual),
            }
        })
    }

    /// A SurrealQL condition (starting with ` AND`) on the object field `field`; the keys and
    /// values it refers to are added to `vars`.
    pub(super) fn condition(&self, field: &str, vars: &mut Value) -> String {
        let mut sql = String::new();
        for (i, (key, wanted)) in self.conditions.iter().enumerate() {
            let op = if wanted.is_array() { "IN" } else { "=" };
            sql.push_str(&format!(
                " AND {field}[$filter_key_{i}] {op} $filter_value_{i}"
            ));
            vars[format!("filter_key_{i}")] = Value::String(key.clone());
            vars[format!("filter_value_{i}")] = wanted.clone();
        }
        sql
    }
}

/// JSON equality where `1` equals `1.0`.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// A chunk as the search index loads it.
#[derive(Debug, serde::Deserialize)]
pub struct IndexRow {
    /// Chunk id.
    pub id: String,
    /// Document id.
    pub document: String,
    /// Chunk text.
    pub text: String,
    /// Embedding, when stored.
    #[serde(default, deserialize_with = "vector_bytes::deserialize")]
    pub embedding: Option<Vec<f32>>,
}

/// A document as the search index loads it.
#[derive(Debug, serde::Deserialize)]
pub struct IndexedDocumentRow {
    /// Document id.
    pub id: String,
    /// Its collection.
    pub collection: String,
    /// Its metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, Value>,
}

/// A chunk as a reindex reads it: its text with the context it is embedded with.
#[derive(Debug, serde::Deserialize)]
pub struct ReindexRow {
    /// Chunk id.
    pub id: String,
    /// Chunk text.
    pub text: String,
    /// Structural path.
    pub path: String,
    /// Its document's id.
    pub document: String,
    /// Its document's title.
    #[serde(default)]
    pub title: String,
}

impl Store {
    /// Every chunk of `collection` with its path and document title, in document order.
    pub async fn reindex_rows(&self, collection: &str) -> AppResult<Vec<ReindexRow>> {
        let mut response = self
            .query(
                "SELECT record::id(id) AS id, title FROM document WHERE collection = $collection; \
                 SELECT record::id(id) AS id, text, path, document, position FROM chunk \
                 WHERE collection = $collection ORDER BY document, position;",
                json!({ "collection": collection }),
            )
            .await?;
        let titles: Vec<Value> = rows(&mut response, 0)?;
        let titles: HashMap<&str, &str> = titles
            .iter()
            .filter_map(|t| Some((t["id"].as_str()?, t["title"].as_str()?)))
            .collect();
        let mut chunks: Vec<ReindexRow> = rows(&mut response, 1)?;
        for chunk in &mut chunks {
            chunk.title = titles
                .get(chunk.document.as_str())
                .copied()
                .unwrap_or_default()
                .to_string();
        }
        Ok(chunks)
    }

    /// Writes new embeddings for chunks, in one transaction.
    pub async fn set_embeddings(&self, updates: &[(&str, &[f32])]) -> AppResult<()> {
        let rows: Vec<Value> = updates
            .iter()
            .map(|(id, vector)| json!({ "id": id, "embedding": to_wire(vector) }))
            .collect();
        self.query(
            "BEGIN TRANSACTION; \
             FOR $row IN $rows { UPDATE type::record('chunk', $row.id) \
               SET embedding = encoding::base64::decode($row.embedding); }; \
             COMMIT TRANSACTION;",
            json!({ "rows": rows }),
        )
        .await?;
        Ok(())
    }

    /// Records which model a collection's vectors come from, with the change-log entry that
    /// has every server rebuild its index of the collection; returns the entry's number.
    pub async fn set_collection_model(
        &self,
        collection: &str,
        model: &str,
        dimension: u32,
    ) -> AppResult<u64> {
        self.write_logged(
            "UPDATE type::record('collection', $name) SET embedding_model = $model, embedding_dimension = $dimension;",
            json!({ "name": collection, "model": model, "dimension": dimension }),
            &Change::Reindexed {
                collection: collection.to_string(),
            },
        )
        .await
    }

    /// Everything the search index of `collection` needs: each document's metadata and
    /// every chunk with its text and embedding.
    pub async fn index_rows(
        &self,
        collection: &str,
    ) -> AppResult<(Vec<(String, BTreeMap<String, Value>)>, Vec<IndexRow>)> {
        let mut response = self
            .query(
                &format!(
                    "SELECT record::id(id) AS id, metadata FROM document WHERE collection = $collection; \
                     SELECT record::id(id) AS id, document, text, {EMBEDDING_FIELD} FROM chunk \
                     WHERE collection = $collection;"
                ),
                json!({ "collection": collection }),
            )
            .await?;
        let documents: Vec<Value> = rows(&mut response, 0)?;
        let documents = documents
            .into_iter()
            .filter_map(|mut d| {
                let id = d["id"].as_str()?.to_string();
                let metadata = serde_json::from_value(d["metadata"].take()).unwrap_or_default();
                Some((id, metadata))
            })
            .collect();
        Ok((documents, rows(&mut response, 1)?))
    }

    /// What the search index needs of the documents `ids` that exist: each one's collection
    /// and metadata, and their chunks (in order) with text and embedding.
    pub async fn documents_for_index(
        &self,
        ids: &[&str],
    ) -> AppResult<(Vec<IndexedDocumentRow>, Vec<IndexRow>)> {
        let mut response = self
            .query(
                &format!(
                    "SELECT record::id(id) AS id, collection, metadata \
                       FROM array::map($ids, |$d| type::record('document', $d)); \
                     SELECT record::id(id) AS id, document, text, {EMBEDDING_FIELD}, position \
                       FROM chunk WHERE document IN $ids ORDER BY document, position;"
                ),
                json!({ "ids": ids }),
            )
            .await?;
        Ok((rows(&mut response, 0)?, rows(&mut response, 1)?))
    }

    /// The stored fields and document titles of the chunks `ids` (in that order; unknown
    /// ids are skipped). Scores and ranks are left for the caller.
    pub async fn chunk_hits(&self, ids: &[&str]) -> AppResult<Vec<SearchHit>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut response = self
            .query(
                "LET $chunks = SELECT record::id(id) AS chunk_id, document AS document_id, collection, path, \
                   position, char_start, char_end, text FROM array::map($ids, |$i| type::record('chunk', $i)); \
                 SELECT record::id(id) AS id, title FROM array::map(array::distinct($chunks.document_id), |$d| type::record('document', $d)); \
                 RETURN $chunks;",
                json!({ "ids": ids }),
            )
            .await?;
        let titles: Vec<Value> = rows(&mut response, 1)?;
        let mut hits: Vec<SearchHit> = rows(&mut response, 2)?;
        let by_id: HashMap<&str, &str> = titles
            .iter()
            .filter_map(|t| Some((t["id"].as_str()?, t["title"].as_str()?)))
            .collect();
        for hit in &mut hits {
            if let Some(title) = by_id.get(hit.document_id.as_str()) {
                hit.title = (*title).to_string();
            }
        }
        Ok(hits)
    }
}
