//! Building a library from the configuration: store, embedding cache, encoder worker and the
//! in-memory indexes rebuilt from the store.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::Library;
use super::encoders::Encoders;
use crate::cache::embedding::EmbeddingCache;
use crate::config::Config;
use crate::config::Loading;
use crate::error::{AppError, AppResult};
use crate::inference::batcher::{BatchLimits, ThreadPlan};
use crate::inference::embedder::Embedder;
use crate::inference::reranker::{Reranker, TokenVectorSources};
use crate::inference::{LoadOptions, device_of};
use crate::model::Collection;
use crate::retrieval::decompound::Decompounder;
use crate::retrieval::index::{CollectionIndex, IndexedChunk, SearchIndex};
use crate::store::Store;

/// Bytes in a mebibyte, for the `*_mib` settings.
const MIB: u64 = 1024 * 1024;

impl Library {
    /// Opens the store, starts the encoder and reranker workers (loading their models as
    /// `[models] loading` says), rebuilds the search indexes from the store and follows the
    /// change log from there (the text generator is attached separately, by
    /// [`Library::with_generator`]). [`Library::close`] stops following.
    pub async fn open(config: Arc<Config>) -> AppResult<Self> {
        let store = Store::open(&config.storage).await?;
        let (encoders, cache) = load_encoders(&config)?;
        let reranker = load_reranker(&config, cache)?;
        let index = SearchIndex::new(load_decompounder(&config));
        let library = Library::assemble(store, config, encoders, reranker, index);
        library.start_following().await?;
        Ok(library)
    }

    /// Loads every collection's chunks and vectors from the store into the search indexes,
    /// and drops the indexes of collections the store no longer has.
    pub(super) async fn rebuild_indexes(&self) -> AppResult<()> {
        let started = Instant::now();
        let mut chunks = 0;
        let collections = self.store.collections().await?;
        self.index
            .retain(|name| collections.iter().any(|collection| collection.name == name));
        for collection in collections {
            let index = self.build_index(&collection).await?;
            chunks += index.chunk_count();
            if index.vector_count() < index.chunk_count() {
                tracing::warn!(
                    collection = %collection.name,
                    missing = index.chunk_count() - index.vector_count(),
                    "chunks without embeddings are not found by dense search; run `constitutional-rag reindex`"
                );
            }
            self.index.replace(&collection.name, index);
        }
        tracing::info!(
            chunks,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "search indexes rebuilt"
        );
        Ok(())
    }

    /// A fresh search index of `collection` from the store.
    pub(super) async fn build_index(&self, collection: &Collection) -> AppResult<CollectionIndex> {
        let (documents, rows) = self.store.index_rows(&collection.name).await?;
        let mut by_document: HashMap<String, Vec<IndexedChunk>> = HashMap::new();
        for row in rows {
            by_document
                .entry(row.document)
                .or_default()
                .push(IndexedChunk {
                    chunk_id: row.id,
                    text: row.text,
                    embedding: row.embedding.map(Arc::from),
                });
        }
        let mut index = self
            .index
            .empty_collection(collection.language, collection.embedding_dimension as usize);
        for (document_id, metadata) in documents {
            let chunks = by_document.remove(&document_id).unwrap_or_default();
            index.put_document(&document_id, metadata, chunks);
        }
        Ok(index)
    }
}

