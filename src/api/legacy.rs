//! The old system's `/api/documents` routes, mapped onto the same service with its field names.

use std::collections::BTreeMap;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;

use super::ApiTags;
use super::dto::document::UpsertOutcome;
use super::problem::ApiError;
use super::strict_json::StrictJson;
use crate::error::AppError;
use crate::model::Document;
use crate::model::DocumentInput;
use crate::service::{Library, validate};

/// A document in the old system's shape.
#[derive(Debug, Object)]
pub struct LegacyDocument {
    /// Document id.
    pub document_id: String,
    /// Collection it lives in.
    pub collection: String,
    /// Full text on single-document reads, else null (the old system's shape).
    #[oai(nullable)]
    pub content: Option<String>,
    /// Title.
    pub title: String,
    /// Metadata.
    pub metadata: BTreeMap<String, Value>,
    /// Number of chunks.
    pub chunks: u32,
    /// Version, from 1.
    pub version: u32,
    /// `created`, `updated` or `unchanged` on writes, else null.
    #[oai(nullable)]
    pub status: Option<UpsertOutcome>,
}

impl LegacyDocument {
    fn from_document(document: Document, status: Option<crate::model::UpsertOutcome>) -> Self {
        Self {
            document_id: document.id,
            collection: document.collection,
            content: document.content,
            title: document.title,
            metadata: document.metadata,
            chunks: document.chunk_count,
            version: document.version,
            status: status.map(UpsertOutcome::from),
        }
    }
}

/// A write in the old system's shape.
#[derive(Debug, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyDocumentInput {
    /// Target collection.
    pub collection: String,
    /// Full text.
    pub content: String,
    /// Metadata; `title` and `source` keys are used as such.
    #[oai(default)]
    #[serde(default)]
    pub metadata: BTreeMap<String, Value>,
    /// Client id; re-posting it replaces that document.
    pub document_id: Option<String>,
}

impl From<LegacyDocumentInput> for DocumentInput {
    fn from(input: LegacyDocumentInput) -> Self {
        let text_field = |key: &str| {
            input
                .metadata
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        DocumentInput {
            title: text_field("title"),
            source: text_field("source"),
            external_id: input.document_id,
            metadata: input.metadata,
            text: input.content,
        }
    }
}

/// A page of documents in the old shape.
#[derive(Debug, Object)]
pub struct LegacyDocumentList {
    /// Documents (without content).
    pub documents: Vec<LegacyDocument>,
    /// Matching documents in all pages.
    pub total: u64,
}

/// Result of a legacy delete.
#[derive(Debug, Object)]
pub struct LegacyDeleted {
    /// Always true: a missing document is a 404.
    pub deleted: bool,
    /// The deleted document's id.
    pub document_id: String,
}

/// Result of a legacy create.
#[derive(Debug, ApiResponse)]
pub enum LegacyCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<LegacyDocument>),
    /// Replaced or unchanged.
    #[oai(status = 200)]
    Existing(Json<LegacyDocument>),
}

/// Legacy document routes.
pub struct LegacyDocumentsApi {
    /// The service behind the routes.
    pub library: Library,
}

#[OpenApi]
impl LegacyDocumentsApi {
    /// Create or replace a document (old API).
    #[oai(path = "/api/documents", method = "post", tag = "ApiTags::Legacy")]
    async fn create(
        &self,
        body: StrictJson<LegacyDocumentInput>,
    ) -> Result<LegacyCreated, ApiError> {
        let collection = body.collection.clone();
        let (document, outcome) = self
            .library
            .upsert_document(&collection, body.0.into())
            .await?;
        let shaped = Json(LegacyDocument::from_document(document, Some(outcome)));
        Ok(match outcome {
            crate::model::UpsertOutcome::Created => LegacyCreated::Created(shaped),
            _ => LegacyCreated::Existing(shaped),
        })
    }

    /// List documents of a collection (old API).
    #[oai(path = "/api/documents", method = "get", tag = "ApiTags::Legacy")]
    async fn list(
        &self,
        /// Collection to list.
        collection: Query<String>,
        /// Most documents to return, 1–100.
        #[oai(default = "default_limit")]
        limit: Query<u32>,
        /// Documents to skip; must be a multiple of `limit`.
        #[oai(default)]
        offset: Query<u32>,
    ) -> Result<Json<LegacyDocumentList>, ApiError> {
        if limit.0 == 0 || !offset.0.is_multiple_of(limit.0) {
            return Err(AppError::invalid(
                "invalid_page",
                "limit must be positive and offset a multiple of limit",
            )
            .into());
        }
        let listing = self
            .library
            .list_documents(
                &collection,
                &validate::metadata_filter(None)?,
                offset.0 / limit.0 + 1,
                limit.0,
            )
            .await?;
        Ok(Json(LegacyDocumentList {
            documents: listing
                .documents
                .into_iter()
                .map(|d| LegacyDocument::from_document(d, None))
                .collect(),
            total: listing.total,
        }))
    }

    /// Get one document with its content (old API).
    #[oai(
        path = "/api/documents/:document_id",
        method = "get",
        tag = "ApiTags::Legacy"
    )]
    async fn get(&self, document_id: Path<String>) -> Result<Json<LegacyDocument>, ApiError> {
        let collection = self.library.document_collection(&document_id).await?;
        let document = self
            .library
            .document(&collection, &document_id, true)
            .await?;
        Ok(Json(LegacyDocument::from_document(document, None)))
    }

    /// Replace a document's content and metadata atomically (old API).
    #[oai(
        path = "/api/documents/:document_id",
        method = "put",
        tag = "ApiTags::Legacy"
    )]
    async fn update(
        &self,
        document_id: Path<String>,
        body: StrictJson<LegacyDocumentInput>,
    ) -> Result<Json<LegacyDocument>, ApiError> {
        let collection = self.library.document_collection(&document_id).await?;
        if collection != body.collection {
            return Err(AppError::Conflict(format!(
                "document '{}' lives in collection '{collection}', not '{}'",
                document_id.0, body.collection
            ))
            .into());
        }
        let existing = self
            .library
            .document(&collection, &document_id, false)
            .await?;
        let mut input: DocumentInput = body.0.into();
        input.external_id = existing.external_id;
        let (document, outcome) = self
            .library
            .update_document(&collection, &document_id, input)
            .await?;
        Ok(Json(LegacyDocument::from_document(document, Some(outcome))))
    }

    /// Delete a document and its chunks atomically (old API).
    #[oai(
        path = "/api/documents/:document_id",
        method = "delete",
        tag = "ApiTags::Legacy"
    )]
    async fn delete(&self, document_id: Path<String>) -> Result<Json<LegacyDeleted>, ApiError> {
        let collection = self.library.document_collection(&document_id).await?;
        self.library
            .delete_document(&collection, &document_id)
            .await?;
        Ok(Json(LegacyDeleted {
            deleted: true,
            document_id: document_id.0,
        }))
    }
}

fn default_limit() -> u32 {
    20
}
