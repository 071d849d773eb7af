//! Write generations: for each collection, the corpus version (change-log number) of the last
//! change applied to it, and the same for the set of collections, so that anything derived
//! from a collection's contents (a cached answer) can tell when it went stale. Versions are
//! the same on every server, so equal generations mean equal contents everywhere.

use std::collections::HashMap;
use std::sync::RwLock;

/// The live generations; a collection not changed since this server started is at 0.
#[derive(Debug, Default)]
pub(super) struct Generations {
    counters: RwLock<GenerationSnapshot>,
}

impl Generations {
    /// The change numbered `version` to `collection`'s contents has been applied.
    pub(super) fn changed(&self, collection: &str, version: u64) {
        let mut counters = self.counters.write().expect("generations lock");
        let generation = counters
            .collections
            .entry(collection.to_string())
            .or_default();
        *generation = (*generation).max(version);
    }

    /// `collection` was created or deleted at `version`: its contents and the set of
    /// collections changed.
    pub(super) fn catalog_changed(&self, collection: &str, version: u64) {
        self.changed(collection, version);
        let mut counters = self.counters.write().expect("generations lock");
        counters.catalog = counters.catalog.max(version);
    }

    /// Everything was reloaded from the store at `version`: every collection may have
    /// changed (the set of collections' generation stands for all of them).
    pub(super) fn all_changed(&self, version: u64) {
        let mut counters = self.counters.write().expect("generations lock");
        counters.catalog = counters.catalog.max(version);
    }

    /// The generations now.
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
        names.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn writes_change_only_their_collection_and_catalog_changes_change_all() {
        let generations = Generations::default();
        let searched = names(&["sfs", "guides"]);
        let before = generations.snapshot().of(&searched);
        assert_eq!(before, [0, 0, 0]);
        generations.changed("statutes", 1);
        assert_eq!(generations.snapshot().of(&searched), before);
        generations.changed("sfs", 2);
        assert_eq!(generations.snapshot().of(&searched), [0, 2, 0]);
        generations.catalog_changed("new", 3);
        assert_eq!(generations.snapshot().of(&searched), [3, 2, 0]);
        generations.all_changed(7);
        assert_eq!(generations.snapshot().of(&searched), [7, 2, 0]);
    }

    #[test]
    fn an_older_version_applied_late_never_moves_a_generation_back() {
        let generations = Generations::default();
        generations.changed("sfs", 9);
        generations.changed("sfs", 4);
        assert_eq!(generations.snapshot().of(&names(&["sfs"])), [0, 9]);
    }
}
