//! `/v1/collections/{c}/documents`: upsert, get, list, update, delete, chunks, bulk, upload.

use std::collections::BTreeMap;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;

use super::ApiTags;
use super::bulk::{BulkBody, BulkSummary, ingest_ndjson};
use super::dto::document::{ChunkInfo, Document, DocumentBody, DocumentWrite, UpsertOutcome};
use super::problem::ApiError;
use super::strict_json::StrictJson;
use super::upload::{UploadForm, UploadSummary, upload_files};
use crate::error::AppError;
use crate::service::{Library, validate};

/// Result of an upsert.
#[derive(Debug, ApiResponse)]
pub enum DocumentUpserted {
    /// A new document was created.
    #[oai(status = 201)]
    Created(Json<DocumentWrite>),
    /// An existing document was replaced, or the same content was already stored.
    #[oai(status = 200)]
    Existing(Json<DocumentWrite>),
}

/// Result of deleting a document.
#[derive(Debug, ApiResponse)]
pub enum DocumentDeleted {
    /// The document and all its chunks are gone.
    #[oai(status = 204)]
    Deleted,
}

/// One page of documents.
#[derive(Debug, Object)]
pub struct DocumentPage {
    /// Documents on this page, oldest first (without text).
    pub documents: Vec<Document>,
    /// This page's number, from 1.
    pub page: u32,
    /// Page size used.
    pub page_size: u32,
    /// Documents matching the filter across all pages.
    pub total: u64,
    /// The next page's number, absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_page: Option<u32>,
}

/// The chunks of one document.
#[derive(Debug, Object)]
pub struct ChunkList {
    /// Chunks in document order.
    pub chunks: Vec<ChunkInfo>,
}

/// Document routes.
pub struct DocumentsApi {
    /// The service behind the routes.
    pub library: Library,
}

