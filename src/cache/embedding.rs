//! Two-level embedding cache.
//!
//! Level 1 is an in-memory [`quick_cache`] bounded by bytes. Level 2 is a single [`redb`]
//! file, so a restart keeps the cache. A `put` reaches level 1 at once; its disk write goes
//! through a channel to a background thread that batches queued writes into one write
//! transaction, off the request path. Batches commit without fsync, except when a `flush`
//! waits, at least once a second, and on close, so a crash loses at most the last second.
//!
//! On disk one table maps the 32-byte [`CacheKey`] to the vector as little-endian `f32`
//! bytes. A value that does not decode (empty, or a length that is not a multiple of four)
//! reads as a miss. A second table, under the same keys, holds passages' token vectors for
//! late-interaction reranking as opaque bytes (their codec belongs to the encoder), up to a
//! byte budget; they live on disk only.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use quick_cache::sync::{Cache, DefaultLifecycle, GuardResult, PlaceholderGuard};
use quick_cache::{DefaultHashBuilder, OptionsBuilder, Weighter};
use redb::{
    Database, DatabaseError, Durability, ReadOnlyTable, ReadableDatabase, ReadableTableMetadata,
    TableDefinition,
};

use crate::model::{push_vector_bytes, vector_from_bytes};

/// The one table of the cache file: key bytes to little-endian `f32` bytes.
const TABLE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("embeddings_v1");
/// The table of passages' token vectors: key bytes to the encoder's encoding of them.
const TOKEN_TABLE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("token_vectors_v1");
/// Hashed ahead of the fields, so keys of this cache never equal other BLAKE3 digests.
const KEY_DOMAIN: &[u8] = b"constitutional-rag/embedding-cache/v1";
/// Most entries one disk write transaction takes.
const MAX_BATCH_ENTRIES: usize = 1024;
/// Longest the writer waits for more entries before it commits a batch.
const MAX_BATCH_WAIT: Duration = Duration::from_millis(10);
/// Longest a batch may stay in a non-durable commit (lost on a crash, kept on a clean close).
const MAX_NON_DURABLE: Duration = Duration::from_secs(1);
/// Weight added to each level-1 entry for its bookkeeping (Arc header, slot, hash entry).
const ENTRY_OVERHEAD_BYTES: u64 = 64;
/// Rough weight of one entry (a 384-dimension vector), to size level 1's bookkeeping.
const TYPICAL_ENTRY_BYTES: u64 = 2048;
/// Memory redb may use to cache the file's pages (its default, 1 GiB, filled up once the file
/// held gigabytes of token vectors: RSS 3.9 GB after ingesting 28,479 chunks); reads beyond it
/// go to the operating system's page cache.
const FILE_CACHE_BYTES: usize = 64 << 20;
/// Shards of level 1 (a power of two); fewer are used when the bound holds few entries.
const MEMORY_SHARDS: usize = 16;

type Vector = Arc<[f32]>;
type MemoryCache =
    Cache<CacheKey, Vector, VectorWeighter, DefaultHashBuilder, DefaultLifecycle<CacheKey, Vector>>;
type Placeholder<'a> = PlaceholderGuard<
    'a,
    CacheKey,
    Vector,
    VectorWeighter,
    DefaultHashBuilder,
    DefaultLifecycle<CacheKey, Vector>,
>;

/// Who computes a vector that neither level holds, so that callers asking for the same text
/// at once compute it once.
pub enum Claim<'a> {
    /// Another caller stored it meanwhile.
    Found(Vector),
    /// This caller computes it and hands it to [`EmbeddingCache::fulfil`]; callers claiming
    /// the key meanwhile wait for it. Dropped unfulfilled (an error, a cancelled request), the
    /// next waiter takes it over.
    Mine(Pending<'a>),
    /// Another caller is computing it: [`EmbeddingCache::wait_for`] it.
    Theirs,
}

/// A vector this caller has claimed to compute.
pub struct Pending<'a> {
    key: CacheKey,
    placeholder: Placeholder<'a>,
}

impl Pending<'_> {
    /// The key claimed.
    pub fn key(&self) -> CacheKey {
        self.key
    }
}

/// 32-byte BLAKE3 of (model id, max length, exact text), length-prefixed so fields cannot run together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// The key of the embedding of `text` by `model_id`, truncated at `max_length` tokens.
    pub fn new(model_id: &str, max_length: usize, text: &str) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(KEY_DOMAIN);
        update_prefixed(&mut hasher, model_id.as_bytes());
        hasher.update(&(max_length as u64).to_le_bytes());
        update_prefixed(&mut hasher, text.as_bytes());
        Self(*hasher.finalize().as_bytes())
    }
}

