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

mod crash;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crash::checks::{check_server, check_store, disk_hits, embed};
use crash::process::ServerProcess;
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
    let response = client
        .post(format!("{}/v1/collections", server.base))
        .json(&json!({ "name": COLLECTION, "language": "english" }))
        .send()
        .await
        .expect("create collection");
    assert_eq!(response.status(), StatusCode::CREATED);

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