#[OpenApi]
impl DocumentsApi {
    /// Upsert a document: identical content is left alone (`unchanged`), a known `external_id`
    /// is replaced atomically (`updated`, version + 1), anything else is created.
    #[oai(
        path = "/v1/collections/:collection/documents",
        method = "post",
        tag = "ApiTags::Documents"
    )]
    async fn upsert(
        &self,
        collection: Path<String>,
        body: StrictJson<DocumentBody>,
    ) -> Result<DocumentUpserted, ApiError> {
        let write = Json(DocumentWrite::from(
            self.library
                .upsert_document(&collection, body.0.into())
                .await?,
        ));
        Ok(match write.outcome {
            UpsertOutcome::Created => DocumentUpserted::Created(write),
            _ => DocumentUpserted::Existing(write),
        })
    }

    /// List documents, paginated, optionally filtered by metadata.
    #[oai(
        path = "/v1/collections/:collection/documents",
        method = "get",
        tag = "ApiTags::Documents"
    )]
    async fn list(
        &self,
        collection: Path<String>,
        /// Page number, from 1.
        #[oai(default = "first_page")]
        page: Query<u32>,
        /// Documents per page, 1–100.
        #[oai(default = "default_page_size")]
        page_size: Query<u32>,
        /// A JSON object of metadata equalities, e.g. `{"year": 1974}`; an array value
        /// matches any of its elements.
        filter: Query<Option<String>>,
    ) -> Result<Json<DocumentPage>, ApiError> {
        let filter = parse_filter(filter.0.as_deref())?;
        let filter = validate::metadata_filter(filter.as_ref())?;
        let listing = self
            .library
            .list_documents(&collection, &filter, page.0, page_size.0)
            .await?;
        let shown = u64::from(page.0 - 1) * u64::from(page_size.0) + listing.documents.len() as u64;
        Ok(Json(DocumentPage {
            next_page: (shown < listing.total).then_some(page.0 + 1),
            documents: listing.documents.into_iter().map(Document::from).collect(),
            page: page.0,
            page_size: page_size.0,
            total: listing.total,
        }))
    }

    /// Get a document, optionally with its full text.
    #[oai(
        path = "/v1/collections/:collection/documents/:id",
        method = "get",
        tag = "ApiTags::Documents"
    )]
    async fn get(
        &self,
        collection: Path<String>,
        id: Path<String>,
        /// Include the full text in `content`.
        #[oai(default)]
        include_content: Query<bool>,
    ) -> Result<Json<Document>, ApiError> {
        Ok(Json(
            self.library
                .document(&collection, &id, include_content.0)
                .await?
                .into(),
        ))
    }

    /// Replace a document atomically: its chunks are swapped in one transaction, the id stays
    /// and the version goes up (unless the content is identical).
    #[oai(
        path = "/v1/collections/:collection/documents/:id",
        method = "put",
        tag = "ApiTags::Documents"
    )]
    async fn update(
        &self,
        collection: Path<String>,
        id: Path<String>,
        body: StrictJson<DocumentBody>,
    ) -> Result<Json<DocumentWrite>, ApiError> {
        Ok(Json(DocumentWrite::from(
            self.library
                .update_document(&collection, &id, body.0.into())
                .await?,
        )))
    }

    /// Delete a document and all its chunks atomically.
    #[oai(
        path = "/v1/collections/:collection/documents/:id",
        method = "delete",
        tag = "ApiTags::Documents"
    )]
    async fn delete(
        &self,
        collection: Path<String>,
        id: Path<String>,
    ) -> Result<DocumentDeleted, ApiError> {
        self.library.delete_document(&collection, &id).await?;
        Ok(DocumentDeleted::Deleted)
    }

    /// The chunks of a document, with structural paths and character offsets.
    #[oai(
        path = "/v1/collections/:collection/documents/:id/chunks",
        method = "get",
        tag = "ApiTags::Documents"
    )]
    async fn chunks(
        &self,
        collection: Path<String>,
        id: Path<String>,
    ) -> Result<Json<ChunkList>, ApiError> {
        let chunks = self.library.document_chunks(&collection, &id).await?;
        Ok(Json(ChunkList {
            chunks: chunks.into_iter().map(ChunkInfo::from).collect(),
        }))
    }

    /// Bulk ingest: an NDJSON body, one document object a line (the fields of an upsert).
    /// The body is read as a stream; each line is upserted on its own and reported.
    #[oai(
        path = "/v1/collections/:collection/documents/bulk",
        method = "post",
        tag = "ApiTags::Documents"
    )]
    async fn bulk(
        &self,
        collection: Path<String>,
        body: BulkBody,
    ) -> Result<Json<BulkSummary>, ApiError> {
        Ok(Json(ingest_ndjson(&self.library, &collection, body).await?))
    }

    /// Upload files (`multipart/form-data`, parts named `files`): each is parsed on the
    /// server by the same parsers as the `ingest` command (txt, md, html, json, jsonl, pdf)
    /// and stored whole, or rejected with its own problem in `files[].error` and nothing of
    /// it stored. The body may be as large as a bulk body (`server.max_bulk_bytes`), each
    /// file as large as an ordinary body (`server.max_body_bytes`).
    #[oai(
        path = "/v1/collections/:collection/documents/upload",
        method = "post",
        tag = "ApiTags::Documents"
    )]
    async fn upload(
        &self,
        collection: Path<String>,
        form: UploadForm,
    ) -> Result<Json<UploadSummary>, ApiError> {
        Ok(Json(upload_files(&self.library, &collection, form).await?))
    }
}

fn first_page() -> u32 {
    1
}

fn default_page_size() -> u32 {
    20
}

/// Parses the `filter` query parameter (a JSON object).
pub(super) fn parse_filter(raw: Option<&str>) -> Result<Option<BTreeMap<String, Value>>, AppError> {
    raw.map(|text| {
        serde_json::from_str(text).map_err(|e| {
            AppError::invalid(
                "invalid_filter",
                format!("filter must be a JSON object of metadata equalities: {e}"),
            )
        })
    })
    .transpose()
}
