//! Crash safety: the real server binary, on an on-disk data directory, is killed with
//! SIGKILL at seeded random moments while it ingests (streamed NDJSON bulk requests, single
//! upserts, replacements of a document's chunks, deletes). After every kill the data
//! directory is read directly (no orphan chunk; every document exactly the chunks and
//! embeddings of its text; every acknowledged write present; nothing but whole versions),
//! then the server is restarted and checked through its API (counts, chunk listings, BM25
//! and dense search, and the redb embedding cache serving vectors written before the kill).
//!
//! `CRASH_SEED` replays a seed (the one used is printed); `CRASH_KILLS` sets the number of
//! kill points (default 12).
//!
//! That the store check would see a write that is not atomic is shown too: the fault switch
//! of debug builds commits one document row without its chunks and aborts the server, and
//! the check must report that document.

mod crash;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crash::checks::{check_server, check_store, disk_hits, embed};
use crash::process::{ServerProcess, storage_url};
use crash::workload::{self, Model, OpKind};
use crash::{COLLECTION, Rng, store};
use reqwest::{Client, StatusCode};
use serde_json::json;
use tokio::sync::watch;

/// How long after the cache probe a kill may come: the cache commits durably at least once
/// a second, so the probe's vectors are on disk by then.
const PROBE_DURABLE_AFTER: Duration = Duration::from_millis(1500);
/// Documents checked through the API after each restart.
const API_SAMPLE: usize = 6;
/// The debug-build switch that tears the N-th document write (`src/store/documents/fault.rs`).
const TEAR_DOCUMENT_WRITE: &str = "CONSTITUTIONAL_RAG_TEAR_DOCUMENT_WRITE";
/// The document write the torn-write test tears: a few whole writes come before it.
const TORN_WRITE: &str = "7";
/// SIGABRT on Linux: how the server ends at the torn write.
const SIGABRT: i32 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let seed = env_number("CRASH_SEED").unwrap_or_else(time_seed);
    let kills = env_number("CRASH_KILLS").unwrap_or(12) as usize;
    eprintln!("crash-safety seed {seed} (replay with CRASH_SEED={seed}), {kills} kill points");
    let dir = tempfile::tempdir().expect("data directory");
    let client = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let mut rng = Rng::new(seed);
    let model = Arc::new(Mutex::new(Model::default()));
    let started = Instant::now();

    let mut server = start(dir.path(), 0, &client).await;
    create_collection(&client, &server.base).await;

    let mut survived: BTreeMap<String, usize> = BTreeMap::new();
    let (mut unanswered_kept, mut unanswered_lost) = (0, 0);
    for round in 0..kills {
        let probe: Vec<String> = (0..3)
            .map(|i| format!("Cache probe {i} of kill {round}, seed {seed}."))
            .collect();
        let probe_vectors = embed(&client, &server.base, &probe).await;
        let probed_at = Instant::now();

        let (in_flight, watching) = watch::channel(None);
        let workload = tokio::spawn(workload::run(
            client.clone(),
            server.base.clone(),
            model.clone(),
            Rng::new(rng.next()),
            in_flight,
        ));
        let target = [
            None,
            Some(OpKind::Bulk),
            Some(OpKind::Replace),
            Some(OpKind::Delete),
        ][round % 4];
        let killed_during = kill_moment(watching, target, probed_at, &mut rng).await;
        server.kill();
        let unanswered = workload.await.expect("workload");
        let label = match killed_during {
            Some(kind) => format!("during {kind:?}"),
            None => format!("between operations (next: {unanswered:?})"),
        };

        let snapshot = store::snapshot(dir.path()).await;
        let report = check_store(&snapshot, &mut model.lock().unwrap());
        unanswered_kept += report.kept;
        unanswered_lost += report.lost;

        server = start(dir.path(), round + 1, &client).await;
        let hits_before = disk_hits(&client, &server.base).await;
        let again = embed(&client, &server.base, &probe).await;
        assert_eq!(
            again, probe_vectors,
            "the cache serves other vectors after a kill"
        );
        let hits = disk_hits(&client, &server.base).await - hits_before;
        assert!(
            hits >= probe.len() as u64,
            "embedding cache disk hits: {hits}"
        );
        let observed = model.lock().unwrap().clone();
        let documents = observed.entries.len();
        check_server(
            &client,
            &server.base,
            &observed,
            report.chunks,
            &mut rng,
            API_SAMPLE,
        )
        .await;
        eprintln!(
            "kill {} {label}: survived; {documents} documents, {} chunks; unanswered writes \
             kept {}, not kept {} ({:.0?})",
            round + 1,
            report.chunks,
            report.kept,
            report.lost,
            started.elapsed()
        );
        *survived.entry(label).or_default() += 1;
    }
    server.kill();
    eprintln!(
        "crash safety: {kills} kill points survived in {:.0?} (seed {seed}): {survived:?}; \
         unanswered writes kept whole {unanswered_kept}, rolled back whole {unanswered_lost}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_store_check_reports_a_torn_document_write() {
    let dir = tempfile::tempdir().expect("data directory");
    let client = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let url = storage_url(dir.path());
    let mut server = ServerProcess::spawn_with(
        dir.path(),
        0,
        &[
            ("CRAG_STORAGE_URL", &url),
            (TEAR_DOCUMENT_WRITE, TORN_WRITE),
        ],
    );
    assert!(
        server.wait_ready(&client).await,
        "the server does not start"
    );
    create_collection(&client, &server.base).await;

    let model = Arc::new(Mutex::new(Model::default()));
    let (in_flight, _watching) = watch::channel(None);
    let workload = workload::run(
        client.clone(),
        server.base.clone(),
        model.clone(),
        Rng::new(20),
        in_flight,
    );
    let unanswered = tokio::time::timeout(Duration::from_secs(300), workload)
        .await
        .expect("the server never stopped answering: no write was torn (the switch exists in debug builds only)");
    let status = server
        .wait_exit(Duration::from_secs(30))
        .expect("the server still runs after an unanswered write");
    assert_eq!(
        status.signal(),
        Some(SIGABRT),
        "the server ended with {status}, not at the torn write:\n{}",
        server.log()
    );

    let snapshot = store::snapshot(dir.path()).await;
    let chunkless: Vec<&str> = snapshot
        .documents
        .iter()
        .filter(|document| !snapshot.chunks.iter().any(|c| c.document == document.id))
        .map(|document| document.id.as_str())
        .collect();
    let [torn] = chunkless[..] else {
        panic!("one document should lack its chunks, these do: {chunkless:?}");
    };
    eprintln!("torn during {unanswered:?}: document {torn}; the store check must fail on it");
    let mut model = model.lock().unwrap().clone();
    let verdict = std::panic::catch_unwind(AssertUnwindSafe(|| check_store(&snapshot, &mut model)));
    let failure = verdict.expect_err("the store check passes a torn document write");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| failure.downcast_ref::<&str>().map(ToString::to_string))
        .unwrap_or_default();
    assert!(
        message.contains(&format!("document {torn} holds 0 chunks")),
        "the store check failed for another reason: {message}"
    );
}

