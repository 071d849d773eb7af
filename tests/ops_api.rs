//! Operations over HTTP: metrics, request ids, rate and in-flight limits, CORS, readiness.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::{TestServer, expect_json, expect_problem, test_config};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// One scrape: each sample line's `name{labels}` mapped to its value, after checking that the
/// text is a well-formed exposition whose samples all belong to a declared family.
fn parse_exposition(text: &str) -> HashMap<String, f64> {
    let mut types = BTreeMap::new();
    let mut samples = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram"].contains(&kind),
                "type {line}"
            );
            assert!(
                types.insert(name.to_string(), kind).is_none(),
                "twice: {line}"
            );
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample: series value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "name {line}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base) == Some(&"histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample of undeclared family: {line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "labels {line}"
            );
        }
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "twice: {line}"
        );
    }
    samples
}

async fn scrape(server: &TestServer) -> HashMap<String, f64> {
    let response = server.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = common::content_type(&response);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse_exposition(&response.text().await.unwrap())
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    *samples.get(series).unwrap_or_else(|| {
        let mut known: Vec<_> = samples.keys().filter(|k| !k.contains("_bucket")).collect();
        known.sort();
        panic!("no series {series} among {known:#?}")
    })
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .expect("x-request-id echoed")
        .to_str()
        .unwrap()
        .to_string()
}

fn assert_uuid_v7(id: &str) {
    let uuid = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(uuid.get_version_num(), 7, "{id}");
}

