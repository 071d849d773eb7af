//! Following the change log: every server applies every committed write — its own and those
//! of other servers on the same database — to its in-process search indexes, collection
//! catalog and write generations, in log order. The number of the last entry applied is the
//! server's corpus version. A server that finds entries missing (pruned while it was away) or
//! falls too far behind reloads everything from the store and goes on from there.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::Library;
use super::snapshots::{IndexStart, SnapshotState};
use crate::error::AppResult;
use crate::retrieval::index::IndexedChunk;
use crate::store::{Change, LogEntry};

/// Entries read from the log per round trip.
const BATCH: u64 = 512;
/// A server this many entries behind reloads from the store instead of replaying them.
const RELOAD_BEHIND: u64 = 50_000;
/// First pause after a read that found nothing new; it doubles up to
/// `storage.poll_interval_ms`.
const FIRST_IDLE_PAUSE: Duration = Duration::from_millis(5);
/// Longest wait for one read of the log before the store counts as unreachable.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest pause between two attempts while the store is unreachable.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(5);

/// A document this server wrote, kept until its entry is applied so that applying it needs
/// no read back from the store.
pub(super) struct WrittenDocument {
    /// The document id.
    pub id: String,
    /// Its collection.
    pub collection: String,
    /// Its metadata.
    pub metadata: BTreeMap<String, Value>,
    /// Its chunks with their embeddings.
    pub chunks: Vec<IndexedChunk>,
}

/// This server's place in the change log, shared by its library handles and its follower.
pub(super) struct Replication {
    /// Identifies this server in the `replica` table.
    replica: String,
    /// The last entry applied: the corpus version.
    applied: watch::Sender<u64>,
    /// The last entry known to exist.
    head: AtomicU64,
    /// Rung after this server's own writes, so the follower reads the log at once.
    wake: Notify,
    /// This server's written documents by the number of their entries.
    written: Mutex<BTreeMap<u64, WrittenDocument>>,
    /// Why the log cannot be read right now, and since when.
    fault: Mutex<Option<(String, Instant)>>,
    /// Set to stop the follower.
    stop: watch::Sender<bool>,
    /// The follower task, while it runs.
    task: Mutex<Option<JoinHandle<()>>>,
    /// The index snapshot's stamp and version.
    pub(super) snapshot: SnapshotState,
}

impl Default for Replication {
    fn default() -> Self {
        Self {
            replica: uuid::Uuid::new_v4().to_string(),
            applied: watch::Sender::new(0),
            head: AtomicU64::new(0),
            wake: Notify::new(),
            written: Mutex::default(),
            fault: Mutex::default(),
            stop: watch::Sender::new(false),
            task: Mutex::default(),
            snapshot: SnapshotState::default(),
        }
    }
}

impl Replication {
    fn publish(&self, version: u64) {
        self.applied.send_if_modified(|applied| {
            let advanced = version > *applied;
            *applied = (*applied).max(version);
            advanced
        });
        self.head.fetch_max(version, Ordering::Relaxed);
    }

    fn set_fault(&self, why: Option<String>) {
        let mut fault = self.fault.lock().expect("fault lock");
        match why {
            None => *fault = None,
            Some(why) => {
                let since = fault
                    .as_ref()
                    .map_or_else(Instant::now, |(_, since)| *since);
                *fault = Some((why, since));
            }
        }
    }
}

/// Where a server stands in the change log.
#[derive(Debug, Clone, Default)]
pub struct ReplicationStatus {
    /// The corpus version: the last change applied.
    pub applied: u64,
    /// The last change known to exist.
    pub head: u64,
    /// Why the log cannot be read now, and for how long it has not been.
    pub fault: Option<(String, Duration)>,
}

impl ReplicationStatus {
    /// Changes committed but not applied here yet.
    pub fn lag(&self) -> u64 {
        self.head.saturating_sub(self.applied)
    }
}

impl Library {
    /// The corpus version: the number of the last committed change this server has applied
    /// to its indexes. Every server reports the same contents at the same version.
    pub fn corpus_version(&self) -> u64 {
        *self.replication.applied.borrow()
    }

