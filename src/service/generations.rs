//! Write generations: a counter per collection that every committed write bumps, and one for
//! the set of collections, so that anything derived from a collection's contents (a cached
//! answer) can tell when it went stale.

use std::collections::HashMap;
use std::sync::RwLock;

/// The live counters; a collection never written since start is at generation 0.
#[derive(Debug, Default)]
pub(super) struct Generations {
    counters: RwLock<GenerationSnapshot>,
}

impl Generations {
    /// A write to `collection`'s contents has committed.
    pub(super) fn bump(&self, collection: &str) {
        let mut counters = self.counters.write().expect("generations lock");
        *counters
            .collections
            .entry(collection.to_string())
            .or_default() += 1;
    }

    /// `collection` was created or deleted: its contents and the set of collections changed.
    pub(super) fn bump_catalog(&self, collection: &str) {
        let mut counters = self.counters.write().expect("generations lock");
        *counters
            .collections
            .entry(collection.to_string())
            .or_default() += 1;
        counters.catalog += 1;
    }

    /// The counters now.
    pub(super) fn snapshot(&self) -> GenerationSnapshot {
        self.counters.read().expect("generations lock").clone()
    }
}

/// The write generations at one moment (see [`super::Library::generations`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerationSnapshot {
    collections: HashMap<String, u64>,
    catalog: u64,
}

impl GenerationSnapshot {
    /// The generation of the set of collections, then that of each of `collections`: two
    /// snapshots give equal vectors only if no collection was created or deleted and none of
    /// `collections` was written in between.
    pub fn of(&self, collections: &[String]) -> Vec<u64> {
        std::iter::once(self.catalog)
            .chain(
                collections
                    .iter()
                    .map(|name| self.collections.get(name).copied().unwrap_or(0)),
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn writes_change_only_their_collection_and_catalog_changes_change_all() {
        let generations = Generations::default();
        let searched = names(&["sfs", "guides"]);
        let before = generations.snapshot().of(&searched);
        assert_eq!(before, [0, 0, 0]);
        generations.bump("statutes");
        assert_eq!(generations.snapshot().of(&searched), before);
        generations.bump("sfs");
        assert_eq!(generations.snapshot().of(&searched), [0, 1, 0]);
        generations.bump_catalog("new");
        assert_eq!(generations.snapshot().of(&searched), [1, 1, 0]);
    }
}
