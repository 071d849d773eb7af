//! Streaming NDJSON bulk ingestion.

use std::collections::VecDeque;

use poem::Body;
use poem_openapi::payload::Binary;
use poem_openapi::{ApiRequest, Object};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use super::dto::document::{DocumentBody, UpsertOutcome};
use super::problem::{ApiError, Problem};
use crate::error::AppError;
use crate::service::{Library, UpsertPipeline};

/// An NDJSON body: one JSON document object a line.
#[derive(Debug, ApiRequest)]
pub enum BulkBody {
    /// Newline-delimited JSON.
    #[oai(content_type = "application/x-ndjson")]
    Ndjson(Binary<Body>),
    /// The same, under its other common name.
    #[oai(content_type = "application/jsonl")]
    Jsonl(Binary<Body>),
}

/// What happened to one line.
#[derive(Debug, Object)]
pub struct BulkItem {
    /// 1-based line number in the body.
    pub line: u64,
    /// Document id when the line was stored (absent when it failed).
    #[oai(skip_serializing_if_is_none)]
    pub id: Option<String>,
    /// What the upsert did; absent when the line failed.
    #[oai(skip_serializing_if_is_none)]
    pub outcome: Option<UpsertOutcome>,
    /// Why the line failed; absent when it was stored.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<Problem>,
}

/// Totals and per-line results of a bulk request.
#[derive(Debug, Default, Object)]
pub struct BulkSummary {
    /// Lines that created a document.
    pub created: u64,
    /// Lines that replaced a document.
    pub updated: u64,
    /// Lines whose content was already stored.
    pub unchanged: u64,
    /// Lines that failed (see `items`).
    pub failed: u64,
    /// One entry per non-blank line, in order.
    pub items: Vec<BulkItem>,
}

/// Reads `body` line by line within the configured byte and document limits and upserts each
/// line into `collection`. Lines fail independently and are written in order, while the
/// lines after the one being written are already chunked and embedded.
pub async fn ingest_ndjson(
    library: &Library,
    collection: &str,
    body: BulkBody,
) -> Result<BulkSummary, ApiError> {
    library.collection(collection).await?;
    let (BulkBody::Ndjson(Binary(body)) | BulkBody::Jsonl(Binary(body))) = body;
    let max_bytes = library.config().server.max_bulk_bytes as u64;
    let max_documents = library.config().ingest.max_bulk_documents as u64;
    let mut reader = BufReader::new(body.into_async_read().take(max_bytes + 1));
    let mut summary = BulkSummary::default();
    let mut upserts = NumberedUpserts::new(library, collection);
    let mut consumed = 0u64;
    let mut line_number = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).await.map_err(|e| {
            AppError::invalid("invalid_body", format!("reading the body failed: {e}"))
        })?;
        if read == 0 {
            break;
        }
        consumed += read as u64;
        line_number += 1;
        if consumed > max_bytes {
            upserts.finish(&mut summary).await;
            return Err(AppError::PayloadTooLarge(format!(
                "bulk body exceeds {max_bytes} bytes; lines 1-{} were processed ({} stored), send the rest in another request",
                line_number - 1,
                summary.created + summary.updated + summary.unchanged
            ))
            .into());
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if upserts.pushed >= max_documents {
            upserts.finish(&mut summary).await;
            return Err(AppError::PayloadTooLarge(format!(
                "a bulk request may hold at most {max_documents} documents; lines 1-{} were processed",
                line_number - 1
            ))
            .into());
        }
        upserts.push(line_number, &line, &mut summary).await;
    }
    upserts.finish(&mut summary).await;
    Ok(summary)
}

/// The upsert pipeline of one request, with the line number of each document in it.
struct NumberedUpserts {
    upserts: UpsertPipeline,
    lines: VecDeque<u64>,
    pushed: u64,
}

impl NumberedUpserts {
    fn new(library: &Library, collection: &str) -> Self {
        Self {
            upserts: UpsertPipeline::new(library, collection),
            lines: VecDeque::new(),
            pushed: 0,
        }
    }

    /// Parses line `line_number` and queues it, first writing (and reporting) the oldest
    /// queued line when the pipeline is full.
    async fn push(&mut self, line_number: u64, line: &[u8], summary: &mut BulkSummary) {
        if self.upserts.is_full() {
            self.write_next(summary).await;
        }
        let input = serde_json::from_slice::<DocumentBody>(line)
            .map(Into::into)
            .map_err(|e| AppError::invalid("invalid_json", format!("line {line_number}: {e}")));
        self.upserts.push(input);
        self.lines.push_back(line_number);
        self.pushed += 1;
    }

    /// Writes every queued line, reporting each.
    async fn finish(&mut self, summary: &mut BulkSummary) {
        while !self.lines.is_empty() {
            self.write_next(summary).await;
        }
    }

    async fn write_next(&mut self, summary: &mut BulkSummary) {
        let (Some(line), Some(result)) = (self.lines.pop_front(), self.upserts.write_next().await)
        else {
            return;
        };
        let item = match result {
            Ok((document, outcome)) => BulkItem {
                line,
                id: Some(document.id),
                outcome: Some(outcome.into()),
                error: None,
            },
            Err(err) => BulkItem {
                line,
                id: None,
                outcome: None,
                error: Some(ApiError::from(err).into_problem()),
            },
        };
        match (&item.outcome, &item.error) {
            (Some(UpsertOutcome::Created), _) => summary.created += 1,
            (Some(UpsertOutcome::Updated), _) => summary.updated += 1,
            (Some(UpsertOutcome::Unchanged), _) => summary.unchanged += 1,
            _ => summary.failed += 1,
        }
        summary.items.push(item);
    }
}