    /// Waits until this server has applied `version` (at most `limit`); false on time-out.
    pub async fn wait_for_version(&self, version: u64, limit: Duration) -> bool {
        if self.corpus_version() >= version {
            return true;
        }
        self.replication.wake.notify_one();
        let mut applied = self.replication.applied.subscribe();
        matches!(
            tokio::time::timeout(limit, applied.wait_for(|v| *v >= version)).await,
            Ok(Ok(_))
        )
    }

    /// Where this server stands in the change log.
    pub fn replication_status(&self) -> ReplicationStatus {
        let fault = self.replication.fault.lock().expect("fault lock");
        ReplicationStatus {
            applied: self.corpus_version(),
            head: self.replication.head.load(Ordering::Relaxed),
            fault: fault
                .as_ref()
                .map(|(why, since)| (why.clone(), since.elapsed())),
        }
    }

    /// Called after this server committed the change numbered `version` (with the document
    /// it wrote, if any): returns once the change is applied here, so the writer reads its
    /// own write (or after `storage.version_wait_ms`, with a warning).
    pub(super) async fn await_applied(&self, version: u64, written: Option<WrittenDocument>) {
        if let Some(document) = written {
            self.replication
                .written
                .lock()
                .expect("written lock")
                .insert(version, document);
        }
        self.replication.head.fetch_max(version, Ordering::Relaxed);
        let limit = Duration::from_millis(self.config.storage.version_wait_ms);
        if !self.wait_for_version(version, limit).await {
            tracing::warn!(
                version,
                applied = self.corpus_version(),
                "a committed change is not applied here yet; reads may miss it for a while"
            );
        }
    }

