//! The change log (`schema/0004_change_log.surql`): one entry per committed write, appended
//! in the write's own transaction and numbered without gaps, and the heartbeats of the
//! servers that follow it, which bound its pruning.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Store, rows, value};
use crate::error::{AppError, AppResult};

/// What one committed write changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A document was created or replaced (read it from the store for its state).
    Document {
        /// Its collection.
        collection: String,
        /// The document id.
        document: String,
    },
    /// A document was deleted.
    DocumentDeleted {
        /// Its collection.
        collection: String,
        /// The document id.
        document: String,
    },
    /// A collection was created.
    CollectionCreated {
        /// The collection.
        collection: String,
    },
    /// A collection was deleted with everything in it.
    CollectionDeleted {
        /// The collection.
        collection: String,
    },
    /// A collection's vectors were replaced by a reindex.
    Reindexed {
        /// The collection.
        collection: String,
    },
}

impl Change {
    /// The collection the change is in.
    pub fn collection(&self) -> &str {
        match self {
            Change::Document { collection, .. }
            | Change::DocumentDeleted { collection, .. }
            | Change::CollectionCreated { collection }
            | Change::CollectionDeleted { collection }
            | Change::Reindexed { collection } => collection,
        }
    }

    /// `(kind, collection, document)` as the log stores them.
    fn columns(&self) -> (&'static str, &str, Option<&str>) {
        match self {
            Change::Document {
                collection,
                document,
            } => ("document", collection, Some(document)),
            Change::DocumentDeleted {
                collection,
                document,
            } => ("document_deleted", collection, Some(document)),
            Change::CollectionCreated { collection } => ("collection_created", collection, None),
            Change::CollectionDeleted { collection } => ("collection_deleted", collection, None),
            Change::Reindexed { collection } => ("reindexed", collection, None),
        }
    }

    /// Binds the log columns of this change into `vars` (an object) for [`logged`].
    pub(super) fn bind(&self, vars: &mut Value) {
        let (kind, collection, document) = self.columns();
        vars["log_kind"] = json!(kind);
        vars["log_collection"] = json!(collection);
        if let Some(document) = document {
            vars["log_document"] = json!(document);
        }
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Its number: the corpus version that includes it.
    pub seq: u64,
    /// What changed.
    pub change: Change,
}

/// An entry as stored.
#[derive(Deserialize)]
struct LogRow {
    seq: u64,
    kind: String,
    collection: String,
    #[serde(default)]
    document: Option<String>,
}

impl LogRow {
    fn into_entry(self) -> AppResult<LogEntry> {
        let collection = self.collection;
        let document = || {
            self.document
                .clone()
                .ok_or_else(|| AppError::Internal(format!("change {} has no document", self.seq)))
        };
        let change = match self.kind.as_str() {
            "document" => Change::Document {
                collection,
                document: document()?,
            },
            "document_deleted" => Change::DocumentDeleted {
                collection,
                document: document()?,
            },
            "collection_created" => Change::CollectionCreated { collection },
            "collection_deleted" => Change::CollectionDeleted { collection },
            "reindexed" => Change::Reindexed { collection },
            other => {
                return Err(AppError::Internal(format!(
                    "change {} has an unknown kind '{other}'",
                    self.seq
                )));
            }
        };
        Ok(LogEntry {
            seq: self.seq,
            change,
        })
    }
}

/// The response index of the statement of a [`logged`] script that returns the entry's
/// number; the body's statements follow it.
pub(super) const SEQ_STATEMENT: usize = 2;

/// `body` (statements ending in `;`) as one transaction that first appends the change bound
/// by [`Change::bind`] to the log. Two such transactions conflict on the counter row, so one
/// of them retries (see [`Store::query`]) and the numbers follow the commit order.
pub(super) fn logged(body: &str) -> String {
    format!(
        "BEGIN TRANSACTION; \
         LET $log_seq = (UPSERT ONLY change_counter:log SET seq += 1 RETURN VALUE seq); \
         CREATE ONLY type::record('change_log', $log_seq) SET seq = $log_seq, kind = $log_kind, \
           collection = $log_collection, document = $log_document, at = time::now() RETURN VALUE seq; \
         {body} \
         COMMIT TRANSACTION;"
    )
}

impl Store {
    /// The random identity this database drew when it was made
    /// (`schema/0005_store_identity.surql`): what is derived from its contents names it.
    pub async fn identity(&self) -> AppResult<String> {
        let mut response = self
            .query(
                "SELECT VALUE token FROM ONLY store_identity:this;",
                json!({}),
            )
            .await?;
        value(&mut response, 0)
    }

    /// The number of the last committed change (0 before the first).
    pub async fn log_head(&self) -> AppResult<u64> {
        let mut response = self
            .query("SELECT VALUE seq FROM ONLY change_counter:log;", json!({}))
            .await?;
        value(&mut response, 0)
    }

