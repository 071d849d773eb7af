//! Integration tests of the two-level embedding cache, against real redb files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use constitutional_rag::cache::embedding::{CacheError, CacheKey, EmbeddingCache};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

/// The cache's table, as laid out on disk.
const TABLE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("embeddings_v1");
const MODEL: &str = "bge-small-en-v1.5";
const MIB: u64 = 1 << 20;

fn key(i: usize) -> CacheKey {
    CacheKey::new(MODEL, 512, &format!("text number {i}"))
}

/// A vector that differs for every `seed`, with `dims` values.
fn vector(seed: usize, dims: usize) -> Arc<[f32]> {
    (0..dims).map(|d| seed as f32 + d as f32 / 1000.0).collect()
}

fn cache_file(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("nested").join("embeddings.redb")
}

fn open(path: &Path, memory_bytes: u64) -> EmbeddingCache {
    EmbeddingCache::open(Some(path), memory_bytes).expect("open cache")
}

#[test]
fn cache_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<EmbeddingCache>();
}

#[test]
fn memory_hit_after_put() {
    let cache = EmbeddingCache::open(None, MIB).expect("open");
    let (k, v) = (key(1), vector(1, 384));
    assert!(cache.get_memory(&k).is_none());
    cache.put(k, Arc::clone(&v));
    assert_eq!(cache.get_memory(&k).as_deref(), Some(&v[..]));
    assert_eq!(cache.get_many(&[k, key(2)]), vec![Some(v), None]);
    let stats = cache.stats();
    assert_eq!(
        (stats.memory_hits, stats.disk_hits, stats.misses),
        (2, 0, 1)
    );
    assert_eq!(stats.disk_writes, 0);
    assert_eq!(stats.memory_bytes, 384 * 4 + 32 + 64);
}

#[test]
fn restart_keeps_cache_and_promotes_disk_hits() {
    let dir = tempfile::tempdir().unwrap();
    let path = cache_file(&dir);
    let keys: Vec<CacheKey> = (0..50).map(key).collect();
    {
        let cache = open(&path, MIB);
        for (i, k) in keys.iter().enumerate() {
            cache.put(*k, vector(i, 384));
        }
    } // Drop commits the queued writes.
    let cache = open(&path, MIB);
    assert!(cache.get_memory(&keys[0]).is_none());
    let first = cache.get_many(&keys);
    for (i, found) in first.iter().enumerate() {
        assert_eq!(found.as_deref(), Some(&vector(i, 384)[..]), "key {i}");
    }
    assert_eq!(cache.stats().disk_hits, 50);
    assert_eq!(cache.get_many(&keys), first);
    let stats = cache.stats();
    assert_eq!(
        (stats.memory_hits, stats.disk_hits, stats.misses),
        (50, 50, 0)
    );
}

#[test]
fn keys_of_different_inputs_never_collide() {
    let inputs = [
        ("model-a", 512, "hello"),
        ("model-b", 512, "hello"),
        ("model-a", 256, "hello"),
        ("model-a", 512, "hello "),
        ("model-a", 512, "Hello"),
        ("model-a", 512, ""),
        ("", 512, "model-a"),
        ("ab", 512, "c"),
        ("a", 512, "bc"),
        ("a5", 12, "x"),
        ("a", 512, "x"),
    ];
    let keys: HashSet<CacheKey> = inputs
        .iter()
        .map(|(model, max, text)| CacheKey::new(model, *max, text))
        .collect();
    assert_eq!(keys.len(), inputs.len());
    assert_eq!(CacheKey::new("m", 8, "t"), CacheKey::new("m", 8, "t"));
}