fn update_prefixed(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// Hit/miss counters since start.
///
/// `misses` counts keys that `get_many` found in neither level (a miss of `get_memory` alone
/// is not counted); `disk_writes` counts entries committed to disk; `memory_bytes` is the
/// current weight of level 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered by level 1.
    pub memory_hits: u64,
    /// Lookups answered by level 2 (then promoted into level 1).
    pub disk_hits: u64,
    /// Keys `get_many` found in neither level.
    pub misses: u64,
    /// Entries committed to the disk file.
    pub disk_writes: u64,
    /// Bytes level 1 holds now (vectors, keys and per-entry overhead).
    pub memory_bytes: u64,
    /// Token-vector entries committed to disk.
    pub token_vector_writes: u64,
    /// Token-vector entries not stored because the budget was spent.
    pub token_vectors_over_budget: u64,
    /// Bytes of token vectors on disk (as found at open, plus those queued since).
    pub token_vector_bytes: u64,
}

/// Why the cache could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The directory that should hold the cache file could not be created.
    #[error("cannot create the directory of embedding cache file {}: {source}", .path.display())]
    CreateDir {
        /// The cache file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Another handle (in this process or another one) has the file open.
    #[error(
        "embedding cache file {} is already open in this or another process; \
         only one handle may use it at a time",
        .path.display()
    )]
    Locked {
        /// The cache file.
        path: PathBuf,
    },
    /// redb could not open the file (not a redb file, unreadable, corrupt...).
    #[error("cannot open embedding cache file {}: {source}", .path.display())]
    Open {
        /// The cache file.
        path: PathBuf,
        /// The redb error.
        source: DatabaseError,
    },
    /// The file opened but its table could not be created.
    #[error("cannot initialise embedding cache file {}: {source}", .path.display())]
    Init {
        /// The cache file.
        path: PathBuf,
        /// The redb error.
        source: redb::Error,
    },
    /// The background writer thread could not be started.
    #[error("cannot start the writer thread of embedding cache file {}: {source}", .path.display())]
    Spawn {
        /// The cache file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A two-level (memory, then disk) cache of embeddings; share it as `Arc<EmbeddingCache>`.
pub struct EmbeddingCache {
    memory: MemoryCache,
    disk: Option<DiskLevel>,
    counters: Arc<Counters>,
    /// Most bytes of token vectors the file may hold; 0 = none are stored.
    token_vector_budget: u64,
}

impl EmbeddingCache {
    /// Opens the cache. `disk`: None = memory only. `memory_bytes`: bound of level 1.
    pub fn open(disk: Option<&Path>, memory_bytes: u64) -> Result<Self, CacheError> {
        let counters = Arc::new(Counters::default());
        let disk = disk
            .map(|path| DiskLevel::open(path, Arc::clone(&counters)))
            .transpose()?;
        Ok(Self {
            memory: memory_cache(memory_bytes),
            disk,
            counters,
            token_vector_budget: 0,
        })
    }

    /// Lets the disk file hold up to `bytes` of passages' token vectors (none by default);
    /// once spent, further ones are not stored. No effect without a disk level.
    pub fn with_token_vector_budget(mut self, bytes: u64) -> Self {
        self.token_vector_budget = bytes;
        self
    }

    /// Whether [`Self::put_token_vectors`] can store anything.
    pub fn stores_token_vectors(&self) -> bool {
        self.disk.is_some() && self.token_vector_budget > 0
    }

    /// Queues `bytes` (a passage's encoded token vectors) for the disk file unless that would
    /// spend more than the budget; never blocks on disk I/O.
    pub fn put_token_vectors(&self, key: CacheKey, bytes: Vec<u8>) {
        let Some(queue) = self.queue().filter(|_| self.token_vector_budget > 0) else {
            return;
        };
        let size = bytes.len() as u64;
        let reserved = self.counters.token_vector_bytes.fetch_update(
            Ordering::Relaxed,
            Ordering::Relaxed,
            |held| (held + size <= self.token_vector_budget).then_some(held + size),
        );
        if reserved.is_err() {
            count(&self.counters.token_vectors_over_budget, 1);
            return;
        }
        if queue
            .send(WriteCommand::Put(key, Value::TokenVectors(bytes)))
            .is_err()
        {
            tracing::debug!("embedding cache writer has stopped; token vectors dropped");
        }
    }

    /// The stored token vectors of each key, in one read transaction (None: not stored, or
    /// no disk level). Blocking (call off the async executor).
    pub fn get_token_vectors(&self, keys: &[CacheKey]) -> Vec<Option<Vec<u8>>> {
        match &self.disk {
            Some(disk) => disk.read_token_vectors(keys),
            None => vec![None; keys.len()],
        }
    }

    /// Level 1 only (cheap, for async request paths).
    pub fn get_memory(&self, key: &CacheKey) -> Option<Vector> {
        let hit = self.memory.get(key);
        if hit.is_some() {
            count(&self.counters.memory_hits, 1);
        }
        hit
    }

    /// Level 1 then level 2 for each key, with one read transaction for all the keys that
    /// missed level 1; disk hits are promoted into level 1. Blocking (call off the async
    /// executor).
    pub fn get_many(&self, keys: &[CacheKey]) -> Vec<Option<Vector>> {
        let mut found: Vec<_> = keys.iter().map(|key| self.get_memory(key)).collect();
        if let Some(disk) = &self.disk {
            self.fill_from_disk(disk, keys, &mut found);
        }
        let misses = found.iter().filter(|vector| vector.is_none()).count();
        count(&self.counters.misses, misses as u64);
        found
    }

    /// Inserts into level 1 at once and queues the disk write (never blocks on disk I/O).
    /// An empty vector is kept in memory only.
    pub fn put(&self, key: CacheKey, vector: Vector) {
        self.queue_disk_write(key, &vector);
        self.memory.insert(key, vector);
    }

    /// Claims the computing of `key`'s vector unless another caller has (level 1 only: call
    /// after a miss of both levels).
    pub fn claim(&self, key: CacheKey) -> Claim<'_> {
        match self.memory.get_value_or_guard(&key, Some(Duration::ZERO)) {
            GuardResult::Value(vector) => Claim::Found(vector),
            GuardResult::Guard(placeholder) => Claim::Mine(Pending { key, placeholder }),
            GuardResult::Timeout => Claim::Theirs,
        }
    }

    /// Stores the vector of a claim as [`put`](Self::put) does, waking those waiting for it.
    pub fn fulfil(&self, pending: Pending<'_>, vector: Vector) {
        self.queue_disk_write(pending.key, &vector);
        // An error means a plain `put` of the same key came first; that value stays.
        let _ = pending.placeholder.insert(vector);
    }

    /// The vector another caller is computing, once stored; the claim itself when that
    /// caller gave it up.
    pub async fn wait_for(&self, key: CacheKey) -> Result<Vector, Pending<'_>> {
        self.memory
            .get_value_or_guard_async(&key)
            .await
            .map_err(|placeholder| Pending { key, placeholder })
    }

    fn queue_disk_write(&self, key: CacheKey, vector: &Vector) {
        if let Some(queue) = self.queue()
            && !vector.is_empty()
            && queue
                .send(WriteCommand::Put(key, Value::Vector(Arc::clone(vector))))
                .is_err()
        {
            tracing::debug!("embedding cache writer has stopped; disk write dropped");
        }
    }

    /// Blocks until every write queued before this call is committed to disk.
    pub fn flush(&self) {
        let Some(queue) = self.queue() else { return };
        let (ack, done) = mpsc::channel();
        if queue.send(WriteCommand::Flush(ack)).is_ok() {
            // An error means the writer stopped; there is nothing left to wait for.
            let _ = done.recv();
        }
    }

    /// Hit/miss counters since start, and the current size of level 1.
    pub fn stats(&self) -> CacheStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CacheStats {
            memory_hits: load(&self.counters.memory_hits),
            disk_hits: load(&self.counters.disk_hits),
            misses: load(&self.counters.misses),
            disk_writes: load(&self.counters.disk_writes),
            memory_bytes: self.memory.weight(),
            token_vector_writes: load(&self.counters.token_vector_writes),
            token_vectors_over_budget: load(&self.counters.token_vectors_over_budget),
            token_vector_bytes: load(&self.counters.token_vector_bytes),
        }
    }

    fn queue(&self) -> Option<&Sender<WriteCommand>> {
        self.disk.as_ref().and_then(|disk| disk.queue.as_ref())
    }

    fn fill_from_disk(&self, disk: &DiskLevel, keys: &[CacheKey], found: &mut [Option<Vector>]) {
        let missing: Vec<usize> = (0..keys.len()).filter(|&i| found[i].is_none()).collect();
        if missing.is_empty() {
            return;
        }
        let vectors = disk.read(missing.iter().map(|&i| &keys[i]));
        for (index, vector) in missing.into_iter().zip(vectors) {
            if let Some(vector) = vector {
                self.memory.insert(keys[index], Arc::clone(&vector));
                count(&self.counters.disk_hits, 1);
                found[index] = Some(vector);
            }
        }
    }
}

