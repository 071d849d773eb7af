//! Index snapshots: the in-process search indexes saved to `storage.index_snapshot` once
//! changes have settled and at shutdown, and loaded at start when the snapshot was made from
//! this database and this embedding model, so that a start replays only the changes after
//! it instead of rebuilding every index from the store (see `retrieval/snapshot.rs` for the
//! file).

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use super::Library;
use crate::error::AppResult;
use crate::retrieval::snapshot::{SnapshotError, Stamp};

/// How this server's indexes were loaded when it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexStart {
    /// The corpus version of the index snapshot loaded; `None` when every index was built
    /// from the store.
    pub snapshot_version: Option<u64>,
    /// Change-log entries replayed after the snapshot.
    pub replayed: usize,
    /// Whether the replay found entries missing (pruned) and reloaded from the store.
    pub reloaded: bool,
}

/// What this server knows of its index snapshot.
#[derive(Default)]
pub(super) struct SnapshotState {
    /// How the indexes were loaded at start.
    pub start: Mutex<IndexStart>,
    /// The stamp its snapshots carry, read once.
    stamp: OnceLock<Stamp>,
    /// The corpus version of the snapshot on disk (loaded or written), or of the last
    /// attempt to write one: the next is written after the next change.
    saved: Mutex<Option<u64>>,
}

impl Library {
    /// How this server's indexes were loaded when it started.
    pub fn index_start(&self) -> IndexStart {
        *self
            .replication
            .snapshot
            .start
            .lock()
            .expect("snapshot lock")
    }

    /// The stamp of this server's snapshots: the store's identity and the encoders' models.
    async fn snapshot_stamp(&self) -> AppResult<Stamp> {
        let state = &self.replication.snapshot;
        if let Some(stamp) = state.stamp.get() {
            return Ok(stamp.clone());
        }
        let models: Vec<String> = self
            .encoders
            .all()
            .map(|encoder| {
                let info = encoder.info();
                format!("{}/{}", info.model_id, info.dimension)
            })
            .collect();
        let stamp = Stamp {
            store: self.store.identity().await?,
            model: models.join("+"),
        };
        Ok(state.stamp.get_or_init(|| stamp).clone())
    }

    /// Installs the indexes of the index snapshot when it is whole, stamped for this server
    /// and not ahead of the log's `head`; its corpus version. Otherwise (logged) `None`, and
    /// the indexes are to be rebuilt from the store.
    pub(super) async fn load_index_snapshot(&self, head: u64) -> Option<u64> {
        let path = self.config.storage.index_snapshot_path()?.to_path_buf();
        let stamp = match self.snapshot_stamp().await {
            Ok(stamp) => stamp,
            Err(err) => {
                tracing::warn!(error = %err, "index snapshot not used: the store's identity is unreadable");
                return None;
            }
        };
        let started = Instant::now();
        let index = self.index.clone();
        let file = path.clone();
        let loaded = tokio::task::spawn_blocking(move || index.load_snapshot(&file, &stamp)).await;
        let why = match loaded {
            Ok(Ok(version)) if version <= head => {
                *self
                    .replication
                    .snapshot
                    .saved
                    .lock()
                    .expect("snapshot lock") = Some(version);
                tracing::info!(
                    path = %path.display(),
                    version,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "index snapshot loaded"
                );
                return Some(version);
            }
            Ok(Ok(version)) => format!(
                "it holds version {version}, beyond the change log's {head} (a restored database?)"
            ),
            Ok(Err(SnapshotError::Missing)) => {
                tracing::info!(path = %path.display(), "no index snapshot yet: building the indexes from the store");
                return None;
            }
            Ok(Err(err)) => err.to_string(),
            Err(err) => format!("reading it failed: {err}"),
        };
        tracing::warn!(
            path = %path.display(),
            reason = %why,
            "index snapshot not used: rebuilding the indexes from the store"
        );
        None
    }

    /// Writes the index snapshot at the corpus version, unless the last one holds it already.
    /// Only the follower calls this, or its stopper once it has stopped: nothing changes the
    /// indexes meanwhile.
    pub(super) async fn save_index_snapshot(&self) {
        let Some(path) = self.config.storage.index_snapshot_path() else {
            return;
        };
        let version = self.corpus_version();
        let state = &self.replication.snapshot;
        if *state.saved.lock().expect("snapshot lock") == Some(version) {
            return;
        }
        *state.saved.lock().expect("snapshot lock") = Some(version);
        let stamp = match self.snapshot_stamp().await {
            Ok(stamp) => stamp,
            Err(err) => {
                tracing::warn!(error = %err, "index snapshot not written: the store's identity is unreadable");
                return;
            }
        };
        let started = Instant::now();
        let (index, file) = (self.index.clone(), path.to_path_buf());
        let written =
            tokio::task::spawn_blocking(move || index.save_snapshot(&file, &stamp, version))
                .await
                .map_err(std::io::Error::other)
                .and_then(|written| written);
        match written {
            Ok(bytes) => tracing::info!(
                path = %path.display(),
                version,
                bytes,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "index snapshot written"
            ),
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "index snapshot not written");
            }
        }
    }
}