fn retry_after(headers: &HeaderMap) -> u64 {
    headers
        .get(RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in whole seconds")
}

#[tokio::test]
async fn metrics_parse_and_move_with_requests() {
    let server = TestServer::start().await;
    let before = scrape(&server).await;
    assert_eq!(value(&before, "crag_embedding_cache_misses_total"), 0.0);
    assert_eq!(
        value(&before, "crag_model_batches_total{model=\"encoder\"}"),
        0.0
    );
    // The process's own figures: a server holds tens of MB and its listener's socket.
    assert!(value(&before, "process_resident_memory_bytes") > 10e6);
    assert!(value(&before, "process_open_fds") >= 1.0);
    assert!(value(&before, "process_start_time_seconds") > 1.7e9);

    server.create_collection("ops", "english").await;
    for _ in 0..2 {
        expect_json(server.get("/v1/collections/ops").await, StatusCode::OK).await;
    }
    expect_problem(
        server.get("/v1/collections/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        server.get("/no/such/route").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let text = json!({"text": "Article 1. Everyone has the right to speak freely."});
    let (status, _) = server.upsert("ops", &text).await;
    assert_eq!(status, StatusCode::CREATED);
    let embed = json!({"input": "What may everyone say?"});
    for _ in 0..2 {
        expect_json(server.post("/v1/embeddings", &embed).await, StatusCode::OK).await;
    }

    let after = scrape(&server).await;
    // Two changes (the collection, the document), both applied: the served version is the
    // log's head, nothing lags, and the log is readable.
    assert_eq!(value(&before, "crag_corpus_version"), 0.0);
    assert_eq!(value(&after, "crag_corpus_version"), 2.0);
    assert_eq!(value(&after, "crag_change_log_head"), 2.0);
    assert_eq!(value(&after, "crag_replication_lag_changes"), 0.0);
    assert_eq!(value(&after, "crag_change_log_unreadable_seconds"), 0.0);
    let route = |method: &str, route: &str, status: u16| {
        format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"")
    };
    let got = route("GET", "/v1/collections/{name}", 200);
    assert_eq!(
        value(&after, &format!("crag_http_requests_total{{{got}}}")),
        2.0
    );
    assert_eq!(
        value(
            &after,
            &format!("crag_http_request_duration_seconds_count{{{got}}}")
        ),
        2.0
    );
    assert_eq!(
        value(
            &after,
            &format!("crag_http_request_duration_seconds_bucket{{{got},le=\"+Inf\"}}")
        ),
        2.0
    );
    let missing = route("GET", "/v1/collections/{name}", 404);
    assert_eq!(
        value(&after, &format!("crag_http_requests_total{{{missing}}}")),
        1.0
    );
    let unmatched = route("GET", "unmatched", 404);
    assert_eq!(
        value(&after, &format!("crag_http_requests_total{{{unmatched}}}")),
        1.0
    );
    let created = route("POST", "/v1/collections", 201);
    assert_eq!(
        value(&after, &format!("crag_http_requests_total{{{created}}}")),
        1.0
    );
    assert!(
        after
            .keys()
            .all(|series| !series.contains("/v1/collections/ops")),
        "a raw path became a label"
    );
    let scrape_route = route("GET", "/metrics", 200);
    assert_eq!(
        value(
            &after,
            &format!("crag_http_requests_total{{{scrape_route}}}")
        ),
        1.0
    );
    // The scrape itself is being served.
    assert!(value(&after, "crag_http_requests_in_flight") >= 1.0);

    let db_round_trips = |samples: &HashMap<String, f64>| -> f64 {
        samples
            .iter()
            .filter(|(series, _)| series.starts_with("crag_db_query_duration_seconds_count"))
            .map(|(_, count)| count)
            .sum()
    };
    assert!(
        db_round_trips(&after) > db_round_trips(&before),
        "database latency is recorded"
    );
    assert!(
        value(
            &after,
            "crag_db_query_duration_seconds_count{statement=\"select\"}"
        ) >= 1.0
    );
    assert!(value(&after, "crag_model_batches_total{model=\"encoder\"}") >= 1.0);
    assert!(value(&after, "crag_model_batch_inputs_total{model=\"encoder\"}") >= 1.0);
    assert!(value(&after, "crag_model_tokens_total{model=\"encoder\"}") >= 1.0);
    assert!(value(&after, "crag_embedding_cache_misses_total") >= 1.0);
    assert!(
        value(&after, "crag_embedding_cache_hits_total{level=\"memory\"}") >= 1.0,
        "the same text embedded twice hits the memory cache"
    );
    assert_eq!(
        value(&after, "crag_model_queue_depth{model=\"encoder\"}"),
        0.0
    );
    assert_eq!(
        value(&after, "crag_model_queue_depth{model=\"reranker\"}"),
        0.0
    );
    server.stop().await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let server = TestServer::start().await;
    let with_id = |id: &str| {
        server
            .client
            .get(server.url("/v1/collections"))
            .header("x-request-id", id)
            .send()
    };
    let response = with_id("client-42:abc/XYZ").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(request_id(response.headers()), "client-42:abc/XYZ");
    let longest = "r".repeat(128);
    assert_eq!(
        request_id(with_id(&longest).await.unwrap().headers()),
        longest
    );

    let generated = request_id(server.get("/v1/collections").await.headers());
    assert_uuid_v7(&generated);
    let other = request_id(server.get("/v1/collections").await.headers());
    assert_ne!(generated, other, "each request gets its own id");
    for bad in ["has a space", &"r".repeat(129), "tab\tinside"] {
        let replaced = request_id(with_id(bad).await.unwrap().headers());
        assert_uuid_v7(&replaced);
    }

    // Errors, from routes and from the router alike, carry the id too.
    let missing = server
        .client
        .get(server.url("/no/such/route"))
        .header("x-request-id", "lost-1")
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(missing.headers()), "lost-1");
    expect_problem(missing, StatusCode::NOT_FOUND, "not_found").await;
    let invalid = server
        .client
        .post(server.url("/v1/collections"))
        .header("x-request-id", "bad-body-1")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(invalid.headers()), "bad-body-1");
    assert!(invalid.status().is_client_error());
    server.stop().await;
}

#[tokio::test]
async fn an_empty_bucket_answers_429_with_retry_after() {
    let mut config = test_config();
    // One token per 1000 s: nothing refills during the test.
    config.limits.requests_per_second = 0.001;
    config.limits.burst = 2;
    let server = TestServer::start_with(config).await;
    for _ in 0..2 {
        expect_json(server.get("/v1/collections").await, StatusCode::OK).await;
    }
    let refused = server.get("/v1/collections").await;
    let wait = retry_after(refused.headers());
    assert!((1..=1000).contains(&wait), "Retry-After {wait}");
    assert_uuid_v7(&request_id(refused.headers()));
    let problem = expect_problem(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("127.0.0.1"),
        "{problem}"
    );
    // Probes and scrapes are never rate limited.
    for path in ["/health/live", "/health/ready", "/metrics"] {
        assert_eq!(server.get(path).await.status(), StatusCode::OK, "{path}");
    }
    let samples = scrape(&server).await;
    let limited =
        "crag_http_requests_total{method=\"GET\",route=\"/v1/collections\",status=\"429\"}";
    assert_eq!(value(&samples, limited), 1.0);
    server.stop().await;
}

