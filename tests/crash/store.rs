//! The data directory read directly, while no server runs: every document with its chunks,
//! and every chunk, whether or not its document exists.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use surrealdb::engine::any::connect;

use super::process::storage_url;

/// A stored document row.
#[derive(Debug, Deserialize)]
pub struct StoredDocument {
    /// Record id.
    pub id: String,
    /// Collection name.
    pub collection: String,
    /// Client id.
    pub external_id: Option<String>,
    /// Full text.
    pub content: String,
    /// Chunk count written with the document.
    pub chunk_count: u32,
}

/// A stored chunk row.
#[derive(Debug, Deserialize)]
pub struct StoredChunk {
    /// Id of the document it belongs to.
    pub document: String,
    /// Order within the document.
    pub position: u32,
    /// Chunk text.
    pub text: String,
    /// Character offsets in the document.
    pub char_start: u64,
    /// End offset (exclusive).
    pub char_end: u64,
    /// Dense vector, when embedded (stored as little-endian f32 bytes).
    #[serde(deserialize_with = "vector_from_base64")]
    pub embedding: Option<Vec<f32>>,
}

/// Everything stored, read in one go.
pub struct Snapshot {
    /// All document rows.
    pub documents: Vec<StoredDocument>,
    /// All chunk rows, ordered by document and position.
    pub chunks: Vec<StoredChunk>,
}

/// Opens the database of `dir` in this process, reads every document and chunk, and closes
/// it again.
pub async fn snapshot(dir: &Path) -> Snapshot {
    let url = storage_url(dir);
    // The killed process was reaped, so its lock on the directory is gone.
    let db = connect(url.as_str())
        .await
        .unwrap_or_else(|err| panic!("cannot open {url} after a kill: {err}"));
    db.use_ns("crag").use_db("main").await.expect("namespace");
    let mut response = db
        .query(
            "SELECT record::id(id) AS id, collection, external_id, content, chunk_count FROM document; \
             SELECT document, position, text, char_start, char_end, \
               IF embedding THEN encoding::base64::encode(embedding) END AS embedding FROM chunk \
               ORDER BY document, position;",
        )
        .await
        .and_then(surrealdb::IndexedResults::check)
        .expect("read the store");
    let documents: Vec<serde_json::Value> = response.take(0).expect("documents");
    let chunks: Vec<serde_json::Value> = response.take(1).expect("chunks");
    drop(db);
    Snapshot {
        documents: decode(documents),
        chunks: decode(chunks),
    }
}

/// A stored vector read as base64 text of its bytes (the query fails on any other form).
fn vector_from_base64<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<f32>>, D::Error> {
    use base64::Engine;
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(serde::de::Error::custom)?;
    let vector = constitutional_rag::model::vector_from_bytes(&bytes);
    assert!(vector.is_some(), "a stored vector of {} bytes", bytes.len());
    Ok(vector)
}

fn decode<T: DeserializeOwned>(rows: Vec<serde_json::Value>) -> Vec<T> {
    rows.into_iter()
        .map(|row| serde_json::from_value(row).expect("a stored row"))
        .collect()
}