impl Drop for EmbeddingCache {
    /// Commits every queued write, then stops the writer thread.
    fn drop(&mut self) {
        if let Some(disk) = &mut self.disk {
            disk.shut_down();
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
    misses: AtomicU64,
    disk_writes: AtomicU64,
    token_vector_writes: AtomicU64,
    token_vectors_over_budget: AtomicU64,
    token_vector_bytes: AtomicU64,
}

fn count(counter: &AtomicU64, n: u64) {
    if n > 0 {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Weighs an entry by its vector's bytes, its key and a per-entry overhead.
#[derive(Debug, Clone, Copy, Default)]
struct VectorWeighter;

impl Weighter<CacheKey, Vector> for VectorWeighter {
    fn weight(&self, _key: &CacheKey, vector: &Vector) -> u64 {
        let bytes = std::mem::size_of_val::<[f32]>(vector) + std::mem::size_of::<CacheKey>();
        bytes as u64 + ENTRY_OVERHEAD_BYTES
    }
}

fn memory_cache(memory_bytes: u64) -> MemoryCache {
    // A multiple of the shard count, so that the shards' capacities sum to at most the bound.
    let capacity = memory_bytes - memory_bytes % MEMORY_SHARDS as u64;
    let items = (capacity / TYPICAL_ENTRY_BYTES).max(1);
    let options = OptionsBuilder::new()
        .shards(MEMORY_SHARDS)
        .estimated_items_capacity(usize::try_from(items).unwrap_or(usize::MAX))
        .weight_capacity(capacity)
        .build()
        .expect("every required quick_cache option is set");
    Cache::with_options(
        options,
        VectorWeighter,
        DefaultHashBuilder::default(),
        DefaultLifecycle::default(),
    )
}

/// What a disk write stores under a key.
enum Value {
    /// An embedding, in the vector table.
    Vector(Vector),
    /// A passage's encoded token vectors, in the token table.
    TokenVectors(Vec<u8>),
}

enum WriteCommand {
    Put(CacheKey, Value),
    Flush(Sender<()>),
}

/// Level 2: the redb file and the writer thread that owns its write transactions.
struct DiskLevel {
    db: Arc<Database>,
    path: PathBuf,
    queue: Option<Sender<WriteCommand>>,
    writer: Option<JoinHandle<()>>,
}

impl DiskLevel {
    fn open(path: &Path, counters: Arc<Counters>) -> Result<Self, CacheError> {
        let db = Arc::new(open_database(path)?);
        counters
            .token_vector_bytes
            .store(stored_token_bytes(&db), Ordering::Relaxed);
        let (queue, commands) = mpsc::channel();
        let writer = Writer {
            db: Arc::clone(&db),
            path: path.to_owned(),
            commands,
            counters,
            last_durable: Instant::now(),
            pending: false,
        };
        let handle = std::thread::Builder::new()
            .name("embedding-cache-writer".into())
            .spawn(move || writer.run())
            .map_err(|source| CacheError::Spawn {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            db,
            path: path.to_owned(),
            queue: Some(queue),
            writer: Some(handle),
        })
    }

    /// Looks every key up in one read transaction; an unreadable value is a miss.
    fn read<'k>(&self, keys: impl ExactSizeIterator<Item = &'k CacheKey>) -> Vec<Option<Vector>> {
        self.read_from(TABLE, keys, decode)
    }

    /// The token vectors stored under each key, in one read transaction.
    fn read_token_vectors(&self, keys: &[CacheKey]) -> Vec<Option<Vec<u8>>> {
        self.read_from(TOKEN_TABLE, keys.iter(), |bytes| Some(bytes.to_vec()))
    }

    /// Looks every key up in `table` in one read transaction and decodes what it finds; a
    /// failed read is a miss (and a warning).
    fn read_from<'k, T: Clone>(
        &self,
        table: TableDefinition<&'static [u8; 32], &'static [u8]>,
        keys: impl ExactSizeIterator<Item = &'k CacheKey>,
        decode: impl Fn(&[u8]) -> Option<T>,
    ) -> Vec<Option<T>> {
        let table = match self.open_table(table) {
            Ok(table) => table,
            Err(error) => {
                self.warn_read(&error);
                return vec![None; keys.len()];
            }
        };
        keys.map(|key| match table.get(&key.0) {
            Ok(value) => value.and_then(|value| decode(value.value())),
            Err(error) => {
                self.warn_read(&error);
                None
            }
        })
        .collect()
    }

    fn open_table(
        &self,
        table: TableDefinition<&'static [u8; 32], &'static [u8]>,
    ) -> Result<ReadOnlyTable<&'static [u8; 32], &'static [u8]>, redb::Error> {
        Ok(self.db.begin_read()?.open_table(table)?)
    }

    fn warn_read(&self, error: &dyn std::fmt::Display) {
        tracing::warn!(path = %self.path.display(), %error, "embedding cache: disk read failed");
    }

    /// Closes the queue; the writer commits what is left and exits.
    fn shut_down(&mut self) {
        drop(self.queue.take());
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::warn!(path = %self.path.display(), "embedding cache writer panicked");
        }
    }
}

fn open_database(path: &Path) -> Result<Database, CacheError> {
    create_parent(path)?;
    let db = Database::builder()
        .set_cache_size(FILE_CACHE_BYTES)
        .create(path)
        .map_err(|source| match source {
            DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
                CacheError::Locked {
                    path: path.to_owned(),
                }
            }
            source => CacheError::Open {
                path: path.to_owned(),
                source,
            },
        })?;
    create_table(&db).map_err(|source| CacheError::Init {
        path: path.to_owned(),
        source,
    })?;
    Ok(db)
}

