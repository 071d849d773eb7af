//! Fault injection for the crash test, compiled into debug builds only: a release server
//! holds no code that could tear a write, whatever its environment says.
//!
//! With `CONSTITUTIONAL_RAG_TEAR_DOCUMENT_WRITE=N` the process's N-th document write (an
//! insert or a replacement, counted from 1) is split in two: its first transaction commits
//! the document row with its change-log entry (for a replacement, after deleting the old
//! chunks), and the process aborts before the second, the chunks', begins. That is the torn
//! write one transaction per document rules out; `tests/crash_safety.rs` makes it and
//! asserts that the crash check reports it. (Not a `CRAG_*` setting: it is no part of the
//! configuration, and the configuration refuses names it does not know.)

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::super::Store;
use super::super::change_log::Change;

/// The environment variable that names the document write to tear.
const TEAR_DOCUMENT_WRITE: &str = "CONSTITUTIONAL_RAG_TEAR_DOCUMENT_WRITE";

/// Counts this document write and tells whether it is the one to tear.
pub(super) fn tear_this_write() -> bool {
    static TORN: LazyLock<Option<u64>> = LazyLock::new(|| {
        let value = std::env::var(TEAR_DOCUMENT_WRITE).ok()?;
        Some(value.parse().unwrap_or_else(|_| {
            panic!("{TEAR_DOCUMENT_WRITE}={value}: expected the number of a document write")
        }))
    });
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let Some(torn) = *TORN else {
        return false;
    };
    WRITES.fetch_add(1, Ordering::SeqCst) + 1 == torn
}

impl Store {
    /// Commits `document_half` (a document write without its chunks) in a transaction of
    /// its own, then aborts the process: the chunks' transaction never runs.
    pub(super) async fn write_torn(&self, document_half: &str, vars: Value, change: &Change) -> ! {
        let committed = self.write_logged(document_half, vars, change).await;
        tracing::error!(
            ?committed,
            "{TEAR_DOCUMENT_WRITE}: the document row is committed without its chunks; aborting"
        );
        std::process::abort()
    }
}
