//! The collection records, kept in memory: every search and answer needs them, and they change
//! only when a collection is created, deleted or reindexed, which reload them.

use std::sync::{Arc, RwLock};

use crate::error::AppResult;
use crate::model::Collection;
use crate::store::Store;

/// The stored collection records (without counts), loaded on first use.
#[derive(Clone, Default)]
pub struct Catalog {
    state: Arc<RwLock<State>>,
}

#[derive(Default)]
struct State {
    /// Bumped by every invalidation, so a load that raced with a write is not kept.
    generation: u64,
    records: Option<Arc<Vec<Collection>>>,
}

impl Catalog {
    /// The records, read from `store` when not loaded.
    pub async fn records(&self, store: &Store) -> AppResult<Arc<Vec<Collection>>> {
        let generation = {
            let state = self.state.read().expect("catalog lock");
            if let Some(records) = &state.records {
                return Ok(records.clone());
            }
            state.generation
        };
        let loaded = Arc::new(store.collections().await?);
        let mut state = self.state.write().expect("catalog lock");
        if state.generation == generation {
            state.records = Some(loaded.clone());
        }
        Ok(loaded)
    }

    /// Forgets the records; call after a collection record was written (or may have been).
    pub fn invalidate(&self) {
        let mut state = self.state.write().expect("catalog lock");
        state.generation += 1;
        state.records = None;
    }
}
