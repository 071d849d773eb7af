//! Caches: a two-level (memory, then disk) cache of text embeddings, so that the same
//! text is never encoded twice and a restart keeps what was already computed; and an
//! in-memory cache of stored chunk rows, so that search hits need not be read from the
//! database again. The cache of finished answers is a stage of the answer pipeline
//! (`pipeline::answer_cache`).

pub mod chunks;
pub mod embedding;

use std::hash::Hash;

use quick_cache::sync::{Cache, DefaultLifecycle};
use quick_cache::{DefaultHashBuilder, OptionsBuilder, Weighter};

/// An in-memory cache holding at most `memory_bytes` as `weighter` counts them, its table
/// sized for entries of about `typical_entry_bytes`; `None` when `memory_bytes` is 0.
pub fn bounded<K, V, W>(
    memory_bytes: u64,
    typical_entry_bytes: u64,
    weighter: W,
) -> Option<Cache<K, V, W, DefaultHashBuilder>>
where
    K: Eq + Hash,
    V: Clone,
    W: Weighter<K, V> + Clone,
{
    (memory_bytes > 0).then(|| {
        let items = (memory_bytes / typical_entry_bytes.max(1)).max(1);
        let options = OptionsBuilder::new()
            .estimated_items_capacity(usize::try_from(items).unwrap_or(usize::MAX))
            .weight_capacity(memory_bytes)
            .build()
            .expect("every required quick_cache option is set");
        Cache::with_options(
            options,
            weighter,
            DefaultHashBuilder::default(),
            DefaultLifecycle::default(),
        )
    })
}