fn create_parent(path: &Path) -> Result<(), CacheError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| CacheError::CreateDir {
                path: path.to_owned(),
                source,
            })
        }
        _ => Ok(()),
    }
}

fn create_table(db: &Database) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    txn.open_table(TABLE)?;
    txn.open_table(TOKEN_TABLE)?;
    txn.commit()?;
    Ok(())
}

/// Bytes the token table holds (0 when it cannot be read: the budget then counts from here).
fn stored_token_bytes(db: &Database) -> u64 {
    let stats = || -> Result<u64, redb::Error> {
        Ok(db
            .begin_read()?
            .open_table(TOKEN_TABLE)?
            .stats()?
            .stored_bytes())
    };
    stats().unwrap_or(0)
}

/// The background writer: batches queued puts into one write transaction each.
struct Writer {
    db: Arc<Database>,
    path: PathBuf,
    commands: Receiver<WriteCommand>,
    counters: Arc<Counters>,
    /// When the last durable commit ended.
    last_durable: Instant,
    /// Whether non-durable commits wait for a durable one.
    pending: bool,
}

#[derive(Default)]
struct Batch {
    entries: Vec<(CacheKey, Value)>,
    acks: Vec<Sender<()>>,
}

impl Batch {
    fn push(&mut self, command: WriteCommand) {
        match command {
            WriteCommand::Put(key, vector) => self.entries.push((key, vector)),
            WriteCommand::Flush(ack) => self.acks.push(ack),
        }
    }

