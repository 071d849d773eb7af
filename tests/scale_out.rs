//! Several servers over one SurrealDB server, all real processes: the SurrealDB server that
//! `just test-peers` builds from crates.io (`surrealdb-server` 3.3.5) on loopback, and our
//! server binary started against it with `storage.url = ws://…`. What one server writes, the
//! others serve — within a bounded lag, and at once for a request that sends the writer's
//! `X-Corpus-Version` as `X-Min-Corpus-Version`; a replica killed during a bulk ingest and
//! restarted converges; every replica recovers from a restart of the SurrealDB server; two
//! servers starting at once migrate exactly once; the store's credentials never reach a log.

#[allow(dead_code)]
#[path = "crash/process.rs"]
mod process;
#[path = "common/scale_out_client.rs"]
mod scale_out_client;
#[path = "common/surreal.rs"]
mod surreal;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use process::{ServerProcess, free_port};
use reqwest::{Client, StatusCode};
use scale_out_client::{corpus_version, describe_collection, write_document};
use serde_json::{Value, json};
use surreal::Surreal;
use tempfile::TempDir;

/// The root password of the test's SurrealDB server; no log may contain it.
const PASSWORD: &str = "Vf7-kQ2p-Lx9z-rootsecret";
/// The collection the tests write to.
const COLLECTION: &str = "sfs";
/// The longest a replica may take to serve another replica's write without being asked to.
const MAX_LAG: Duration = Duration::from_secs(10);

/// Settings of a replica against `surreal`.
fn replica_env(surreal: &Surreal) -> Vec<(&'static str, String)> {
    vec![
        ("CRAG_STORAGE_URL", surreal.url()),
        ("CRAG_STORAGE_USERNAME", "root".into()),
        ("CRAG_STORAGE_PASSWORD", PASSWORD.into()),
        ("CRAG_STORAGE_POLL_INTERVAL_MS", "100".into()),
        ("CRAG_STORAGE_HEARTBEAT_SECS", "1".into()),
        ("CRAG_STORAGE_REPLICA_TIMEOUT_SECS", "5".into()),
        ("CRAG_STORAGE_VERSION_WAIT_MS", "2000".into()),
        ("CRAG_LOG_LEVEL", "info".into()),
    ]
}

/// Starts replica `run` (its log and embedding cache in `dir`) and waits until it is ready.
async fn replica(dir: &Path, run: usize, surreal: &Surreal, client: &Client) -> ServerProcess {
    let dir = dir.join(format!("replica-{run}"));
    std::fs::create_dir_all(&dir).expect("replica dir");
    let env = replica_env(surreal);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = ServerProcess::spawn_with(&dir, run, &env);
    assert!(
        server.wait_ready(client).await,
        "replica {run} did not start"
    );
    server
}

/// A statute-style text carrying `marker`, a word no other document has.
fn statute(section: usize, marker: &str) -> String {
    format!(
        "{section} § Den som uppsåtligen eller av oaktsamhet bryter mot\n\
         bestämmelserna i {} kap. döms, om gärningen inte är belagd med\n\
         strängare straff i brottsbalken, till böter. Detsamma gäller\n\
         den som lämnar oriktiga uppgifter ({marker}) till myndigheten.\n\n\
         Lag (2019:{section}).",
        section % 12 + 1
    )
}

/// Creates the test collection through `base`.
async fn create_collection(client: &Client, base: &str) -> u64 {
    let response = client
        .post(format!("{base}/v1/collections"))
        .json(&json!({ "name": COLLECTION, "language": "swedish" }))
        .send()
        .await
        .expect("create collection");
    assert_eq!(response.status(), StatusCode::CREATED, "{response:?}");
    version_of(&response)
}

/// Writes a document through `base`: its id and the corpus version that includes it.
async fn write(client: &Client, base: &str, external_id: &str, text: &str) -> (String, u64) {
    let document = json!({ "external_id": external_id, "title": external_id, "text": text });
    let response = write_document(client, base, COLLECTION, &document).await;
    let version = version_of(&response);
    let body: Value = response.json().await.expect("write body");
    (
        body["document"]["id"].as_str().expect("id").to_string(),
        version,
    )
}

