//! Document operations: upsert by external id or content hash, atomic replace and delete.

use futures::future::try_join_all;

use super::chunking::{chunk_for_encoder, embedding_text};
use super::follow::WrittenDocument;
use super::hashing::content_hash;
use super::{Library, validate};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::inference::batcher::Priority;
use crate::inference::embedder::Embedder;
use crate::inference::tokenizer::TextRole;
use crate::model::{
    Chunk, ChunkInfo, Collection, Document, DocumentInput, PreparedDocument, UpsertOutcome,
};
use crate::retrieval::index::IndexedChunk;
use crate::store::MetadataFilter;

/// Longest accepted title when none is given and one is taken from the text.
const DERIVED_TITLE_CHARS: usize = 120;
/// Times a write is decided again when other servers keep writing the same document first.
const WRITE_ATTEMPTS: usize = 3;
/// Largest page of a document listing.
pub const MAX_PAGE_SIZE: u32 = 100;

/// A document validated, chunked and embedded (or found already stored), not yet written.
pub struct StagedDocument {
    target: Collection,
    prepared: PreparedDocument,
    stored: Option<Document>,
}

/// A page of documents.
#[derive(Debug)]
pub struct DocumentListing {
    /// The documents on the page.
    pub documents: Vec<Document>,
    /// Matching documents across all pages.
    pub total: u64,
}

impl Library {
    /// Stores `input` in `collection`: identical content already there is left alone
    /// (`Unchanged`), a known external id is replaced in place (`Updated`), else a new
    /// document is created (`Created`).
    pub async fn upsert_document(
        &self,
        collection: &str,
        input: DocumentInput,
    ) -> AppResult<(Document, UpsertOutcome)> {
        let staged = self.stage_document(collection, input).await?;
        self.commit_document(staged).await
    }

    /// Stores every document of `inputs` in `collection` as [`upsert_document`] does, or
    /// none of them when one is invalid: all are validated, chunked and embedded (together,
    /// so the encoder batches their chunks) before the first is written.
    ///
    /// [`upsert_document`]: Library::upsert_document
    pub async fn upsert_documents(
        &self,
        collection: &str,
        inputs: Vec<DocumentInput>,
    ) -> AppResult<Vec<(Document, UpsertOutcome)>> {
        let target = self.collection(collection).await?;
        let encoder = self.encoders.for_writing(&target);
        let mut prepared = Vec::with_capacity(inputs.len());
        for input in inputs {
            prepared.push(self.prepare(&target, encoder, input).await?);
        }
        let stored = try_join_all(
            prepared
                .iter_mut()
                .map(|document| self.embed_unless_stored(encoder, document)),
        )
        .await?;
        let mut results = Vec::with_capacity(prepared.len());
        for (document, existing) in prepared.into_iter().zip(stored) {
            results.push(match existing {
                Some(existing) => (existing, UpsertOutcome::Unchanged),
                None => self.write_prepared(&target, document).await?,
            });
        }
        Ok(results)
    }

    /// The first half of [`upsert_document`]: validates, chunks and embeds `input` for
    /// `collection` (or finds its identical twin already stored), writing nothing. Many may
    /// be staged at once; [`commit_document`] writes each.
    ///
    /// [`upsert_document`]: Library::upsert_document
    /// [`commit_document`]: Library::commit_document
    pub async fn stage_document(
        &self,
        collection: &str,
        input: DocumentInput,
    ) -> AppResult<StagedDocument> {
        let target = self.collection(collection).await?;
        let encoder = self.encoders.for_writing(&target);
        let mut prepared = self.prepare(&target, encoder, input).await?;
        let stored = self.embed_unless_stored(encoder, &mut prepared).await?;
        Ok(StagedDocument {
            target,
            prepared,
            stored,
        })
    }

    /// The second half of [`upsert_document`]: writes a staged document (or reports the
    /// identical one found while staging).
    ///
    /// [`upsert_document`]: Library::upsert_document
    pub async fn commit_document(
        &self,
        staged: StagedDocument,
    ) -> AppResult<(Document, UpsertOutcome)> {
        match staged.stored {
            Some(existing) => Ok((existing, UpsertOutcome::Unchanged)),
            None => self.write_prepared(&staged.target, staged.prepared).await,
        }
    }

    /// The stored document identical to `prepared`, or else `prepared` with its chunks
    /// embedded by `encoder` and `None`.
    async fn embed_unless_stored(
        &self,
        encoder: &Embedder,
        prepared: &mut PreparedDocument,
    ) -> AppResult<Option<Document>> {
        if let Some(existing) = self.identical_document(prepared).await? {
            return Ok(Some(existing));
        }
        embed_chunks(&self.config, encoder, prepared).await?;
        Ok(None)
    }

