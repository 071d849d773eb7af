//! Ingesting files from disk into a collection (the `ingest` subcommand).

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::parse::{Format, ParsedDocument, parse};
use crate::error::{AppError, AppResult};
use crate::model::{Language, UpsertOutcome};
use crate::service::{DocumentInput, Library};

/// Totals of an ingestion run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestSummary {
    /// Files read.
    pub files: u64,
    /// Documents created.
    pub created: u64,
    /// Documents replaced.
    pub updated: u64,
    /// Documents already stored with identical content.
    pub unchanged: u64,
    /// Chunks written by created and updated documents.
    pub chunks: u64,
    /// Files or documents that failed, with the reason.
    pub failures: Vec<String>,
}

/// Every file under `paths` (directories recursively) with a known format, sorted.
pub fn collect_files(paths: &[PathBuf]) -> AppResult<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = pending.pop() {
        let meta = std::fs::metadata(&path)
            .map_err(|e| AppError::invalid("invalid_path", format!("{}: {e}", path.display())))?;
        if meta.is_dir() {
            let entries = std::fs::read_dir(&path).map_err(|e| {
                AppError::invalid("invalid_path", format!("{}: {e}", path.display()))
            })?;
            pending.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
        } else if Format::from_path(&path).is_some() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Ingests `files` into `collection` (created with `language` when missing), showing a
/// progress bar on stderr unless `quiet`.
pub async fn ingest_files(
    library: &Library,
    collection: &str,
    language: Language,
    files: &[PathBuf],
    quiet: bool,
) -> AppResult<IngestSummary> {
    if library.collection(collection).await.is_err() {
        library.create_collection(collection, "", language).await?;
    }
    let progress = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(files.len() as u64)
    };
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} files  {msg}  [{elapsed_precise}]")
            .expect("valid template"),
    );
    let started = Instant::now();
    let mut summary = IngestSummary::default();
    for file in files {
        summary.files += 1;
        if let Err(err) = ingest_file(library, collection, file, &mut summary).await {
            summary.failures.push(format!("{}: {err}", file.display()));
        }
        let rate = summary.chunks as f64 / started.elapsed().as_secs_f64().max(1e-3);
        progress.set_message(format!("{} chunks, {rate:.0} chunks/s", summary.chunks));
        progress.inc(1);
    }
    progress.finish();
    Ok(summary)
}

async fn ingest_file(
    library: &Library,
    collection: &str,
    file: &Path,
    summary: &mut IngestSummary,
) -> AppResult<()> {
    let format = Format::from_path(file)
        .ok_or_else(|| AppError::invalid("unsupported_format", "unknown file extension"))?;
    let bytes = tokio::fs::read(file)
        .await
        .map_err(|e| AppError::invalid("invalid_path", e.to_string()))?;
    let documents = tokio::task::spawn_blocking(move || parse(&bytes, format))
        .await
        .map_err(|e| AppError::Internal(format!("parser task: {e}")))?
        .map_err(|e| AppError::invalid("parse_error", e))?;
    let many = documents.len() > 1;
    for (index, parsed) in documents.into_iter().enumerate() {
        let input = document_input(file, index, many, parsed);
        match library.upsert_document(collection, input).await {
            Ok((document, outcome)) => {
                match outcome {
                    UpsertOutcome::Created => summary.created += 1,
                    UpsertOutcome::Updated => summary.updated += 1,
                    UpsertOutcome::Unchanged => summary.unchanged += 1,
                }
                if outcome != UpsertOutcome::Unchanged {
                    summary.chunks += u64::from(document.chunk_count);
                }
            }
            Err(err) => summary.failures.push(format!(
                "{} (document {}): {err}",
                file.display(),
                index + 1
            )),
        }
    }
    Ok(())
}

/// A document from a parsed file: its external id is the file path (plus the record's own
/// id or index for multi-document files), so re-ingesting a changed file replaces it.
fn document_input(file: &Path, index: usize, many: bool, parsed: ParsedDocument) -> DocumentInput {
    let path = file.display().to_string();
    let external_id = match (&parsed.external_id, many) {
        (Some(id), _) => id.clone(),
        (None, true) => format!("{path}#{}", index + 1),
        (None, false) => path.clone(),
    };
    let title = parsed.title.or_else(|| {
        file.file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
    });
    DocumentInput {
        external_id: Some(external_id),
        title,
        source: Some(path),
        metadata: parsed.metadata.into_iter().collect(),
        text: parsed.text,
    }
}
