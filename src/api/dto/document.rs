//! Documents, their chunks and upsert outcomes as the document routes send them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use serde_json::Value;

use super::mirror_enum;
use crate::model::DocumentInput;

mirror_enum! {
    /// What an upsert did.
    #[serde(rename_all = "lowercase")]
    #[oai(rename_all = "lowercase")]
    pub enum UpsertOutcome mirrors model::UpsertOutcome {
        /// A new document was stored.
        Created,
        /// An existing document (same external id) was replaced; its version went up.
        Updated,
        /// Identical content was already stored; nothing was written.
        Unchanged,
    }
}

/// A stored document (without its chunks).
#[derive(Debug, Clone, Object)]
pub struct Document {
    /// Server-assigned identifier, stable across updates.
    pub id: String,
    /// The collection it belongs to.
    pub collection: String,
    /// The client's own identifier, unique within the collection when set.
    #[oai(skip_serializing_if_is_none)]
    pub external_id: Option<String>,
    /// Title.
    pub title: String,
    /// Where it came from (file path, URL); absent when not given.
    #[oai(skip_serializing_if_is_none)]
    pub source: Option<String>,
    /// Free-form metadata; usable in filters.
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// BLAKE3 of title, source, metadata and text: equal content, equal hash.
    pub content_hash: String,
    /// Starts at 1, incremented by every change.
    pub version: u32,
    /// Number of chunks the text was split into.
    pub chunk_count: u32,
    /// Length of the text in characters.
    pub char_count: u64,
    /// When it was first stored.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Full text; present when asked for.
    #[oai(skip_serializing_if_is_none)]
    pub content: Option<String>,
}

impl From<crate::model::Document> for Document {
    fn from(document: crate::model::Document) -> Self {
        Self {
            id: document.id,
            collection: document.collection,
            external_id: document.external_id,
            title: document.title,
            source: document.source,
            metadata: document.metadata,
            content_hash: document.content_hash,
            version: document.version,
            chunk_count: document.chunk_count,
            char_count: document.char_count,
            created_at: document.created_at,
            updated_at: document.updated_at,
            content: document.content,
        }
    }
}

/// One chunk of a document as stored.
#[derive(Debug, Clone, Object)]
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

impl From<crate::model::ChunkInfo> for ChunkInfo {
    fn from(chunk: crate::model::ChunkInfo) -> Self {
        Self {
            id: chunk.id,
            position: chunk.position,
            path: chunk.path,
            char_start: chunk.char_start,
            char_end: chunk.char_end,
            text: chunk.text,
        }
    }
}

/// A document to store.
#[derive(Debug, Clone, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentBody {
    /// The full text. Chunked along its legal structure (chapters, sections, articles).
    pub text: String,
    /// Your identifier, unique within the collection; re-posting it replaces that document.
    pub external_id: Option<String>,
    /// Title; the first line of the text when absent.
    pub title: Option<String>,
    /// Origin (file path, URL).
    pub source: Option<String>,
    /// Free-form metadata, filterable by equality.
    #[oai(default)]
    #[serde(default)]
    pub metadata: BTreeMap<String, Value>,
}

impl From<DocumentBody> for DocumentInput {
    fn from(body: DocumentBody) -> Self {
        DocumentInput {
            external_id: body.external_id,
            title: body.title,
            source: body.source,
            metadata: body.metadata,
            text: body.text,
        }
    }
}

/// A document and what the write did.
#[derive(Debug, Object)]
pub struct DocumentWrite {
    /// `created`, `updated` or `unchanged` (identical content was already stored: no work done).
    pub outcome: UpsertOutcome,
    /// The stored document.
    pub document: Document,
}

impl From<(crate::model::Document, crate::model::UpsertOutcome)> for DocumentWrite {
    fn from((document, outcome): (crate::model::Document, crate::model::UpsertOutcome)) -> Self {
        Self {
            outcome: outcome.into(),
            document: document.into(),
        }
    }
}
