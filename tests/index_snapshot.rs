//! Index snapshots across restarts of a real library on an on-disk SurrealDB: a restart
//! loads the snapshot and serves the same hits; writes made after it are replayed from the
//! change log, or, when the log no longer holds them, every index is rebuilt; a damaged
//! snapshot or one of another database is never used.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{licence, test_config};
use constitutional_rag::config::Config;
use constitutional_rag::model::DocumentInput;
use constitutional_rag::model::Language;
use constitutional_rag::service::{IndexStart, Library, SearchMode, SearchRequest};
use constitutional_rag::store::MetadataFilter;

const COLLECTION: &str = "licences";
const FIRST: [&str; 3] = [
    "apache-2.0-sentence-transformers",
    "mpl-2.0-pathspec",
    "numpy-bundled",
];
const LATER: &str = "psf-typing-extensions";
const QUESTIONS: [&str; 4] = [
    "may I distribute modified copies of the software",
    "patent license granted by contributors",
    "warranty disclaimer",
    "Python Software Foundation license agreement",
];

/// A library on the database in `dir`, with its index snapshot there when `snapshots`.
/// Snapshots are written at shutdown only, and the log is not pruned while the test runs
/// unless `heartbeat_secs` is small.
fn config(dir: &Path, snapshots: bool, heartbeat_secs: u64) -> Arc<Config> {
    let mut config = test_config();
    config.storage.url = format!("surrealkv://{}", dir.join("db").display());
    config.storage.index_snapshot = if snapshots {
        snapshot_path(dir).display().to_string()
    } else {
        String::new()
    };
    config.storage.index_snapshot_delay_secs = 3600;
    config.storage.heartbeat_secs = heartbeat_secs;
    config.storage.replica_timeout_secs = 3 * heartbeat_secs;
    Arc::new(config)
}

fn snapshot_path(dir: &Path) -> std::path::PathBuf {
    dir.join("index.snapshot")
}

/// Opens a library, waiting for the last one on the same database to have let it go (the
/// embedded engine shuts down in the background once its last handle drops).
async fn open(config: Arc<Config>) -> Library {
    for _ in 0..100 {
        match Library::open(config.clone()).await {
            Ok(library) => return library,
            Err(err) if err.to_string().contains("in use by another process") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("open the library: {err}"),
        }
    }
    panic!("the database stayed locked");
}

async fn add(library: &Library, id: &str) {
    let (title, text) = licence(id);
    let input = DocumentInput {
        external_id: Some(id.into()),
        title: Some(title),
        text,
        ..DocumentInput::default()
    };
    library
        .upsert_document(COLLECTION, input)
        .await
        .expect("upsert");
}

/// Closes `library` (writing its snapshot when it has one) and lets go of its database.
async fn shut(library: Library) {
    library.close().await;
}

/// A library whose collection holds the first documents, closed (writing its snapshot).
async fn seeded(dir: &Path) -> Vec<Vec<(String, String)>> {
    let library = open(config(dir, true, 3600)).await;
    library
        .create_collection(COLLECTION, "", Language::English)
        .await
        .expect("collection");
    for id in FIRST {
        add(&library, id).await;
    }
    let hits = answers(&library).await;
    shut(library).await;
    hits
}

/// Every question's hits in every mode: chunk id and score (printed, to compare exactly).
async fn answers(library: &Library) -> Vec<Vec<(String, String)>> {
    let mut all = Vec::new();
    for mode in [SearchMode::Hybrid, SearchMode::Bm25, SearchMode::Dense] {
        for question in QUESTIONS {
            let request = SearchRequest {
                query: question.into(),
                collections: vec![COLLECTION.into()],
                mode: Some(mode),
                limit: Some(8),
                filter: None,
                rerank: false,
            };
            let (_, hits) = library.search(&request).await.expect("search");
            all.push(
                hits.into_iter()
                    .map(|hit| (hit.chunk_id, format!("{:.6}", hit.score)))
                    .collect(),
            );
        }
    }
    all
}