    /// The entries numbered `after + 1 ..= after + limit` that exist, in order.
    pub async fn changes_after(&self, after: u64, limit: u64) -> AppResult<Vec<LogEntry>> {
        // Record-id ranges of integers are key-range scans; the bounds are numbers, never text.
        let sql = format!(
            "SELECT seq, kind, collection, document FROM change_log:{}..={};",
            after + 1,
            after + limit.max(1)
        );
        let mut response = self.query(&sql, json!({})).await?;
        let rows: Vec<LogRow> = rows(&mut response, 0)?;
        let mut entries = rows
            .into_iter()
            .map(LogRow::into_entry)
            .collect::<AppResult<Vec<_>>>()?;
        entries.sort_by_key(|entry| entry.seq);
        Ok(entries)
    }

    /// Records that server `replica` has applied the log through `applied`.
    pub async fn heartbeat(&self, replica: &str, applied: u64) -> AppResult<()> {
        self.query(
            "UPSERT type::record('replica', $replica) SET applied = $applied, seen_at = time::now();",
            json!({ "replica": replica, "applied": applied }),
        )
        .await?;
        Ok(())
    }

    /// Deletes the entries every server heard from within `live_within` has applied, and
    /// the rows of servers silent for ten times as long; returns the number pruned through
    /// (`None` when no server is live).
    pub async fn prune_log(&self, live_within: Duration) -> AppResult<Option<u64>> {
        let live = live_within.as_secs().max(1);
        let mut response = self
            .query(
                &format!(
                    "SELECT VALUE applied FROM replica WHERE seen_at > time::now() - {live}s; \
                     DELETE replica WHERE seen_at < time::now() - {}s;",
                    live * 10
                ),
                json!({}),
            )
            .await?;
        let applied: Vec<u64> = rows(&mut response, 0)?;
        let Some(through) = applied.into_iter().min().filter(|&seq| seq > 0) else {
            return Ok(None);
        };
        self.query(&format!("DELETE change_log:1..={through};"), json!({}))
            .await?;
        Ok(Some(through))
    }

    /// Forgets server `replica` (it stops following the log).
    pub async fn leave(&self, replica: &str) -> AppResult<()> {
        self.query(
            "DELETE type::record('replica', $replica);",
            json!({ "replica": replica }),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StorageConfig;

    async fn store() -> Store {
        Store::open(&StorageConfig {
            url: "mem://".into(),
            ..StorageConfig::default()
        })
        .await
        .unwrap()
    }

    async fn append(store: &Store, change: &Change) -> u64 {
        let mut vars = json!({});
        change.bind(&mut vars);
        let mut response = store.query(&logged(""), vars).await.unwrap();
        value(&mut response, SEQ_STATEMENT).unwrap()
    }

    fn document(name: &str) -> Change {
        Change::Document {
            collection: "sfs".into(),
            document: name.into(),
        }
    }

    #[tokio::test]
    async fn entries_are_numbered_in_order_and_read_back_by_range() {
        let store = store().await;
        assert_eq!(store.log_head().await.unwrap(), 0);
        let changes = [
            Change::CollectionCreated {
                collection: "sfs".into(),
            },
            document("a"),
            Change::DocumentDeleted {
                collection: "sfs".into(),
                document: "a".into(),
            },
            Change::Reindexed {
                collection: "sfs".into(),
            },
            Change::CollectionDeleted {
                collection: "sfs".into(),
            },
        ];
        for (i, change) in changes.iter().enumerate() {
            assert_eq!(append(&store, change).await, i as u64 + 1);
        }
        let identity = store.identity().await.unwrap();
        assert_eq!(identity.len(), 32);
        assert_ne!(identity, self::store().await.identity().await.unwrap());
        assert_eq!(store.log_head().await.unwrap(), 5);
        let all = store.changes_after(0, 100).await.unwrap();
        let read: Vec<_> = all.iter().map(|e| e.change.clone()).collect();
        assert_eq!(read, changes);
        let tail = store.changes_after(3, 1).await.unwrap();
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0].seq, 4);
        assert!(store.changes_after(5, 100).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn concurrent_writers_get_distinct_gap_free_numbers() {
        let store = store().await;
        let writers = (0..8).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                for j in 0..5 {
                    seqs.push(append(&store, &document(&format!("{i}-{j}"))).await);
                }
                seqs
            })
        });
        let mut seqs: Vec<u64> = futures::future::join_all(writers)
            .await
            .into_iter()
            .flat_map(Result::unwrap)
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=40).collect::<Vec<u64>>());
        let entries = store.changes_after(0, 100).await.unwrap();
        assert_eq!(entries.len(), 40);
    }

    #[tokio::test]
    async fn pruning_stops_at_the_slowest_live_server() {
        let store = store().await;
        for i in 0..6 {
            append(&store, &document(&i.to_string())).await;
        }
        assert_eq!(
            store.prune_log(Duration::from_secs(60)).await.unwrap(),
            None
        );
        store.heartbeat("fast", 6).await.unwrap();
        store.heartbeat("slow", 2).await.unwrap();
        let pruned = store.prune_log(Duration::from_secs(60)).await.unwrap();
        assert_eq!(pruned, Some(2));
        let left: Vec<u64> = store
            .changes_after(0, 100)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(left, [3, 4, 5, 6]);
        store.leave("slow").await.unwrap();
        assert_eq!(
            store.prune_log(Duration::from_secs(60)).await.unwrap(),
            Some(6)
        );
        assert!(store.changes_after(0, 100).await.unwrap().is_empty());
        assert_eq!(store.log_head().await.unwrap(), 6);
    }
}