/// The Swedish compound splitter of `models.swedish_dictionary`, or `None` (with a warning)
/// when it cannot be read: Swedish BM25 then keeps compounds whole.
fn load_decompounder(config: &Config) -> Option<Arc<Decompounder>> {
    let dir = config.models.path_of(&config.models.swedish_dictionary);
    let started = Instant::now();
    match Decompounder::load(&dir) {
        Ok(decompounder) => {
            tracing::info!(
                dictionary = %dir.display(),
                forms = decompounder.form_count(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "Swedish compound splitting loaded"
            );
            Some(Arc::new(decompounder))
        }
        Err(e) => {
            tracing::warn!(
                dictionary = %dir.display(),
                error = %e,
                "Swedish dictionary not readable: Swedish BM25 will not split compounds \
                 (run `just setup` or set models.swedish_dictionary)"
            );
            None
        }
    }
}

/// Device, precision (`auto` is probed when each model loads) and threads from `[inference]`.
fn load_options(config: &Config) -> AppResult<LoadOptions> {
    let inference = &config.inference;
    let device = device_of(inference.device).map_err(|e| AppError::Unavailable(e.to_string()))?;
    Ok(LoadOptions {
        device,
        precision: inference.precision,
        max_length: None,
        batch_size: inference.max_batch_size,
        threads: inference.threads,
        bulk_threads: inference.bulk_threads,
    })
}

/// Batch limits from `[inference]`.
fn batch_limits(config: &Config) -> BatchLimits {
    let inference = &config.inference;
    BatchLimits {
        max_batch_tokens: inference.max_batch_tokens,
        max_batch_size: inference.max_batch_size,
        max_queued: inference.max_queue,
        threads: ThreadPlan::from_settings(inference.threads, inference.bulk_threads),
    }
}

/// The configured cross-encoder, or MaxSim over the sentence encoder when none is set (it
/// finds the token vectors ingestion stored in the embedding cache's file).
fn load_reranker(config: &Config, cache: Arc<EmbeddingCache>) -> AppResult<Reranker> {
    let (options, limits) = (load_options(config)?, batch_limits(config));
    let max_length = config.inference.rerank_max_length;
    if config.models.reranker.is_empty() {
        let dir = config.models.path_of(&config.models.embedding);
        let sources = TokenVectorSources {
            memory_bytes: config.cache.token_vectors_memory_mib * MIB,
            stored: Some(cache),
        };
        let loading = config.models.loading;
        Reranker::max_sim(&dir, options, limits, loading, max_length, sources)
    } else {
        let dir = config.models.path_of(&config.models.reranker);
        Reranker::cross_encoder(&dir, options, limits, config.models.loading, max_length)
    }
}

/// The encoders of `models.embedding` and `models.swedish_embedding`, and the one embedding
/// cache they share (its keys name the model). The Swedish one loads on first use (or at
/// start with `models.loading = "eager"`); when it cannot be read, Swedish collections use
/// the first. With the MaxSim reranker (no `models.reranker`), the first also stores the
/// token vectors of the passages it embeds for ingestion.
fn load_encoders(config: &Config) -> AppResult<(Encoders, Arc<EmbeddingCache>)> {
    let cache_path =
        (!config.cache.embedding_path.is_empty()).then(|| Path::new(&config.cache.embedding_path));
    if let Some(parent) = cache_path
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            AppError::Unavailable(format!("cannot create {}: {e}", parent.display()))
        })?;
    }
    let cache = EmbeddingCache::open(cache_path, config.cache.embedding_memory_mib * MIB)
        .map_err(|e| AppError::Unavailable(e.to_string()))?
        .with_token_vector_budget(config.cache.token_vectors_disk_mib * MIB);
    let cache = Arc::new(cache);
    let models = &config.models;
    let default = Embedder::load(
        "encoder",
        &models.path_of(&models.embedding),
        load_options(config)?,
        batch_limits(config),
        models.loading,
        cache.clone(),
    )?;
    let default = if models.reranker.is_empty() {
        default.keep_token_vectors_for(config.inference.rerank_max_length)
    } else {
        default
    };
    let swedish =
        if models.swedish_embedding.is_empty() || models.swedish_embedding == models.embedding {
            None
        } else {
            let dir = models.path_of(&models.swedish_embedding);
            let loading = match models.loading {
                Loading::Eager => Loading::Eager,
                Loading::Background | Loading::Lazy => Loading::Lazy,
            };
            let options = load_options(config)?;
            match Embedder::load(
                "swedish-encoder",
                &dir,
                options,
                batch_limits(config),
                loading,
                cache.clone(),
            ) {
                Ok(encoder) => Some(encoder),
                Err(e) => {
                    tracing::warn!(
                        model = %dir.display(),
                        error = %e,
                        "Swedish encoder not readable: Swedish collections use models.embedding \
                         (run `just setup` or set models.swedish_embedding)"
                    );
                    None
                }
            }
        };
    Ok((Encoders::new(default, swedish), cache))
}