    /// A batch closes when full, or at once when someone waits on a flush.
    fn is_open(&self) -> bool {
        self.entries.len() < MAX_BATCH_ENTRIES && self.acks.is_empty()
    }
}

impl Writer {
    /// Runs until the queue is closed and drained; closing the database then makes the
    /// last non-durable commits durable.
    fn run(mut self) {
        while let Ok(first) = self.commands.recv() {
            let batch = self.collect(first);
            let durable = !batch.acks.is_empty() || self.last_durable.elapsed() >= MAX_NON_DURABLE;
            self.commit(&batch.entries, durable);
            for ack in batch.acks {
                let _ = ack.send(());
            }
        }
    }

    /// Takes what is queued, waiting at most `MAX_BATCH_WAIT` for more.
    fn collect(&self, first: WriteCommand) -> Batch {
        let deadline = Instant::now() + MAX_BATCH_WAIT;
        let mut batch = Batch::default();
        batch.push(first);
        while batch.is_open() {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.commands.recv_timeout(wait) {
                Ok(command) => batch.push(command),
                Err(_) => break,
            }
        }
        batch
    }

    /// Commits `entries`; a durable commit also makes the earlier non-durable ones durable.
    fn commit(&mut self, entries: &[(CacheKey, Value)], durable: bool) {
        if entries.is_empty() && !(durable && self.pending) {
            return;
        }
        let durability = if durable {
            Durability::Immediate
        } else {
            Durability::None
        };
        match write_entries(&self.db, entries, durability) {
            Ok(()) => self.committed(entries, durable),
            Err(error) => tracing::warn!(
                path = %self.path.display(),
                %error,
                dropped = entries.len(),
                "embedding cache: disk write failed"
            ),
        }
    }

