//! Upserting a stream of documents in order while later ones are already being chunked and
//! embedded: the encoder works on the next documents while the store commits this one.

use std::collections::VecDeque;

use tokio::task::JoinHandle;

use super::Library;
use super::documents::StagedDocument;
use crate::error::{AppError, AppResult};
use crate::model::{Document, DocumentInput, UpsertOutcome};

/// Most documents staged ahead of the one being written: enough for their chunks to fill
/// the encoder's batches, few enough that a client going away wastes little work.
pub const STAGED_AHEAD: usize = 32;
/// Most text (in bytes) staged ahead, so that a few huge documents cannot fill the encoder's
/// queue (`inference.max_queue` texts) and be refused where one at a time they would not.
pub const STAGED_BYTES_AHEAD: usize = 512 * 1024;

/// What became of one pushed document.
pub type UpsertResult = AppResult<(Document, UpsertOutcome)>;

/// One pushed document: refused before staging, or staging in its own task (with the
/// length of its text).
enum Entry {
    Refused(AppError),
    Staging(JoinHandle<AppResult<StagedDocument>>, usize),
}

/// Upserts documents into one collection in the order they are pushed, each as
/// [`Library::upsert_document`] does (and each failing on its own), with up to
/// [`STAGED_AHEAD`] of them (and [`STAGED_BYTES_AHEAD`] of their text) validated, chunked and
/// embedded concurrently ahead of the write.
/// Writes happen one at a time, in push order, so a later document with the same external
/// id replaces an earlier one as it would sent one by one. Dropping the pipeline abandons
/// what was staged and not written.
pub struct UpsertPipeline {
    library: Library,
    collection: String,
    entries: VecDeque<Entry>,
    staged_bytes: usize,
}

impl UpsertPipeline {
    /// An empty pipeline into `collection`.
    pub fn new(library: &Library, collection: &str) -> Self {
        Self {
            library: library.clone(),
            collection: collection.to_string(),
            entries: VecDeque::new(),
            staged_bytes: 0,
        }
    }

    /// Queues a document (or the reason it could not be read, reported in its turn) and
    /// starts staging it.
    pub fn push(&mut self, input: AppResult<DocumentInput>) {
        let entry = match input {
            Err(err) => Entry::Refused(err),
            Ok(input) => {
                let bytes = input.text.len();
                self.staged_bytes += bytes;
                let library = self.library.clone();
                let collection = self.collection.clone();
                let task =
                    tokio::spawn(async move { library.stage_document(&collection, input).await });
                Entry::Staging(task, bytes)
            }
        };
        self.entries.push_back(entry);
    }

    /// Whether the next push should wait for a write first.
    pub fn is_full(&self) -> bool {
        self.entries.len() >= STAGED_AHEAD || self.staged_bytes >= STAGED_BYTES_AHEAD
    }

    /// Writes the oldest pushed document and returns what became of it; `None` when none is
    /// left.
    pub async fn write_next(&mut self) -> Option<UpsertResult> {
        let entry = self.entries.pop_front()?;
        Some(match entry {
            Entry::Refused(err) => Err(err),
            Entry::Staging(task, bytes) => {
                self.staged_bytes -= bytes;
                match task.await {
                    Ok(Ok(staged)) => self.library.commit_document(staged).await,
                    Ok(Err(err)) => Err(err),
                    Err(err) => Err(AppError::Internal(format!("staging task: {err}"))),
                }
            }
        })
    }
}

impl Drop for UpsertPipeline {
    fn drop(&mut self) {
        for entry in &self.entries {
            if let Entry::Staging(task, _) = entry {
                task.abort();
            }
        }
    }
}
