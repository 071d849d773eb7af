//! `constitutional-rag ingest`: files from disk into a collection, with a progress bar.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::ingest::files::{collect_files, document_inputs};
use crate::ingest::parse::{Format, parse};
use crate::model::{Language, UpsertOutcome};
use crate::service::Library;

/// Totals of an ingestion run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct IngestSummary {
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

/// Runs `ingest`: every file under `paths` into `collection`, created with `language`
/// when missing; fails when any file or document failed.
pub async fn run(
    config: Arc<Config>,
    paths: &[PathBuf],
    collection: &str,
    language: Language,
    quiet: bool,
) -> anyhow::Result<()> {
    let files = collect_files(paths)?;
    let library = Library::open(config).await?;
    let summary = ingest_files(&library, collection, language, &files, quiet).await?;
    println!(
        "ingested {} files into '{collection}': {} created, {} updated, {} unchanged, {} chunks, {} failures",
        summary.files,
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.chunks,
        summary.failures.len()
    );
    for failure in &summary.failures {
        eprintln!("failed: {failure}");
    }
    if summary.failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} failures", summary.failures.len())
    }
}

/// Ingests `files` into `collection` (created with `language` when missing), showing a
/// progress bar on stderr unless `quiet`.
async fn ingest_files(
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
    for (index, input) in document_inputs(file, documents).into_iter().enumerate() {
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