    /// Writes an embedded document under the collection's lock: replaces the document with
    /// its external id, or creates it (`Unchanged` when identical content arrived meanwhile).
    /// When another server created the document first, the write is decided again.
    async fn write_prepared(
        &self,
        target: &Collection,
        prepared: PreparedDocument,
    ) -> AppResult<(Document, UpsertOutcome)> {
        let collection = target.name.as_str();
        let _guard = self.lock_collection(collection).await;
        for _ in 0..WRITE_ATTEMPTS {
            if let Some(existing) = self.identical_document(&prepared).await? {
                return Ok((existing, UpsertOutcome::Unchanged));
            }
            let replaced = match &prepared.external_id {
                Some(external_id) => {
                    self.store
                        .document_by_external_id(collection, external_id)
                        .await?
                }
                None => None,
            };
            let ((document, version), outcome) = if let Some(existing) = replaced {
                let version = existing.version + 1;
                let updated = self
                    .store
                    .replace_document(&existing.id, &prepared, version)
                    .await?;
                (updated, UpsertOutcome::Updated)
            } else {
                let id = uuid::Uuid::now_v7().to_string();
                match self.store.insert_document(&id, &prepared).await? {
                    Some(created) => (created, UpsertOutcome::Created),
                    None => continue,
                }
            };
            self.await_applied(version, Some(written(&document.id, prepared)))
                .await;
            return Ok((document, outcome));
        }
        Err(AppError::Conflict(format!(
            "the document kept being written by other servers in collection '{collection}'; retry"
        )))
    }

    /// Replaces document `id` atomically; the version goes up unless nothing changed.
    pub async fn update_document(
        &self,
        collection: &str,
        id: &str,
        input: DocumentInput,
    ) -> AppResult<(Document, UpsertOutcome)> {
        let target = self.collection(collection).await?;
        let encoder = self.encoders.for_writing(&target);
        let mut prepared = self.prepare(&target, encoder, input).await?;
        let existing = self.existing_document(collection, id).await?;
        if existing.content_hash == prepared.content_hash
            && existing.external_id == prepared.external_id
        {
            return Ok((existing, UpsertOutcome::Unchanged));
        }
        embed_chunks(&self.config, encoder, &mut prepared).await?;
        let _guard = self.lock_collection(collection).await;
        let existing = self.existing_document(collection, id).await?;
        if let Some(external_id) = &prepared.external_id
            && let Some(other) = self
                .store
                .document_by_external_id(collection, external_id)
                .await?
            && other.id != id
        {
            return Err(AppError::Conflict(format!(
                "external id '{external_id}' already belongs to document {}",
                other.id
            )));
        }
        let (updated, version) = self
            .store
            .replace_document(id, &prepared, existing.version + 1)
            .await?;
        self.await_applied(version, Some(written(id, prepared)))
            .await;
        Ok((updated, UpsertOutcome::Updated))
    }

    /// A stored document with the same content and external id, if any.
    async fn identical_document(&self, prepared: &PreparedDocument) -> AppResult<Option<Document>> {
        Ok(self
            .store
            .document_by_hash(&prepared.collection, &prepared.content_hash)
            .await?
            .filter(|existing| existing.external_id == prepared.external_id))
    }

    /// One document, optionally with its text, or 404.
    pub async fn document(
        &self,
        collection: &str,
        id: &str,
        with_content: bool,
    ) -> AppResult<Document> {
        validate::collection_name(collection)?;
        validate::short_text("document id", id)?;
        self.store
            .document(collection, id, with_content)
            .await?
            .ok_or_else(|| {
                AppError::not_found(format!("document '{id}' in collection '{collection}'"))
            })
    }

    /// The chunks of a document in order, or 404 for an unknown document.
    pub async fn document_chunks(&self, collection: &str, id: &str) -> AppResult<Vec<ChunkInfo>> {
        self.document(collection, id, false).await?;
        self.store.document_chunks(id).await
    }

    /// Page `page` (1-based) of `page_size` documents matching `filter`.
    pub async fn list_documents(
        &self,
        collection: &str,
        filter: &MetadataFilter,
        page: u32,
        page_size: u32,
    ) -> AppResult<DocumentListing> {
        if page == 0 {
            return Err(AppError::invalid("invalid_page", "page starts at 1"));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(AppError::invalid(
                "invalid_page_size",
                format!("page_size must be within 1..={MAX_PAGE_SIZE}"),
            ));
        }
        self.collection(collection).await?;
        let offset = u64::from(page - 1) * u64::from(page_size);
        let page = self
            .store
            .list_documents(collection, filter, offset, u64::from(page_size))
            .await?;
        Ok(DocumentListing {
            documents: page.documents,
            total: page.total,
        })
    }

    /// Deletes a document and its chunks atomically, or 404.
    pub async fn delete_document(&self, collection: &str, id: &str) -> AppResult<()> {
        validate::collection_name(collection)?;
        validate::short_text("document id", id)?;
        let _guard = self.lock_collection(collection).await;
        match self.store.delete_document(collection, id).await? {
            Some(version) => {
                self.await_applied(version, None).await;
                Ok(())
            }
            None => Err(AppError::not_found(format!(
                "document '{id}' in collection '{collection}'"
            ))),
        }
    }