/// The corpus version a response carries.
fn version_of(response: &reqwest::Response) -> u64 {
    corpus_version(response).expect("every response carries X-Corpus-Version")
}

/// BM25 hits for `query` through `base`, at least at `min_version` when given: the response
/// status, the documents hit and the version searched.
async fn search(
    client: &Client,
    base: &str,
    query: &str,
    min_version: Option<u64>,
) -> (StatusCode, Vec<String>, u64) {
    let mut request = client.post(format!("{base}/v1/search")).json(&json!({
        "query": query,
        "collections": [COLLECTION],
        "mode": "bm25",
        "limit": 10,
    }));
    if let Some(version) = min_version {
        request = request.header("X-Min-Corpus-Version", version.to_string());
    }
    let response = request.send().await.expect("search");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let hits = body["hits"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .map(|hit| hit["document_id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    (status, hits, body["corpus_version"].as_u64().unwrap_or(0))
}

/// The documents of the collection as `base` counts them.
async fn document_count(client: &Client, base: &str) -> u64 {
    let body = describe_collection(client, base, COLLECTION).await;
    body["document_count"].as_u64().expect("document_count")
}

/// Polls `probe` until it holds; how long that took (fails after [`MAX_LAG`]).
async fn within_lag(what: &str, probe: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    assert!(
        within_lag_or(MAX_LAG, probe).await,
        "{what} not within {MAX_LAG:?}"
    );
    started.elapsed()
}

/// Polls `probe` until it holds (true) or `limit` has passed (false).
async fn within_lag_or(limit: Duration, mut probe: impl AsyncFnMut() -> bool) -> bool {
    let started = Instant::now();
    while !probe().await {
        if started.elapsed() >= limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Reads the SurrealDB server directly: the migrations it has recorded, by name.
async fn recorded_migrations(surreal: &Surreal) -> Vec<String> {
    let db = surrealdb::engine::any::connect(surreal.url())
        .await
        .expect("connect to surreal");
    db.signin(surrealdb::opt::auth::Root {
        username: "root".into(),
        password: PASSWORD.into(),
    })
    .await
    .expect("sign in");
    db.use_ns("crag").use_db("main").await.expect("use");
    let mut response = db
        .query("SELECT VALUE name FROM schema_version ORDER BY name;")
        .await
        .expect("query");
    response.take(0).expect("names")
}

fn assert_no_secret(servers: &[&ServerProcess]) {
    for server in servers {
        let log = server.log();
        assert!(!log.is_empty(), "the replica logged nothing");
        assert!(
            !log.contains(PASSWORD),
            "a replica's log shows the store password:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_through_one_server_are_served_by_every_other() {
    let dir = TempDir::new().unwrap();
    let client = Client::new();
    let surreal = Surreal::start(dir.path(), free_port(), PASSWORD);
    surreal.wait_ready(&client).await;

    // Three servers start at once on a fresh database: the migrations run exactly once.
    let (a, b, c) = tokio::join!(
        replica(dir.path(), 1, &surreal, &client),
        replica(dir.path(), 2, &surreal, &client),
        replica(dir.path(), 3, &surreal, &client),
    );
    let migrations = recorded_migrations(&surreal).await;
    let distinct: BTreeSet<&String> = migrations.iter().collect();
    assert_eq!(distinct.len(), migrations.len(), "{migrations:?}");
    assert!(migrations.len() >= 4, "{migrations:?}");

    let created = create_collection(&client, &a.base).await;
    let (status, _, _) = search(&client, &b.base, "böter", Some(created)).await;
    assert_eq!(status, StatusCode::OK, "the collection reached replica 2");

    // A write through one replica: immediately searchable on another that is asked for its
    // version, and on the third within the lag bound without asking.
    let (id, written) = write(&client, &a.base, "sfs-1", &statute(1, "kvartsljusstake")).await;
    assert!(written > created);
    let (status, hits, version) = search(&client, &b.base, "kvartsljusstake", Some(written)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        hits,
        std::slice::from_ref(&id),
        "read-your-writes on another replica"
    );
    assert!(version >= written);
    let lag = within_lag("the write on replica 3", async || {
        search(&client, &c.base, "kvartsljusstake", None).await.1 == [id.clone()]
    })
    .await;
    eprintln!("replication lag of one write without X-Min-Corpus-Version: {lag:?}");

    // A replacement through the third: the old text is gone everywhere, the new one found.
    let (same_id, replaced) = write(&client, &c.base, "sfs-1", &statute(1, "tornseglare")).await;
    assert_eq!(same_id, id, "the external id keeps its document");
    for server in [&a, &b] {
        let (_, old, _) = search(&client, &server.base, "kvartsljusstake", Some(replaced)).await;
        assert!(old.is_empty(), "a stale hit remains on {}", server.base);
        let (_, new, _) = search(&client, &server.base, "tornseglare", Some(replaced)).await;
        assert_eq!(new, std::slice::from_ref(&id));
    }

    // A delete through the second: no replica finds the document any more.
    let response = client
        .delete(format!(
            "{}/v1/collections/{COLLECTION}/documents/{id}",
            b.base
        ))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let deleted = version_of(&response);
    for server in [&a, &c] {
        let (_, hits, _) = search(&client, &server.base, "tornseglare", Some(deleted)).await;
        assert!(
            hits.is_empty(),
            "a deleted document is found on {}",
            server.base
        );
    }

    // The same search at the same version gives the same hits, in the same order, on all.
    for n in 2..8 {
        write(
            &client,
            &a.base,
            &format!("sfs-{n}"),
            &statute(n, "skattebrott"),
        )
        .await;
    }
    let (_, expected, at) = search(&client, &a.base, "skattebrott böter", None).await;
    assert_eq!(expected.len(), 6);
    for server in [&b, &c] {
        let (_, hits, version) = search(&client, &server.base, "skattebrott böter", Some(at)).await;
        assert_eq!(version, at, "no write came in between");
        assert_eq!(
            hits, expected,
            "same version, same ranking on {}",
            server.base
        );
    }

    // A version no server has reached: 503 with Retry-After after the bounded wait; a
    // malformed one: 400.
    let response = client
        .post(format!("{}/v1/search", b.base))
        .header("X-Min-Corpus-Version", (at + 1_000).to_string())
        .json(&json!({ "query": "böter", "collections": [COLLECTION] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let response = client
        .post(format!("{}/v1/search", b.base))
        .header("X-Min-Corpus-Version", "soon")
        .json(&json!({ "query": "böter", "collections": [COLLECTION] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Readiness reports the version and the lag.
    let ready: Value = client
        .get(format!("{}/health/ready", c.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ready["components"]["replication"]["status"], "ready",
        "{ready}"
    );
    assert!(ready["corpus_version"].as_u64().unwrap() >= at, "{ready}");
    assert!(ready["lag"].is_u64(), "{ready}");

    assert_no_secret(&[&a, &b, &c]);
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_converge_after_a_kill_and_recover_from_a_store_restart() {
    let dir = TempDir::new().unwrap();
    let client = Client::new();
    let mut surreal = Surreal::start(dir.path(), free_port(), PASSWORD);
    surreal.wait_ready(&client).await;
    let a = replica(dir.path(), 1, &surreal, &client).await;
    let mut b = replica(dir.path(), 2, &surreal, &client).await;
    create_collection(&client, &a.base).await;

    // A bulk ingest (NDJSON, four requests of ten documents) through the first replica; the
    // second is killed in the middle of it and started again.
    const DOCUMENTS: usize = 40;
    let writer = {
        let (client, base) = (client.clone(), a.base.clone());
        tokio::spawn(async move {
            for batch in 0..4 {
                let body: String = (batch * 10..batch * 10 + 10)
                    .flat_map(|n| {
                        let text = statute(n, &format!("bulkmark{n}"));
                        let line = json!({ "external_id": format!("bulk-{n}"), "text": text });
                        [line.to_string(), "\n".to_string()]
                    })
                    .collect();
                let response = client
                    .post(format!("{base}/v1/collections/{COLLECTION}/documents/bulk"))
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await
                    .expect("bulk");
                assert!(response.status().is_success(), "{}", response.status());
                let summary: Value = response.json().await.expect("bulk summary");
                let items = summary["items"].as_array().expect("bulk items");
                assert!(
                    items.iter().all(|item| item["error"].is_null()),
                    "{summary}"
                );
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    b.kill();
    let b = replica(dir.path(), 4, &surreal, &client).await;
    writer.await.expect("the bulk ingest finished");
    within_lag("the restarted replica's catch-up", async || {
        document_count(&client, &b.base).await == DOCUMENTS as u64
    })
    .await;
    assert_eq!(document_count(&client, &a.base).await, DOCUMENTS as u64);
    for n in [0, DOCUMENTS / 2, DOCUMENTS - 1] {
        let (_, hits, _) = search(&client, &b.base, &format!("bulkmark{n}"), None).await;
        assert_eq!(
            hits.len(),
            1,
            "document {n} exactly once on the restarted replica"
        );
    }

    // The SurrealDB server restarts while both replicas serve and write: readiness drops,
    // every replica recovers, and no acknowledged write is lost or applied twice.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (client, base, stop) = (client.clone(), b.base.clone(), stop.clone());
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let response = client
                    .post(format!("{base}/v1/collections/{COLLECTION}/documents"))
                    .json(&json!({
                        "external_id": format!("load-{n}"),
                        "text": statute(n, &format!("lastmark{n}")),
                    }))
                    .send()
                    .await;
                if let Ok(response) = response
                    && response.status().is_success()
                {
                    acknowledged.push(n);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            acknowledged
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    surreal.kill();
    let down = within_lag("readiness dropping while the store is down", async || {
        client
            .get(format!("{}/health/ready", a.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::SERVICE_UNAVAILABLE)
    })
    .await;
    eprintln!("readiness turned 503 {down:?} after the store went down");
    surreal.spawn();
    surreal.wait_ready(&client).await;
    for server in [&a, &b] {
        let mut last = String::new();
        let ready = within_lag_or(MAX_LAG, async || {
            let Ok(response) = client
                .get(format!("{}/health/ready", server.base))
                .send()
                .await
            else {
                return false;
            };
            let ready = response.status().is_success();
            last = response.text().await.unwrap_or_default();
            ready
        })
        .await;
        assert!(
            ready,
            "readiness after the store restart not within {MAX_LAG:?}; the last answer: {last}"
        );
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    let acknowledged = load.await.expect("load finished");
    assert!(
        !acknowledged.is_empty(),
        "writes succeeded around the restart"
    );
    let (_, latest) = write(
        &client,
        &b.base,
        "after-restart",
        &statute(99, "efterstart"),
    )
    .await;
    for server in [&a, &b] {
        let (status, hits, _) = search(&client, &server.base, "efterstart", Some(latest)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            hits.len(),
            1,
            "a write after the restart reaches {}",
            server.base
        );
        for n in &acknowledged {
            let (_, hits, _) =
                search(&client, &server.base, &format!("lastmark{n}"), Some(latest)).await;
            assert_eq!(hits.len(), 1, "acknowledged write {n} on {}", server.base);
        }
    }
    assert_eq!(
        document_count(&client, &a.base).await,
        document_count(&client, &b.base).await
    );
    assert_no_secret(&[&a, &b]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_that_refuses_or_is_absent_stops_the_start_naming_the_url_not_the_secret() {
    let dir = TempDir::new().unwrap();
    let client = Client::new();
    let surreal = Surreal::start(dir.path(), free_port(), PASSWORD);
    surreal.wait_ready(&client).await;
    let wrong = "Wrong-Secret-7731";
    let absent = format!("ws://127.0.0.1:{}", free_port());
    for (run, url, password) in [(1, surreal.url(), wrong), (2, absent.clone(), PASSWORD)] {
        let env = [
            ("CRAG_STORAGE_URL", url.as_str()),
            ("CRAG_STORAGE_USERNAME", "root"),
            ("CRAG_STORAGE_PASSWORD", password),
        ];
        let mut server = ServerProcess::spawn_with(dir.path(), run, &env);
        let status = server
            .wait_exit(Duration::from_secs(60))
            .expect("the server stops by itself");
        assert!(!status.success());
        let log = server.log();
        assert!(
            log.contains(&url),
            "the error names the store's URL:\n{log}"
        );
        assert!(
            !log.contains(password),
            "the log shows the password:\n{log}"
        );
    }
}
