//! In-memory cache of stored chunk rows (text, offsets, document title) by chunk id, so the
//! hits of a search do not each cost a database read.
//!
//! A chunk row never changes after it is written: replacing a document stores its chunks
//! under fresh ids (and its title with them), and a reindex rewrites only embeddings. So a
//! cached row is never stale; rows of deleted chunks are no longer found by the search
//! indexes, are never asked for again, and age out.

use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Weighter};

use crate::model::SearchHit;
use crate::ops::{Counter, Registry};

/// Bookkeeping bytes charged per entry on top of its strings.
const ENTRY_OVERHEAD_BYTES: u64 = 160;
/// Expected size of an entry, for sizing the table.
const TYPICAL_ENTRY_BYTES: u64 = 1_500;

type RowCache = Cache<String, Arc<SearchHit>, RowWeighter, DefaultHashBuilder>;

/// Stored chunk rows by chunk id, bounded by bytes; cheap to clone.
#[derive(Clone)]
pub struct ChunkCache {
    rows: Option<Arc<RowCache>>,
    hits: Arc<Counter>,
    misses: Arc<Counter>,
}

impl ChunkCache {
    /// A cache of at most `memory_bytes` (0 = no caching), counting its lookups in `registry`.
    pub fn new(memory_bytes: u64, registry: &Registry) -> Self {
        let rows = super::bounded(memory_bytes, TYPICAL_ENTRY_BYTES, RowWeighter).map(Arc::new);
        let counter =
            |name: &'static str, help: &'static str| registry.counter(name, help, &[]).with(&[]);
        Self {
            rows,
            hits: counter(
                "crag_chunk_cache_hits_total",
                "Search hits whose stored chunk row came from the in-memory chunk cache.",
            ),
            misses: counter(
                "crag_chunk_cache_misses_total",
                "Search hits whose stored chunk row had to be read from the database.",
            ),
        }
    }

    /// The cached row of each id (`None` where absent), counting hits and misses.
    pub fn get_all(&self, ids: &[&str]) -> Vec<Option<SearchHit>> {
        let found: Vec<Option<SearchHit>> = ids
            .iter()
            .map(|id| {
                let rows = self.rows.as_ref()?;
                rows.get(*id).map(|row| SearchHit::clone(&row))
            })
            .collect();
        let hits = found.iter().filter(|row| row.is_some()).count();
        self.hits.inc_by(hits as u64);
        self.misses.inc_by((found.len() - hits) as u64);
        found
    }

    /// Keeps `rows` (stored fields only; scores and ranks are per search).
    pub fn insert_all(&self, rows: &[SearchHit]) {
        let Some(cache) = &self.rows else {
            return;
        };
        for row in rows {
            cache.insert(row.chunk_id.clone(), Arc::new(row.clone()));
        }
    }
}

#[derive(Clone)]
struct RowWeighter;

impl Weighter<String, Arc<SearchHit>> for RowWeighter {
    fn weight(&self, key: &String, row: &Arc<SearchHit>) -> u64 {
        let strings = key.len()
            + row.chunk_id.len()
            + row.document_id.len()
            + row.title.len()
            + row.collection.len()
            + row.path.len()
            + row.text.len();
        strings as u64 + ENTRY_OVERHEAD_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, text: &str) -> SearchHit {
        SearchHit {
            chunk_id: id.into(),
            document_id: "d".into(),
            title: "Title".into(),
            collection: "c".into(),
            path: "1 §".into(),
            char_end: text.len() as u64,
            text: text.into(),
            ..SearchHit::default()
        }
    }

    #[test]
    fn returns_what_was_stored_and_counts_lookups() {
        let registry = Registry::new();
        let cache = ChunkCache::new(1 << 20, &registry);
        cache.insert_all(&[row("a", "first"), row("b", "second")]);
        let found = cache.get_all(&["a", "x", "b"]);
        assert_eq!(found[0].as_ref().map(|r| r.text.as_str()), Some("first"));
        assert!(found[1].is_none());
        assert_eq!(found[2].as_ref().map(|r| r.text.as_str()), Some("second"));
        let mut text = String::new();
        registry.render(&mut text);
        assert!(text.contains("crag_chunk_cache_hits_total 2"), "{text}");
        assert!(text.contains("crag_chunk_cache_misses_total 1"), "{text}");
    }

    #[test]
    fn stays_within_its_byte_bound_and_zero_disables_it() {
        let cache = ChunkCache::new(64 * 1024, &Registry::new());
        let rows: Vec<SearchHit> = (0..200)
            .map(|i| row(&format!("id{i}"), &"x".repeat(1_000)))
            .collect();
        cache.insert_all(&rows);
        let kept = cache.rows.as_ref().expect("enabled").weight();
        assert!(kept <= 64 * 1024, "{kept} bytes kept");
        let disabled = ChunkCache::new(0, &Registry::new());
        disabled.insert_all(&rows[..1]);
        assert!(disabled.get_all(&["id0"])[0].is_none());
    }
}