#[test]
fn byte_bound_evicts_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    let bound = 64 * 1024;
    let cache = open(&cache_file(&dir), bound);
    let count = 200; // about five times the bound
    for i in 0..count {
        cache.put(key(i), vector(i, 384));
        assert!(cache.stats().memory_bytes <= bound, "after put {i}");
    }
    cache.flush();
    let evicted = (0..count).filter(|&i| cache.get_memory(&key(i)).is_none());
    assert!(evicted.count() >= count / 2);
    let keys: Vec<CacheKey> = (0..count).map(key).collect();
    for (i, found) in cache.get_many(&keys).iter().enumerate() {
        assert_eq!(found.as_deref(), Some(&vector(i, 384)[..]), "key {i}");
    }
    let stats = cache.stats();
    assert!(stats.disk_hits >= count as u64 / 2);
    assert_eq!(stats.misses, 0);
    assert!(stats.memory_bytes <= bound);
}

#[test]
fn flush_makes_writes_durable() {
    let dir = tempfile::tempdir().unwrap();
    // A zero bound keeps nothing in memory, so every read must come from disk.
    let cache = open(&cache_file(&dir), 0);
    let keys: Vec<CacheKey> = (0..100).map(key).collect();
    for (i, k) in keys.iter().enumerate() {
        cache.put(*k, vector(i, 64));
    }
    cache.flush();
    assert_eq!(cache.stats().disk_writes, 100);
    let found = cache.get_many(&keys);
    assert!(
        found
            .iter()
            .enumerate()
            .all(|(i, v)| v.as_deref() == Some(&vector(i, 64)[..]))
    );
    let stats = cache.stats();
    assert_eq!(
        (stats.memory_bytes, stats.disk_hits, stats.misses),
        (0, 100, 0)
    );
}

#[test]
fn corrupt_values_read_as_misses() {
    let dir = tempfile::tempdir().unwrap();
    let path = cache_file(&dir);
    let keys = [key(1), key(2), key(3)];
    {
        let cache = open(&path, MIB);
        for (i, k) in keys.iter().enumerate() {
            cache.put(*k, vector(i, 16));
        }
    }
    overwrite_values(&path, &[&[1, 2, 3], &[], &[9; 7]]);
    let cache = open(&path, MIB);
    assert_eq!(cache.get_many(&keys), vec![None, None, None]);
    assert_eq!(cache.stats().misses, 3);
    cache.put(keys[0], vector(7, 16));
    cache.flush();
    drop(cache);
    let cache = open(&path, MIB);
    assert_eq!(cache.get_many(&keys[..1]), vec![Some(vector(7, 16))]);
}

/// Replaces the stored values, in key order, with the given garbage.
fn overwrite_values(path: &Path, garbage: &[&[u8]]) {
    let db = Database::open(path).expect("open redb");
    let stored: Vec<[u8; 32]> = {
        let table = db.begin_read().unwrap().open_table(TABLE).unwrap();
        let rows = table.iter().unwrap();
        rows.map(|row| *row.unwrap().0.value()).collect()
    };
    assert_eq!(stored.len(), garbage.len());
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(TABLE).unwrap();
        for (k, bytes) in stored.iter().zip(garbage) {
            table.insert(k, *bytes).unwrap();
        }
    }
    txn.commit().unwrap();
}

#[test]
fn concurrent_puts_and_gets_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    // Smaller than the 8,000 vectors, so many reads after the flush come from disk.
    let cache = Arc::new(open(&cache_file(&dir), MIB));
    let (threads, per_thread, dims) = (8, 1000, 64);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || {
                for i in t * per_thread..(t + 1) * per_thread {
                    cache.put(key(i), vector(i, dims));
                    let _ = cache.get_memory(&key(i));
                    let _ = cache.get_many(&[key(i), key(i / 2)]);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker panicked");
    }
    cache.flush();
    let keys: Vec<CacheKey> = (0..threads * per_thread).map(key).collect();
    for (i, found) in cache.get_many(&keys).iter().enumerate() {
        assert_eq!(found.as_deref(), Some(&vector(i, dims)[..]), "key {i}");
    }
    let stats = cache.stats();
    assert_eq!(stats.disk_writes, (threads * per_thread) as u64);
    assert!(stats.memory_bytes <= MIB);
}

