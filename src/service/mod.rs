//! The document library: collections, documents and search, independent of HTTP.

mod catalog;
pub mod chunking;
mod collections;
mod documents;
pub mod encoders;
mod follow;
mod generations;
mod hashing;
mod health;
mod reindex;
mod search;
mod snapshots;
mod startup;
mod texts;
mod upsert_pipeline;
pub mod validate;

pub use documents::{DocumentListing, StagedDocument};
pub use follow::ReplicationStatus;
pub use generations::GenerationSnapshot;
pub use health::{Probe, Readiness, State};
pub use reindex::ReindexSummary;
pub use search::{SearchMode, SearchRequest};
pub use snapshots::IndexStart;
pub use upsert_pipeline::{UpsertPipeline, UpsertResult};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use generations::Generations;

use crate::cache::chunks::ChunkCache;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::inference::embedder::Embedder;
use crate::inference::reranker::Reranker;
use crate::llm::Generator;
use crate::ops::Registry;
use crate::retrieval::index::SearchIndex;
use crate::store::Store;
use encoders::Encoders;

/// Shared handle on the store, the models, the search indexes and the configuration; cheap
/// to clone.
#[derive(Clone)]
pub struct Library {
    store: Store,
    config: Arc<Config>,
    encoders: Encoders,
    reranker: Reranker,
    index: SearchIndex,
    generator: Option<Arc<dyn Generator>>,
    metrics: Arc<Registry>,
    write_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    catalog: catalog::Catalog,
    generations: Arc<Generations>,
    chunk_rows: ChunkCache,
    replication: Arc<follow::Replication>,
}

impl Library {
    /// A library from its parts (see [`Library::open`] to build one from a configuration).
    fn assemble(
        store: Store,
        config: Arc<Config>,
        encoders: Encoders,
        reranker: Reranker,
        index: SearchIndex,
    ) -> Self {
        let metrics = Arc::new(Registry::new());
        store.record_latency_in(&metrics);
        let chunk_rows = ChunkCache::new(config.cache.chunk_memory_mib * 1024 * 1024, &metrics);
        Self {
            store,
            config,
            encoders,
            reranker,
            index,
            generator: None,
            metrics,
            write_locks: Arc::default(),
            catalog: catalog::Catalog::default(),
            generations: Arc::default(),
            chunk_rows,
            replication: Arc::default(),
        }
    }

    /// The sentence encoder of `models.embedding` (English collections, the embeddings
    /// route).
    pub fn embedder(&self) -> &Embedder {
        self.encoders.default_encoder()
    }

    /// The sentence encoder of each collection language.
    pub fn encoders(&self) -> &Encoders {
        &self.encoders
    }

    /// The reranking service.
    pub fn reranker(&self) -> &Reranker {
        &self.reranker
    }

    /// This library answering with `generator` (`None` = no generation).
    pub fn with_generator(mut self, generator: Option<Arc<dyn Generator>>) -> Self {
        self.generator = generator;
        self
    }

    /// The text generator, or 503 when `[generation] backend = "none"`.
    pub fn generator(&self) -> AppResult<&Arc<dyn Generator>> {
        self.generator.as_ref().ok_or_else(|| {
            AppError::Unavailable(
                "no text generator is configured ([generation] backend = \"none\")".into(),
            )
        })
    }

    /// Ends serving: stops following the change log and commits the embedding cache's
    /// queued writes to disk. The database commits every write before acknowledging it and
    /// closes when the last handle drops.
    pub async fn close(&self) {
        self.stop_following().await;
        let embedder = self.embedder().clone();
        match tokio::task::spawn_blocking(move || embedder.flush_cache()).await {
            Ok(()) => tracing::info!("embedding cache flushed"),
            Err(err) => tracing::error!(error = %err, "flushing the embedding cache failed"),
        }
    }

    /// The metrics registry every part of the server registers its families with.
    pub fn metrics(&self) -> &Registry {
        &self.metrics
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The write generations now: every committed write to a collection (document upsert
    /// that changed something, update, delete, bulk line, reindex), once applied here, moves
    /// that collection's generation to the write's corpus version, and creating or deleting
    /// a collection moves that of the set of collections. Take the snapshot before reading
    /// what it should vouch for.
    pub fn generations(&self) -> GenerationSnapshot {
        self.generations.snapshot()
    }

    /// Serialises writes within one collection so that upserts by external id or content
    /// hash cannot race each other into duplicates.
    async fn lock_collection(&self, name: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.write_locks.lock().expect("lock map poisoned");
            locks.entry(name.to_string()).or_default().clone()
        };
        lock.lock_owned().await
    }
}