    fn committed(&mut self, entries: &[(CacheKey, Value)], durable: bool) {
        let tokens = entries
            .iter()
            .filter(|(_, value)| matches!(value, Value::TokenVectors(_)))
            .count();
        count(&self.counters.disk_writes, (entries.len() - tokens) as u64);
        count(&self.counters.token_vector_writes, tokens as u64);
        self.pending = !durable;
        if durable {
            self.last_durable = Instant::now();
        }
    }
}

fn write_entries(
    db: &Database,
    entries: &[(CacheKey, Value)],
    durability: Durability,
) -> Result<(), redb::Error> {
    let mut txn = db.begin_write()?;
    txn.set_durability(durability)?;
    {
        let mut vectors = txn.open_table(TABLE)?;
        let mut tokens = txn.open_table(TOKEN_TABLE)?;
        let mut bytes = Vec::new();
        for (key, value) in entries {
            match value {
                Value::Vector(vector) => {
                    encode(vector, &mut bytes);
                    vectors.insert(&key.0, bytes.as_slice())?;
                }
                Value::TokenVectors(encoded) => {
                    tokens.insert(&key.0, encoded.as_slice())?;
                }
            }
        }
    }
    txn.commit()?;
    Ok(())
}

fn encode(vector: &[f32], bytes: &mut Vec<u8>) {
    bytes.clear();
    push_vector_bytes(vector, bytes);
}

/// The vector stored as `bytes`, or None when they cannot be one.
fn decode(bytes: &[u8]) -> Option<Vector> {
    let vector = (!bytes.is_empty())
        .then(|| vector_from_bytes(bytes))
        .flatten();
    if vector.is_none() {
        tracing::debug!(
            len = bytes.len(),
            "embedding cache: undecodable value read as a miss"
        );
    }
    vector.map(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_round_trips() {
        let vector = [1.5f32, -0.0, f32::MIN_POSITIVE, 3.25e7];
        let mut bytes = Vec::new();
        encode(&vector, &mut bytes);
        assert_eq!(bytes.len(), 16);
        assert_eq!(decode(&bytes).as_deref(), Some(&vector[..]));
    }

    #[test]
    fn short_or_empty_values_decode_to_none() {
        assert!(decode(&[]).is_none());
        assert!(decode(&[1, 2, 3]).is_none());
        assert!(decode(&[1, 2, 3, 4, 5]).is_none());
    }

    #[tokio::test]
    async fn one_caller_computes_a_text_and_the_others_wait_for_it_or_take_over() {
        let cache = Arc::new(EmbeddingCache::open(None, 1 << 20).unwrap());
        let key = CacheKey::new("m", 8, "the same question");
        let Claim::Mine(pending) = cache.claim(key) else {
            panic!("the first caller computes")
        };
        assert!(matches!(cache.claim(key), Claim::Theirs));
        let waiter = {
            let cache = cache.clone();
            tokio::spawn(async move { cache.wait_for(key).await.ok() })
        };
        tokio::task::yield_now().await;
        let vector: Vector = vec![0.5, 0.25].into();
        cache.fulfil(pending, vector.clone());
        assert_eq!(waiter.await.unwrap(), Some(vector.clone()));
        assert!(matches!(cache.claim(key), Claim::Found(v) if v == vector));

        // A claim given up (an error, a cancelled request) passes to the next waiter.
        let other = CacheKey::new("m", 8, "another question");
        let Claim::Mine(given_up) = cache.claim(other) else {
            panic!("unclaimed")
        };
        let waiter = {
            let cache = cache.clone();
            tokio::spawn(async move { cache.wait_for(other).await.is_err() })
        };
        tokio::task::yield_now().await;
        drop(given_up);
        assert!(waiter.await.unwrap(), "the waiter takes the claim over");
    }

    #[test]
    fn weight_counts_vector_key_and_overhead() {
        let vector: Vector = vec![0.0; 10].into();
        let key = CacheKey::new("m", 1, "t");
        assert_eq!(VectorWeighter.weight(&key, &vector), 40 + 32 + 64);
    }
}
