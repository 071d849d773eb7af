//! Collections, their analyzer language and reindex results as the collection routes send
//! them.

use chrono::{DateTime, Utc};
use poem_openapi::Object;

use super::mirror_enum;

mirror_enum! {
    /// Analyzer language of a collection: selects stemming for BM25.
    #[serde(rename_all = "lowercase")]
    #[oai(rename_all = "lowercase")]
    pub enum Language mirrors model::Language {
        /// English snowball stemming, ASCII folding.
        English,
        /// Swedish snowball stemming (å, ä, ö kept).
        Swedish,
    }
}

impl Default for Language {
    fn default() -> Self {
        crate::model::Language::default().into()
    }
}

/// A collection as stored, with its live counts.
#[derive(Debug, Clone, Object)]
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
    pub document_count: u64,
    /// Number of chunks in it.
    pub chunk_count: u64,
}

impl From<crate::model::Collection> for Collection {
    fn from(collection: crate::model::Collection) -> Self {
        Self {
            name: collection.name,
            description: collection.description,
            language: collection.language.into(),
            embedding_model: collection.embedding_model,
            embedding_dimension: collection.embedding_dimension,
            created_at: collection.created_at,
            document_count: collection.document_count,
            chunk_count: collection.chunk_count,
        }
    }
}

/// What a reindex did.
#[derive(Debug, Clone, Object)]
pub struct ReindexSummary {
    /// The collection.
    pub collection: String,
    /// Chunks re-embedded.
    pub chunks: u64,
    /// The model the collection is now embedded with.
    pub embedding_model: String,
    /// Its dimension.
    pub embedding_dimension: u32,
    /// Wall time in milliseconds.
    pub took_ms: u64,
}

impl From<crate::service::ReindexSummary> for ReindexSummary {
    fn from(summary: crate::service::ReindexSummary) -> Self {
        Self {
            collection: summary.collection,
            chunks: summary.chunks,
            embedding_model: summary.embedding_model,
            embedding_dimension: summary.embedding_dimension,
            took_ms: summary.took_ms,
        }
    }
}