    async fn existing_document(&self, collection: &str, id: &str) -> AppResult<Document> {
        validate::short_text("document id", id)?;
        self.store
            .document(collection, id, false)
            .await?
            .ok_or_else(|| {
                AppError::not_found(format!("document '{id}' in collection '{collection}'"))
            })
    }

    /// Validates, hashes and chunks a document for `collection`, whose vectors come from
    /// `encoder`.
    async fn prepare(
        &self,
        collection: &Collection,
        encoder: &Embedder,
        input: DocumentInput,
    ) -> AppResult<PreparedDocument> {
        let limits = &self.config.ingest;
        validate::text("text", &input.text, limits.max_document_chars)?;
        if let Some(external_id) = &input.external_id {
            validate::text("external_id", external_id, 512)?;
        }
        if let Some(title) = &input.title {
            validate::short_text("title", title)?;
        }
        if let Some(source) = &input.source {
            validate::optional_text("source", source, 4_096)?;
        }
        validate::metadata(&input.metadata)?;
        let metadata_size = serde_json::to_string(&input.metadata).map_or(0, |s| s.len());
        if metadata_size > 64 * 1024 {
            return Err(AppError::invalid(
                "metadata_too_large",
                "metadata must serialise to at most 64 KiB",
            ));
        }
        let title = match input.title {
            Some(title) if !title.trim().is_empty() => title,
            _ => derive_title(&input.text, input.external_id.as_deref()),
        };
        let content_hash = content_hash(
            &title,
            input.source.as_deref(),
            &input.metadata,
            &input.text,
        );
        let (text, chunks) = self.chunk(encoder, &title, input.text).await?;
        Ok(PreparedDocument {
            collection: collection.name.clone(),
            external_id: input.external_id,
            title,
            source: input.source,
            metadata: input.metadata,
            content: text,
            content_hash,
            chunk_ids: chunks
                .iter()
                .map(|_| uuid::Uuid::now_v7().to_string())
                .collect(),
            chunks,
            embeddings: Vec::new(),
        })
    }
}

impl Library {
    /// Chunks `text` for `encoder` on the blocking pool (tokenizing a long document takes a
    /// while); the text comes back with its chunks.
    async fn chunk(
        &self,
        encoder: &Embedder,
        title: &str,
        text: String,
    ) -> AppResult<(String, Vec<Chunk>)> {
        let tokenizer = encoder.tokenizer().clone();
        let config = self.config.clone();
        let title = title.to_string();
        tokio::task::spawn_blocking(move || {
            let chunks = chunk_for_encoder(&text, &title, &config.ingest, &tokenizer);
            (text, chunks)
        })
        .await
        .map_err(|e| AppError::Internal(format!("chunking task: {e}")))
    }
}

/// A committed document as the search index takes it.
fn written(id: &str, prepared: PreparedDocument) -> WrittenDocument {
    let chunks = prepared
        .chunk_ids
        .into_iter()
        .zip(prepared.chunks)
        .zip(prepared.embeddings)
        .map(|((chunk_id, chunk), embedding)| IndexedChunk {
            chunk_id,
            text: chunk.text,
            embedding: Some(embedding),
        })
        .collect();
    WrittenDocument {
        id: id.to_string(),
        collection: prepared.collection,
        metadata: prepared.metadata,
        chunks,
    }
}

/// A title from the first non-blank line of `text`, else the external id.
fn derive_title(text: &str, external_id: Option<&str>) -> String {
    let first_line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if first_line.is_empty() {
        return external_id.unwrap_or("untitled").to_string();
    }
    let mut title: String = first_line.chars().take(DERIVED_TITLE_CHARS).collect();
    if first_line.chars().count() > DERIVED_TITLE_CHARS {
        title.push('…');
    }
    title
}

impl Library {
    /// The collection that holds document `id`, or 404.
    pub async fn document_collection(&self, id: &str) -> AppResult<String> {
        validate::short_text("document id", id)?;
        self.store
            .document_collection(id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("document '{id}'")))
    }
}

/// Embeds every chunk with `encoder` (through the cache, at bulk priority), with its
/// document title and structural path as context.
async fn embed_chunks(
    config: &Config,
    encoder: &Embedder,
    prepared: &mut PreparedDocument,
) -> AppResult<()> {
    let texts: Vec<String> = prepared
        .chunks
        .iter()
        .map(|chunk| {
            embedding_text(
                config.ingest.context_header,
                &prepared.title,
                &chunk.path,
                &chunk.text,
            )
        })
        .collect();
    prepared.embeddings = encoder
        .embed(&texts, TextRole::Passage, Priority::Bulk)
        .await?
        .vectors;
    Ok(())
}