    /// Loads every index — from the index snapshot when there is a usable one, then
    /// replaying the log after it; else from the store, registered in the `replica` table at
    /// the log's current end — and starts following the log from there.
    pub(super) async fn start_following(&self) -> AppResult<()> {
        let started = Instant::now();
        let head = self.store.log_head().await?;
        if let Some(version) = self.load_index_snapshot(head).await {
            // Registered at the snapshot's version, so the entries after it are not pruned
            // while they are replayed (those pruned already make the replay reload).
            self.store
                .heartbeat(&self.replication.replica, version)
                .await?;
            self.catalog.invalidate();
            self.generations.all_changed(version);
            self.replication.publish(version);
            let (mut replayed, mut reloaded) = (0, false);
            while self.corpus_version() < head {
                match self.follow_step().await? {
                    Step::Idle => break,
                    Step::Applied(count) => replayed += count,
                    Step::Reloaded => reloaded = true,
                }
            }
            *self
                .replication
                .snapshot
                .start
                .lock()
                .expect("snapshot lock") = IndexStart {
                snapshot_version: Some(version),
                replayed,
                reloaded,
            };
            tracing::info!(
                snapshot_version = version,
                replayed,
                reloaded,
                corpus_version = self.corpus_version(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "search indexes loaded from the index snapshot"
            );
        } else {
            // Registered before loading, so the entries after `head` are not pruned meanwhile.
            self.store
                .heartbeat(&self.replication.replica, head)
                .await?;
            self.reload(head).await?;
        }
        let follower = self.clone();
        let stop = self.replication.stop.subscribe();
        let task = tokio::spawn(async move { follower.follow(stop).await });
        *self.replication.task.lock().expect("task lock") = Some(task);
        Ok(())
    }

    /// Stops following the log, leaves the `replica` table and saves the index snapshot.
    pub(super) async fn stop_following(&self) {
        self.replication.stop.send_replace(true);
        let task = self.replication.task.lock().expect("task lock").take();
        if let Some(task) = task {
            let _ = task.await;
            if let Err(err) = self.store.leave(&self.replication.replica).await {
                tracing::warn!(error = %err, "could not leave the replica table");
            }
            self.save_index_snapshot().await;
        }
    }

    /// The follower: reads and applies the log until stopped, pausing (up to
    /// `storage.poll_interval_ms`) while nothing changes, backing off while the store is
    /// unreachable, beating its heartbeat (which also prunes the log), and saving the index
    /// snapshot once changes have settled.
    async fn follow(self, mut stop: watch::Receiver<bool>) {
        let storage = &self.config.storage;
        let idle_ceiling = Duration::from_millis(storage.poll_interval_ms);
        let heartbeat = Duration::from_secs(storage.heartbeat_secs);
        let settle = Duration::from_secs(storage.index_snapshot_delay_secs);
        let mut pause = FIRST_IDLE_PAUSE;
        let mut last_beat = Instant::now();
        let mut last_change = Instant::now();
        while !*stop.borrow() {
            if last_beat.elapsed() >= heartbeat {
                self.beat().await;
                last_beat = Instant::now();
            }
            let pause_next = match tokio::time::timeout(READ_TIMEOUT, self.follow_step()).await {
                Ok(Ok(Step::Idle)) => {
                    self.replication.set_fault(None);
                    if last_change.elapsed() >= settle {
                        self.save_index_snapshot().await;
                    }
                    let next = pause;
                    pause = (pause * 2).min(idle_ceiling);
                    next
                }
                Ok(Ok(_)) => {
                    self.replication.set_fault(None);
                    pause = FIRST_IDLE_PAUSE;
                    last_change = Instant::now();
                    continue;
                }
                Ok(Err(err)) => self.faulted(err.to_string(), &mut pause),
                Err(_) => self.faulted(
                    format!("no answer within {} s", READ_TIMEOUT.as_secs()),
                    &mut pause,
                ),
            };
            tokio::select! {
                () = self.replication.wake.notified() => pause = FIRST_IDLE_PAUSE,
                () = tokio::time::sleep(pause_next) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Records why the log could not be read; the pause before the next attempt.
    fn faulted(&self, why: String, pause: &mut Duration) -> Duration {
        tracing::warn!(error = %why, "cannot read the change log; retrying");
        self.replication
            .set_fault(Some(format!("cannot read the change log: {why}")));
        *pause = (*pause * 2).clamp(Duration::from_millis(100), MAX_RETRY_PAUSE);
        *pause
    }

    /// Records this server's position and prunes what every live server has applied.
    async fn beat(&self) {
        let replica = &self.replication.replica;
        let timeout = Duration::from_secs(self.config.storage.replica_timeout_secs);
        let beat = async {
            self.store.heartbeat(replica, self.corpus_version()).await?;
            self.store.prune_log(timeout).await
        };
        match tokio::time::timeout(READ_TIMEOUT, beat).await {
            Ok(Ok(pruned)) => tracing::trace!(?pruned, "heartbeat"),
            Ok(Err(err)) => tracing::debug!(error = %err, "heartbeat failed"),
            Err(_) => tracing::debug!("heartbeat timed out"),
        }
    }

    /// Reads the next entries after the corpus version and applies them, or reloads from
    /// the store when they are missing or too many.
    async fn follow_step(&self) -> AppResult<Step> {
        let applied = self.corpus_version();
        let head = self.store.log_head().await?;
        self.replication.head.fetch_max(head, Ordering::Relaxed);
        if head <= applied {
            return Ok(Step::Idle);
        }
        if head - applied > RELOAD_BEHIND {
            tracing::warn!(applied, head, "too far behind the change log: reloading");
            self.reload(head).await?;
            return Ok(Step::Reloaded);
        }
        let entries = self.store.changes_after(applied, BATCH).await?;
        let contiguous = entries
            .iter()
            .enumerate()
            .all(|(i, entry)| entry.seq == applied + 1 + i as u64);
        if entries.is_empty() || !contiguous {
            // Entries this server has not applied were pruned while it was away.
            tracing::warn!(applied, head, "change log entries missing: reloading");
            let head = self.store.log_head().await?;
            self.reload(head).await?;
            return Ok(Step::Reloaded);
        }
        self.apply(&entries).await?;
        Ok(Step::Applied(entries.len()))
    }

    /// Reloads every index from the store, which holds at least the changes through `head`.
    async fn reload(&self, head: u64) -> AppResult<()> {
        self.rebuild_indexes().await?;
        self.catalog.invalidate();
        self.generations.all_changed(head);
        self.replication
            .written
            .lock()
            .expect("written lock")
            .retain(|version, _| *version > head);
        self.replication.publish(head);
        Ok(())
    }

    /// Applies `entries` (consecutive, in order): runs of document changes together, each
    /// document once, from what this server wrote or else from the store.
    async fn apply(&self, entries: &[LogEntry]) -> AppResult<()> {
        let mut start = 0;
        while start < entries.len() {
            let end = entries[start..]
                .iter()
                .position(|entry| !is_document_change(&entry.change))
                .map_or(entries.len(), |offset| start + offset);
            if end > start {
                self.apply_documents(&entries[start..end]).await?;
                start = end;
            } else {
                self.apply_collection_change(&entries[start]).await?;
                start += 1;
            }
            self.replication.publish(entries[start - 1].seq);
        }
        Ok(())
    }

    /// Applies a creation, deletion or reindex of a collection.
    async fn apply_collection_change(&self, entry: &LogEntry) -> AppResult<()> {
        self.catalog.invalidate();
        let name = entry.change.collection();
        match &entry.change {
            Change::CollectionCreated { .. } => {
                if let Some(record) = self.store.collection(name).await? {
                    let index = self
                        .index
                        .empty_collection(record.language, record.embedding_dimension as usize);
                    self.index.replace(name, index);
                }
                self.generations.catalog_changed(name, entry.seq);
            }
            Change::CollectionDeleted { .. } => {
                self.index.drop_collection(name);
                self.generations.catalog_changed(name, entry.seq);
            }
            Change::Reindexed { .. } => {
                if let Some(record) = self.store.collection(name).await? {
                    let index = self.build_index(&record).await?;
                    self.index.replace(name, index);
                }
                self.generations.changed(name, entry.seq);
            }
            Change::Document { .. } | Change::DocumentDeleted { .. } => {
                unreachable!("document changes are applied in runs")
            }
        }
        Ok(())
    }

    /// Applies a run of document changes: each document takes the state of its last entry
    /// (its own write's chunks, or what the store holds now, which is at least as recent).
    async fn apply_documents(&self, entries: &[LogEntry]) -> AppResult<()> {
        let last_seq = entries.last().map_or(0, |entry| entry.seq);
        let mut written = {
            let mut written = self.replication.written.lock().expect("written lock");
            let later = written.split_off(&(last_seq + 1));
            std::mem::replace(&mut *written, later)
        };
        let mut latest: HashMap<&str, &LogEntry> = HashMap::new();
        for entry in entries {
            if let Change::Document { document, .. } | Change::DocumentDeleted { document, .. } =
                &entry.change
            {
                latest.insert(document, entry);
            }
            self.generations
                .changed(entry.change.collection(), entry.seq);
        }
        let mut to_read = Vec::new();
        for (document, entry) in &latest {
            match &entry.change {
                Change::DocumentDeleted { collection, .. } => {
                    self.remove_from_index(collection, document);
                }
                Change::Document { collection, .. } => match written.remove(&entry.seq) {
                    Some(mine) if mine.id == *document => self.put_in_index(mine),
                    _ => to_read.push((*document, collection.as_str())),
                },
                _ => {}
            }
        }
        if to_read.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = to_read.iter().map(|(id, _)| *id).collect();
        let (documents, rows) = self.store.documents_for_index(&ids).await?;
        let mut chunks: HashMap<String, Vec<IndexedChunk>> = HashMap::new();
        for row in rows {
            chunks.entry(row.document).or_default().push(IndexedChunk {
                chunk_id: row.id,
                text: row.text,
                embedding: row.embedding.map(Arc::from),
            });
        }
        let mut found = std::collections::HashSet::new();
        for document in documents {
            found.insert(document.id.clone());
            let chunks = chunks.remove(&document.id).unwrap_or_default();
            self.put_in_index(WrittenDocument {
                id: document.id,
                collection: document.collection,
                metadata: document.metadata,
                chunks,
            });
        }
        for (document, collection) in to_read {
            if !found.contains(document) {
                self.remove_from_index(collection, document);
            }
        }
        Ok(())
    }

    /// Puts a document into its collection's index, when that collection has one here.
    fn put_in_index(&self, document: WrittenDocument) {
        if let Some(index) = self.index.collection(&document.collection) {
            index.write().expect("index lock").put_document(
                &document.id,
                document.metadata,
                document.chunks,
            );
        }
    }

    fn remove_from_index(&self, collection: &str, document: &str) {
        if let Some(index) = self.index.collection(collection) {
            index.write().expect("index lock").remove_document(document);
        }
    }
}

/// What one read of the log did.
enum Step {
    /// Nothing new.
    Idle,
    /// Applied this many entries.
    Applied(usize),
    /// Reloaded every index from the store.
    Reloaded,
}

fn is_document_change(change: &Change) -> bool {
    matches!(
        change,
        Change::Document { .. } | Change::DocumentDeleted { .. }
    )
}