/// Creates the test's collection through the server at `base`.
async fn create_collection(client: &Client, base: &str) {
    let response = client
        .post(format!("{base}/v1/collections"))
        .json(&json!({ "name": COLLECTION, "language": "english" }))
        .send()
        .await
        .expect("create collection");
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// Starts the server on `dir` and waits until it is ready; retries while the killed
/// process's database lock is being released.
async fn start(dir: &Path, run: usize, client: &Client) -> ServerProcess {
    for _ in 0..20 {
        let mut server = ServerProcess::spawn(dir, run);
        if server.wait_ready(client).await {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the server does not start on {}", dir.display());
}

/// Waits for the moment to kill: a random one, or a random short delay into the next
/// operation of kind `target`; never before the cache probe is durable. Returns the kind
/// of operation in flight at that moment.
async fn kill_moment(
    mut watching: watch::Receiver<Option<OpKind>>,
    target: Option<OpKind>,
    probed_at: Instant,
    rng: &mut Rng,
) -> Option<OpKind> {
    let durable = tokio::time::sleep_until((probed_at + PROBE_DURABLE_AFTER).into());
    match target {
        None => {
            durable.await;
            tokio::time::sleep(Duration::from_millis(rng.range(0, 2000))).await;
        }
        Some(kind) => {
            durable.await;
            let deadline = Instant::now() + Duration::from_secs(30);
            while *watching.borrow_and_update() != Some(kind) && Instant::now() < deadline {
                let _ = tokio::time::timeout(Duration::from_millis(500), watching.changed()).await;
            }
            // Windows wide enough that some kills land after the commit and some before.
            let within_ms = match kind {
                OpKind::Bulk => 400,
                OpKind::Replace | OpKind::Create => 600,
                OpKind::Delete => 40,
            };
            tokio::time::sleep(Duration::from_millis(rng.range(0, within_ms))).await;
        }
    }
    *watching.borrow()
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
}

fn time_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64)
}
