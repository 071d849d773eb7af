//! Domain types shared by the store and the services (`api::dto` mirrors them on the wire).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Analyzer language of a collection: selects stemming for BM25.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English snowball stemming, ASCII folding.
    #[default]
    English,
    /// Swedish snowball stemming (å, ä, ö kept).
    Swedish,
}

/// A collection as stored, with its live counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Collection {
    /// Unique name: lowercase letters, digits, `_` and `-`, 1–64 characters.
    pub name: String,
    /// Free text for humans.
    pub description: String,
    /// Analyzer language for BM25.
    pub language: Language,
    /// Identifier of the embedding model its vectors come from.
    pub embedding_model: String,
    /// Dimension of those vectors.
    pub embedding_dimension: u32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Number of documents in it.
    #[serde(default)]
    pub document_count: u64,
    /// Number of chunks in it.
    #[serde(default)]
    pub chunk_count: u64,
}

/// A stored document (without its chunks).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document {
    /// Server-assigned identifier, stable across updates.
    pub id: String,
    /// The collection it belongs to.
    pub collection: String,
    /// The client's own identifier, unique within the collection when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Title.
    pub title: String,
    /// Where it came from (file path, URL); absent when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Free-form metadata; usable in filters.
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, serde_json::Value>,
    /// BLAKE3 of title, source, metadata and text: equal content, equal hash.
    pub content_hash: String,
    /// Starts at 1, incremented by every change.
    pub version: u32,
    /// Number of chunks the text was split into.
    pub chunk_count: u32,
    /// Length of the text in characters.
    #[serde(default)]
    pub char_count: u64,
    /// When it was first stored.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Full text; present when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// One chunk of a document as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkInfo {
    /// Chunk identifier.
    pub id: String,
    /// Order within the document, from 0.
    pub position: u32,
    /// Structural path such as `2 kap. 1 §` or `Section 6`; empty when none.
    pub path: String,
    /// Start offset in the document text, in characters.
    pub char_start: u64,
    /// End offset (exclusive), in characters.
    pub char_end: u64,
    /// The chunk's text, verbatim from the document.
    pub text: String,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpsertOutcome {
    /// A new document was stored.
    Created,
    /// An existing document (same external id) was replaced; its version went up.
    Updated,
    /// Identical content was already stored; nothing was written.
    Unchanged,
}

/// One chunk of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Exactly the document's characters `[char_start, char_end)`.
    pub text: String,
    /// 0-based order of the chunk in the document.
    pub position: usize,
    /// Start offset in Unicode scalar values (chars), inclusive.
    pub char_start: usize,
    /// End offset in Unicode scalar values (chars), exclusive.
    pub char_end: usize,
    /// Structural path such as `"2 kap. 1 §"`, `"Article 6"`,
    /// `"3. Responsibilities > 3.2. Distribution of Executable Form"` or
    /// `"Intro > Scope"`; empty when the text has no structure.
    pub path: String,
}

/// A document as a client sends it.
#[derive(Debug, Clone, Default)]
pub struct DocumentInput {
    /// Client identifier, unique within the collection.
    pub external_id: Option<String>,
    /// Title; derived from the first line of the text when absent.
    pub title: Option<String>,
    /// Origin (path, URL).
    pub source: Option<String>,
    /// Metadata object.
    pub metadata: std::collections::BTreeMap<String, serde_json::Value>,
    /// Full text.
    pub text: String,
}

/// A document ready to be written: validated, hashed and chunked.
#[derive(Debug, Clone)]
pub struct PreparedDocument {
    /// Target collection.
    pub collection: String,
    /// Client identifier, if any.
    pub external_id: Option<String>,
    /// Title.
    pub title: String,
    /// Origin.
    pub source: Option<String>,
    /// Metadata object.
    pub metadata: std::collections::BTreeMap<String, serde_json::Value>,
    /// Full text.
    pub content: String,
    /// Content hash.
    pub content_hash: String,
    /// Chunks of `content`.
    pub chunks: Vec<Chunk>,
    /// Record ids for the chunks (fresh for every write).
    pub chunk_ids: Vec<String>,
    /// One embedding per chunk.
    pub embeddings: Vec<std::sync::Arc<[f32]>>,
}

/// One search hit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchHit {
    /// Chunk identifier.
    pub chunk_id: String,
    /// Document identifier.
    pub document_id: String,
    /// Document title.
    #[serde(default)]
    pub title: String,
    /// Collection searched.
    pub collection: String,
    /// Structural path of the chunk.
    pub path: String,
    /// Order of the chunk within its document.
    pub position: u32,
    /// Start offset in the document text, in characters.
    pub char_start: u64,
    /// End offset (exclusive), in characters.
    pub char_end: u64,
    /// Chunk text.
    pub text: String,
    /// Score the list is ordered by within its collection: the reranker's when reranked,
    /// else the fused RRF score (hybrid), the cosine (dense) or the BM25 score (bm25).
    #[serde(default)]
    pub score: f64,
    /// 1-based rank in the merged result list.
    #[serde(default)]
    pub rank: u32,
    /// Dense (cosine) score and rank within its collection, when the dense signal found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dense: Option<SignalScore>,
    /// BM25 score and rank within its collection, when BM25 found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bm25: Option<SignalScore>,
    /// Weighted reciprocal-rank-fusion score (hybrid mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fused: Option<f64>,
    /// Reranker score, when the hit was reranked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerank: Option<f64>,
}

/// A signal's score and 1-based rank within one collection's list.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SignalScore {
    /// Raw score from that signal.
    pub score: f64,
    /// 1-based rank in that collection for that signal.
    pub rank: u32,
}

/// What a key may do; each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Search, answer, chat, embeddings, rerank, models, and reading collections and documents.
    Reader,
    /// Reader, plus document writes, bulk ingest and reindexing.
    Writer,
    /// Writer, plus creating and deleting collections and managing keys.
    Admin,
}

impl Role {
    /// Every role, the least first.
    pub const ALL: [Role; 3] = [Role::Reader, Role::Writer, Role::Admin];

    /// The role's name as in requests and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Admin => "admin",
        }
    }
}

/// An API key's record; never its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    /// Stable identifier, used to revoke the key.
    pub id: String,
    /// Name given at creation, for humans.
    pub name: String,
    /// What the key may do.
    pub role: Role,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last accepted (updated at most once a minute per key); absent if never.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; absent while the key is active.
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl std::str::FromStr for Role {
    type Err = String;

    /// A role by its name, in any case.
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("expected reader, writer or admin, got {s:?}"))
    }
}

/// Appends `vector` as little-endian `f32` bytes to `out`: the form vectors take at rest (the
/// embedding cache's file, the store).
pub fn push_vector_bytes(vector: &[f32], out: &mut Vec<u8>) {
    out.extend(vector.iter().flat_map(|value| value.to_le_bytes()));
}

/// The vector of little-endian `f32` bytes; `None` when they are not a whole number of `f32`.
pub fn vector_from_bytes(bytes: &[u8]) -> Option<Vec<f32>> {
    let values = bytes.chunks_exact(4);
    if !values.remainder().is_empty() {
        return None;
    }
    Some(
        values
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}
