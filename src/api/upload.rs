//! Multipart file upload: each file parsed on the server by the CLI's parsers and stored
//! whole, or rejected with its own problem and nothing of it stored.

use std::path::Path;

use poem::http::StatusCode;
use poem_openapi::types::multipart::Upload;
use poem_openapi::{Multipart, Object};

use super::dto::document::DocumentWrite;
use super::dto::document::UpsertOutcome;
use super::problem::{ApiError, Problem};
use crate::error::AppError;
use crate::ingest::files::document_inputs;
use crate::ingest::parse::{Format, parse};
use crate::service::Library;

/// Files to store, as `multipart/form-data`.
#[derive(Debug, Multipart)]
#[oai(deny_unknown_fields)]
pub struct UploadForm {
    /// One part per file: `.txt`, `.md`, `.html`, `.json` (an object or an array of objects
    /// with `text`), `.jsonl` or `.pdf`, each at most `server.max_body_bytes`. The format
    /// comes from the file name's extension, else from the part's content type. The file
    /// name becomes the external id, so uploading a changed file again replaces it.
    pub files: Vec<Upload>,
}

/// What happened to one file.
#[derive(Debug, Object)]
pub struct UploadedFile {
    /// The file's name as sent (its last path component).
    pub file_name: String,
    /// Bytes received.
    pub size: u64,
    /// The documents stored from the file (several for JSON arrays and JSON Lines); empty
    /// when the file was rejected.
    pub documents: Vec<DocumentWrite>,
    /// Why the file was rejected (`unsupported_format` 415, `file_too_large` 413,
    /// `unparseable_file` 422, or a document's validation problem); absent when stored.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<Problem>,
}

/// Totals and per-file results of an upload.
#[derive(Debug, Default, Object)]
pub struct UploadSummary {
    /// Documents created.
    pub created: u64,
    /// Documents replaced.
    pub updated: u64,
    /// Documents whose content was already stored.
    pub unchanged: u64,
    /// Files rejected (see `files`).
    pub failed: u64,
    /// One entry per file, in the order sent.
    pub files: Vec<UploadedFile>,
}

/// Stores each file of `form` in `collection` on its own: a file is parsed, and all its
/// documents validated and embedded, before any of them is written.
pub async fn upload_files(
    library: &Library,
    collection: &str,
    form: UploadForm,
) -> Result<UploadSummary, ApiError> {
    library.collection(collection).await?;
    let max_files = library.config().ingest.max_bulk_documents;
    if form.files.is_empty() {
        return Err(AppError::invalid("no_files", "send at least one part named `files`").into());
    }
    if form.files.len() > max_files {
        return Err(AppError::PayloadTooLarge(format!(
            "an upload may hold at most {max_files} files; {} were sent",
            form.files.len()
        ))
        .into());
    }
    let max_bytes = library.config().server.max_body_bytes;
    let mut summary = UploadSummary::default();
    for upload in form.files {
        let file_name = file_name(&upload);
        let size = upload.size() as u64;
        match store_file(library, collection, &file_name, upload, max_bytes).await {
            Ok(documents) => {
                for write in &documents {
                    match write.outcome {
                        UpsertOutcome::Created => summary.created += 1,
                        UpsertOutcome::Updated => summary.updated += 1,
                        UpsertOutcome::Unchanged => summary.unchanged += 1,
                    }
                }
                summary.files.push(UploadedFile {
                    file_name,
                    size,
                    documents,
                    error: None,
                });
            }
            Err(problem) => {
                summary.failed += 1;
                summary.files.push(UploadedFile {
                    file_name,
                    size,
                    documents: Vec::new(),
                    error: Some(problem),
                });
            }
        }
    }
    Ok(summary)
}

/// Parses one file and stores all its documents, or none of them.
async fn store_file(
    library: &Library,
    collection: &str,
    file_name: &str,
    upload: Upload,
    max_bytes: usize,
) -> Result<Vec<DocumentWrite>, Problem> {
    let format = Format::from_path(Path::new(file_name))
        .or_else(|| upload.content_type().and_then(Format::from_content_type))
        .ok_or_else(|| {
            Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_format",
                format!(
                    "{file_name}: not a supported file type (.txt, .md, .html, .json, .jsonl or .pdf)"
                ),
            )
        })?;
    if upload.size() > max_bytes {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            format!(
                "{file_name}: {} bytes exceeds the limit of {max_bytes} bytes a file",
                upload.size()
            ),
        ));
    }
    let bytes = upload.into_vec().await.map_err(|e| {
        ApiError::from(AppError::Internal(format!("reading an upload: {e}"))).into_problem()
    })?;
    let parsed = tokio::task::spawn_blocking(move || parse(&bytes, format))
        .await
        .map_err(|e| {
            ApiError::from(AppError::Internal(format!("parser task: {e}"))).into_problem()
        })?
        .map_err(|e| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unparseable_file",
                format!("{file_name}: {e}"),
            )
        })?;
    let inputs = document_inputs(Path::new(file_name), parsed);
    let stored = library
        .upsert_documents(collection, inputs)
        .await
        .map_err(|e| ApiError::from(e).into_problem())?;
    Ok(stored.into_iter().map(DocumentWrite::from).collect())
}

/// The last path component of the part's file name (clients may send a path), or `upload`.
fn file_name(upload: &Upload) -> String {
    upload
        .file_name()
        .and_then(|name| name.rsplit(['/', '\\']).next())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or("upload")
        .to_string()
}