/// Creates an API key with `role` through the admin API (`admin` = None while auth is off).
async fn create_key(server: &TestServer, admin: Option<&str>, role: &str) -> String {
    let mut request = server.client.post(server.url("/v1/keys"));
    if let Some(admin) = admin {
        request = request.bearer_auth(admin);
    }
    let response = request
        .json(&json!({"name": role, "role": role}))
        .send()
        .await
        .unwrap();
    let created = expect_json(response, StatusCode::CREATED).await;
    created["key"].as_str().unwrap().to_string()
}

async fn list_with(server: &TestServer, key: &str) -> reqwest::Response {
    server
        .client
        .get(server.url("/v1/collections"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_api_key_has_its_own_bucket() {
    let mut config = test_config();
    config.limits.requests_per_second = 0.001;
    config.limits.burst = 2;
    let server = TestServer::start_with(config).await;
    // Key creation spends the loopback address's bucket while auth is still off.
    let admin = create_key(&server, None, "admin").await;
    let reader = create_key(&server, Some(&admin), "reader").await;
    let other = create_key(&server, Some(&admin), "reader").await;
    for _ in 0..2 {
        expect_json(list_with(&server, &reader).await, StatusCode::OK).await;
    }
    let refused = list_with(&server, &reader).await;
    assert!(retry_after(refused.headers()) >= 1);
    let problem = expect_problem(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("API key"),
        "{problem}"
    );
    // Same address, another key: a full bucket of its own.
    for _ in 0..2 {
        expect_json(list_with(&server, &other).await, StatusCode::OK).await;
    }
    expect_problem(
        list_with(&server, &other).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    // The admin key spent its own two tokens creating the reader keys.
    expect_problem(
        list_with(&server, &admin).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn requests_beyond_the_in_flight_limit_get_503() {
    let mut config = test_config();
    config.limits.max_in_flight = 1;
    let server = TestServer::start_with(config).await;
    server.create_collection("held", "english").await;

    // A bulk request whose body stays open holds the only permit.
    let (lines, body) = futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
    let held = tokio::spawn(
        server
            .client
            .post(server.url("/v1/collections/held/documents/bulk"))
            .header("content-type", "application/x-ndjson")
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    let mut refused = None;
    for _ in 0..1000 {
        let response = server.get("/v1/collections").await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::OK);
        tokio::task::yield_now().await;
    }
    let refused = refused.expect("a request was refused while the bulk request was in flight");
    assert_eq!(retry_after(refused.headers()), 1);
    expect_problem(refused, StatusCode::SERVICE_UNAVAILABLE, "overloaded").await;
    // Probes are exempt.
    assert_eq!(server.get("/health/ready").await.status(), StatusCode::OK);

    lines
        .unbounded_send(Ok(b"{\"text\": \"Article 1. A held document.\"}\n".to_vec()))
        .unwrap();
    drop(lines);
    let summary = expect_json(held.await.unwrap().unwrap(), StatusCode::OK).await;
    assert_eq!(summary["created"], 1, "{summary}");
    expect_json(server.get("/v1/collections").await, StatusCode::OK).await;
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_completes_an_in_flight_request_and_keeps_its_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config();
    config.storage.url = format!("surrealkv://{}", dir.path().join("db").display());
    config.cache.embedding_path = dir.path().join("embeddings.redb").display().to_string();
    let server = TestServer::start_with(config.clone()).await;
    server.create_collection("drain", "english").await;
    // Embedded now, so its vector sits in the disk cache's write queue at shutdown.
    let probe = json!({"input": "What happens to queued cache writes at shutdown?"});
    expect_json(server.post("/v1/embeddings", &probe).await, StatusCode::OK).await;

    // A bulk request whose body is still being sent when the shutdown begins.
    let (lines, body) = futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
    let held = tokio::spawn(
        server
            .client
            .post(server.url("/v1/collections/drain/documents/bulk"))
            .header("content-type", "application/x-ndjson")
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    // In flight: the bulk request and the scrape itself.
    while value(&scrape(&server).await, "crag_http_requests_in_flight") < 2.0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let base = server.base.clone();
    let stopping = tokio::spawn(server.stop());
    // The listener closes: a new connection is refused while the old request still runs.
    let mut refused = false;
    for _ in 0..200 {
        if reqwest::Client::new()
            .get(format!("{base}/health/live"))
            .send()
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "new connections are refused once shutting down");
    assert!(
        !stopping.is_finished(),
        "the shutdown waits for the request"
    );

    let text = "Article 1. A document written while the server drains.";
    lines
        .unbounded_send(Ok(format!("{}\n", json!({"text": text})).into_bytes()))
        .unwrap();
    drop(lines);
    let summary = expect_json(held.await.unwrap().unwrap(), StatusCode::OK).await;
    assert_eq!(summary["created"], 1, "{summary}");
    stopping.await.unwrap();

    // After a restart the write is there and the probe's vector comes from the flushed disk
    // cache.
    let server = TestServer::start_with(config).await;
    let listing = expect_json(
        server.get("/v1/collections/drain/documents").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listing["total"], 1, "{listing}");
    expect_json(server.post("/v1/embeddings", &probe).await, StatusCode::OK).await;
    let samples = scrape(&server).await;
    assert_eq!(
        value(&samples, "crag_embedding_cache_hits_total{level=\"disk\"}"),
        1.0
    );
    server.stop().await;
}

async fn preflight(server: &TestServer, origin: &str) -> reqwest::Response {
    server
        .client
        .request(Method::OPTIONS, server.url("/v1/search"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let mut config = test_config();
    config.limits.cors_origins = vec!["https://app.example".into()];
    let server = TestServer::start_with(config).await;
    let allowed = preflight(&server, "https://app.example").await;
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST"), "{methods}");

    let simple = server
        .client
        .get(server.url("/v1/collections"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(simple.status(), StatusCode::OK);
    assert_eq!(
        simple.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let exposed = simple.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("x-request-id"), "{exposed}");

    let denied = preflight(&server, "https://evil.example").await;
    assert!(
        denied
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(denied.headers().get("x-request-id").is_some());
    expect_problem(denied, StatusCode::FORBIDDEN, "cors_denied").await;

    // The server's own page posts with its own origin (browsers send Origin on every POST):
    // not a cross-origin request, so it passes even though that origin is not listed.
    let own_origin = server.base.clone();
    let own = server
        .client
        .post(server.url("/v1/collections"))
        .header("origin", own_origin.as_str())
        .json(&json!({"name": "from-the-page", "language": "english"}))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::CREATED, "{own_origin}");
    let spoofed = server
        .client
        .post(server.url("/v1/collections"))
        .header("origin", "http://other.example")
        .json(&json!({"name": "from-elsewhere", "language": "english"}))
        .send()
        .await
        .unwrap();
    expect_problem(spoofed, StatusCode::FORBIDDEN, "cors_denied").await;
    server.stop().await;

    // No origins configured: no cross-origin access at all.
    let server = TestServer::start().await;
    let denied = preflight(&server, "https://app.example").await;
    assert!(
        denied
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(denied.status().is_client_error());
    server.stop().await;
}

#[tokio::test]
async fn readiness_reports_each_component() {
    let server = TestServer::start().await;
    let live = expect_json(server.get("/health/live").await, StatusCode::OK).await;
    assert_eq!(live, json!({"status": "ok"}));
    let ready = expect_json(server.get("/health/ready").await, StatusCode::OK).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    for component in ["database", "encoder", "reranker"] {
        assert_eq!(ready["components"][component]["status"], "ready", "{ready}");
    }
    assert!(
        ready["components"].get("generator").is_none(),
        "no generator is configured: {ready}"
    );

    let spec = expect_json(server.get("/openapi.json").await, StatusCode::OK).await;
    let metrics = &spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"];
    assert!(
        metrics
            .get("text/plain; version=0.0.4; charset=utf-8")
            .is_some(),
        "{metrics}"
    );
    let limited = &spec["paths"]["/v1/search"]["post"]["responses"]["429"]["content"];
    assert!(
        limited.get("application/problem+json").is_some(),
        "{limited}"
    );
    let states = &spec["components"]["schemas"]["State"]["enum"];
    assert_eq!(
        *states,
        json!(["ready", "degraded", "loading", "unavailable"])
    );
    server.stop().await;
}