/// The external ids of the documents the BM25 index finds for `query`.
async fn found_documents(library: &Library, query: &str) -> Vec<String> {
    let request = SearchRequest {
        query: query.into(),
        collections: vec![COLLECTION.into()],
        mode: Some(SearchMode::Bm25),
        limit: Some(50),
        filter: None,
        rerank: false,
    };
    let (_, hits) = library.search(&request).await.expect("search");
    let mut ids = Vec::new();
    for hit in hits {
        let document = library
            .document(COLLECTION, &hit.document_id, false)
            .await
            .expect("document");
        let id = document.external_id.expect("external id");
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_loads_the_snapshot_and_replays_the_writes_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let before = seeded(dir.path()).await;
    assert!(snapshot_path(dir.path()).exists(), "written at shutdown");

    let library = open(config(dir.path(), true, 3600)).await;
    let start = library.index_start();
    let version = library.corpus_version();
    assert_eq!(
        start,
        IndexStart {
            snapshot_version: Some(version),
            replayed: 0,
            reloaded: false
        }
    );
    assert_eq!(answers(&library).await, before, "the same hits as before");
    shut(library).await;

    // A server without snapshots writes more: one document added, one deleted.
    let writer = open(config(dir.path(), false, 3600)).await;
    add(&writer, LATER).await;
    let deleted = writer
        .list_documents(COLLECTION, &MetadataFilter::default(), 1, 100)
        .await
        .expect("documents")
        .documents
        .into_iter()
        .find(|d| d.external_id.as_deref() == Some(FIRST[1]))
        .expect("the document to delete");
    writer
        .delete_document(COLLECTION, &deleted.id)
        .await
        .expect("delete");
    let expected = writer.corpus_version();
    let found = found_documents(&writer, "license").await;
    shut(writer).await;

    let library = open(config(dir.path(), true, 3600)).await;
    let start = library.index_start();
    assert_eq!(start.snapshot_version, Some(version));
    assert!(!start.reloaded);
    assert_eq!(start.replayed as u64, expected - version);
    assert_eq!(library.corpus_version(), expected);
    assert_eq!(found_documents(&library, "license").await, found);
    assert!(found.contains(&LATER.to_string()) && !found.contains(&FIRST[1].to_string()));
    shut(library).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_pruned_from_the_log_after_the_snapshot_make_the_start_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path()).await;
    let snapshot = std::fs::read(snapshot_path(dir.path())).unwrap();

    // A server writes, heartbeats (pruning what it applied) and saves a newer snapshot,
    // which is then replaced by the older one, as if that server had died before writing.
    let writer = open(config(dir.path(), true, 1)).await;
    add(&writer, LATER).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let found = found_documents(&writer, "license").await;
    shut(writer).await;
    std::fs::write(snapshot_path(dir.path()), &snapshot).unwrap();

    let library = open(config(dir.path(), true, 3600)).await;
    let start = library.index_start();
    assert!(start.snapshot_version.is_some());
    assert!(start.reloaded, "{start:?}");
    assert_eq!(found_documents(&library, "license").await, found);
    assert!(found.contains(&LATER.to_string()));
    shut(library).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_snapshot_is_ignored_and_the_indexes_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let before = seeded(dir.path()).await;
    let path = snapshot_path(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&path, &bytes).unwrap();

    let library = open(config(dir.path(), true, 3600)).await;
    assert_eq!(library.index_start(), IndexStart::default());
    assert_eq!(answers(&library).await, before);
    shut(library).await;
    assert_ne!(
        std::fs::read(&path).unwrap(),
        bytes,
        "rewritten at shutdown"
    );

    // Cut short: the same.
    let whole = std::fs::read(&path).unwrap();
    std::fs::write(&path, &whole[..whole.len() - 100]).unwrap();
    let library = open(config(dir.path(), true, 3600)).await;
    assert_eq!(library.index_start(), IndexStart::default());
    assert_eq!(answers(&library).await, before);
    shut(library).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_of_another_database_is_not_used() {
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    seeded(first.path()).await;
    // The second database holds only the later document, and as many changes as the first
    // (so that its change log does not give the snapshot away).
    let library = open(config(second.path(), false, 3600)).await;
    for name in [COLLECTION, "other-a", "other-b", "other-c"] {
        library
            .create_collection(name, "", Language::English)
            .await
            .expect("collection");
    }
    add(&library, LATER).await;
    shut(library).await;
    std::fs::copy(snapshot_path(first.path()), snapshot_path(second.path())).unwrap();

    let library = open(config(second.path(), true, 3600)).await;
    assert_eq!(library.index_start(), IndexStart::default());
    assert_eq!(
        found_documents(&library, "license").await,
        vec![LATER.to_string()]
    );
    shut(library).await;
}