#[test]
fn second_open_of_a_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = cache_file(&dir);
    let _first = open(&path, MIB);
    let error = EmbeddingCache::open(Some(&path), MIB)
        .err()
        .expect("second open must fail");
    assert!(matches!(error, CacheError::Locked { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("already open"), "{message}");
}

#[test]
fn a_file_that_is_not_a_cache_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-cache.redb");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let error = EmbeddingCache::open(Some(&path), MIB)
        .err()
        .expect("garbage file must not open");
    assert!(matches!(error, CacheError::Open { .. }), "{error:?}");
    assert!(error.to_string().contains(&path.display().to_string()));
}

#[test]
fn throughput() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&cache_file(&dir), 256 * MIB);
    // Fewer in debug builds, where redb is unoptimised.
    let count = if cfg!(debug_assertions) {
        5_000
    } else {
        50_000
    };
    let dims = 384;
    let keys: Vec<CacheKey> = (0..count).map(key).collect();
    let vectors: Vec<Arc<[f32]>> = (0..count).map(|i| vector(i, dims)).collect();
    let started = Instant::now();
    for (k, v) in keys.iter().zip(&vectors) {
        cache.put(*k, Arc::clone(v));
    }
    let put_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let hits = keys
        .iter()
        .filter(|k| cache.get_memory(k).is_some())
        .count();
    let get_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    cache.flush();
    let flush_secs = started.elapsed().as_secs_f64();
    assert_eq!(hits, count);
    eprintln!(
        "embedding cache, {count} x {dims}-dim vectors: put {:.0}/s, get_memory {:.0}/s, \
         flush of the backlog {:.3} s ({:.0} disk writes/s end to end)",
        count as f64 / put_secs,
        count as f64 / get_secs,
        flush_secs,
        count as f64 / (put_secs + flush_secs),
    );
}

#[test]
fn token_vectors_are_kept_on_disk_up_to_their_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = cache_file(&dir);
    let bytes = |i: usize| vec![i as u8; 1000];
    {
        let cache = open(&path, MIB).with_token_vector_budget(2500);
        assert!(cache.stores_token_vectors());
        for i in 0..3 {
            cache.put_token_vectors(key(i), bytes(i));
        }
        cache.flush();
        assert_eq!(
            cache.get_token_vectors(&[key(0), key(1), key(2)]),
            [Some(bytes(0)), Some(bytes(1)), None],
            "the third would pass the budget"
        );
        let stats = cache.stats();
        assert_eq!(
            (stats.token_vector_writes, stats.token_vectors_over_budget),
            (2, 1)
        );
        assert_eq!(stats.token_vector_bytes, 2000);
        // Token vectors are a table of their own: the embedding of the same key is absent.
        assert_eq!(cache.get_many(&[key(0)]), [None]);
    }
    // Reopened, the file still holds them and its budget counts what it holds.
    let cache = open(&path, MIB).with_token_vector_budget(2500);
    assert_eq!(cache.get_token_vectors(&[key(1)]), [Some(bytes(1))]);
    assert!(cache.stats().token_vector_bytes >= 2000);
    cache.put_token_vectors(key(3), bytes(3));
    cache.flush();
    assert_eq!(cache.get_token_vectors(&[key(3)]), [None]);
    assert_eq!(cache.stats().token_vectors_over_budget, 1);
}

#[test]
fn without_a_budget_or_a_file_no_token_vectors_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let unbudgeted = open(&cache_file(&dir), MIB);
    let in_memory = EmbeddingCache::open(None, MIB)
        .unwrap()
        .with_token_vector_budget(MIB);
    for cache in [unbudgeted, in_memory] {
        assert!(!cache.stores_token_vectors());
        cache.put_token_vectors(key(1), vec![1; 10]);
        cache.flush();
        assert_eq!(cache.get_token_vectors(&[key(1)]), [None]);
        assert_eq!(cache.stats().token_vector_writes, 0);
    }
}
