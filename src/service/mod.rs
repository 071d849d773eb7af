//! The document library: collections, documents and search, independent of HTTP.

mod collections;
mod documents;
mod hashing;
mod search;
pub mod validate;

pub use documents::{DocumentInput, DocumentListing};
pub use search::{SearchMode, SearchRequest};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::store::Store;

/// Identifier of the embedding model new collections are tagged with.
pub const DEFAULT_EMBEDDING_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// Dimension of [`DEFAULT_EMBEDDING_MODEL`]'s vectors.
pub const DEFAULT_EMBEDDING_DIMENSION: u32 = 384;

/// Shared handle on the store and the configuration; cheap to clone.
#[derive(Clone)]
pub struct Library {
    store: Store,
    config: Arc<Config>,
    write_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Library {
    /// A library over `store` with limits from `config`.
    pub fn new(store: Store, config: Arc<Config>) -> Self {
        Self {
            store,
            config,
            write_locks: Arc::default(),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
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
