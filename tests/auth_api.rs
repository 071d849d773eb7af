//! API keys and roles over HTTP: open without keys on loopback; with keys, 401 for missing,
//! unknown and revoked keys, 403 below the route's role; keys managed by the admin API and
//! the CLI.

mod common;

use std::process::Command;

use common::{TestServer, expect_json, expect_problem, test_config};
use constitutional_rag::server::BoundServer;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

const TEXT: &str = "1 § All offentlig makt i Sverige utgår från folket.";

/// How a request carries its key.
#[derive(Clone, Copy)]
enum Header {
    Bearer,
    ApiKey,
}

fn request(server: &TestServer, method: Method, path: &str, key: Option<&str>) -> RequestBuilder {
    keyed(
        server.client.request(method, server.url(path)),
        key,
        Header::Bearer,
    )
}

fn keyed(builder: RequestBuilder, key: Option<&str>, header: Header) -> RequestBuilder {
    match (key, header) {
        (None, _) => builder,
        (Some(key), Header::Bearer) => builder.bearer_auth(key),
        (Some(key), Header::ApiKey) => builder.header("X-API-Key", key),
    }
}

/// Creates a key through the admin API (with `admin`, or unauthenticated while auth is off).
async fn create_key(server: &TestServer, admin: Option<&str>, name: &str, role: &str) -> Value {
    let response = request(server, Method::POST, "/v1/keys", admin)
        .json(&json!({"name": name, "role": role}))
        .send()
        .await
        .unwrap();
    let created = expect_json(response, StatusCode::CREATED).await;
    assert!(
        created["key"].as_str().unwrap().starts_with("crag_"),
        "{created}"
    );
    assert_eq!(created["role"], role);
    created
}

async fn expect_unauthorized(response: reqwest::Response, code: &str) {
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "challenge {challenge:?}");
    expect_problem(response, StatusCode::UNAUTHORIZED, code).await;
}

#[tokio::test]
async fn without_keys_the_loopback_server_is_open() {
    let server = TestServer::start().await;
    server.create_collection("open", "english").await;
    let (status, _) = server.upsert("open", &json!({"text": TEXT})).await;
    assert_eq!(status, StatusCode::CREATED);
    let keys = expect_json(server.get("/v1/keys").await, StatusCode::OK).await;
    assert_eq!(keys["keys"], json!([]));
    // A key sent to a server without keys is not an error.
    let response = request(
        &server,
        Method::GET,
        "/v1/collections",
        Some("crag_unknown"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn roles_are_enforced_on_every_route() {
    let server = TestServer::start().await;
    // The first key is created while the loopback server is still open.
    let admin = create_key(&server, None, "root", "admin").await;
    let admin = admin["key"].as_str().unwrap();
    let writer = create_key(&server, Some(admin), "ingester", "writer").await;
    let reader = create_key(&server, Some(admin), "frontend", "reader").await;
    let (writer_id, writer) = (
        writer["id"].as_str().unwrap(),
        writer["key"].as_str().unwrap(),
    );
    let reader = reader["key"].as_str().unwrap();

    // Missing and unknown keys: 401 with a challenge.
    let missing = request(&server, Method::GET, "/v1/collections", None)
        .send()
        .await
        .unwrap();
    expect_unauthorized(missing, "missing_api_key").await;
    let head = request(&server, Method::HEAD, "/v1/collections", None)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::UNAUTHORIZED);
    let bogus = format!("crag_{}", "0".repeat(64));
    for header in [Header::Bearer, Header::ApiKey] {
        let response = keyed(
            server.client.get(server.url("/v1/collections")),
            Some(&bogus),
            header,
        )
        .send()
        .await
        .unwrap();
        expect_unauthorized(response, "invalid_api_key").await;
    }

    // Probes, metrics and the spec stay open; unknown routes keep their 404 and 405.
    for path in [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/openapi.json",
        "/docs",
    ] {
        let status = server.get(path).await.status();
        assert!(status.is_success(), "{path}: {status}");
    }
    expect_problem(
        server.get("/v1/nowhere").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let patch = request(&server, Method::PATCH, "/v1/collections", None)
        .send()
        .await
        .unwrap();
    expect_problem(patch, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

    // Admin creates collections; a writer may not.
    let create = |key: &str, name: &str| {
        request(&server, Method::POST, "/v1/collections", Some(key)).json(&json!({"name": name}))
    };
    let denied = create(writer, "nope").send().await.unwrap();
    let problem = expect_problem(denied, StatusCode::FORBIDDEN, "insufficient_role").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("admin"),
        "{problem}"
    );
    expect_json(
        create(admin, "laws").send().await.unwrap(),
        StatusCode::CREATED,
    )
    .await;

    // A writer writes documents; a reader may not, but reads and searches, with either header.
    let upsert = |key: &str| {
        request(
            &server,
            Method::POST,
            "/v1/collections/laws/documents",
            Some(key),
        )
        .json(&json!({"text": TEXT, "external_id": "rf"}))
    };
    expect_json(upsert(writer).send().await.unwrap(), StatusCode::CREATED).await;
    let denied = upsert(reader).send().await.unwrap();
    expect_problem(denied, StatusCode::FORBIDDEN, "insufficient_role").await;
    for header in [Header::Bearer, Header::ApiKey] {
        let search = keyed(
            server.client.post(server.url("/v1/search")),
            Some(reader),
            header,
        )
        .json(&json!({"query": "offentlig makt", "collections": ["laws"], "mode": "bm25"}))
        .send()
        .await
        .unwrap();
        let hits = expect_json(search, StatusCode::OK).await;
        assert_eq!(hits["hits"].as_array().unwrap().len(), 1, "{hits}");
        let listing = keyed(
            server.client.get(server.url("/v1/collections/laws")),
            Some(reader),
            header,
        )
        .send()
        .await
        .unwrap();
        expect_json(listing, StatusCode::OK).await;
    }
    let keys = request(&server, Method::GET, "/v1/keys", Some(reader))
        .send()
        .await
        .unwrap();
    expect_problem(keys, StatusCode::FORBIDDEN, "insufficient_role").await;

    // The admin lists keys: records only, never a secret.
    let listing = request(&server, Method::GET, "/v1/keys", Some(admin))
        .send()
        .await
        .unwrap();
    let text = listing.text().await.unwrap();
    for secret in [admin, writer, reader] {
        assert!(
            !text.contains(&secret[5..]),
            "a secret in the listing: {text}"
        );
    }
    let listing: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<&str> = listing["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["root", "ingester", "frontend"]);
    assert!(listing["keys"][0].get("digest").is_none(), "{listing}");

    // A revoked key fails at once; revoking is idempotent; unknown ids are 404.
    let revoke = || {
        request(
            &server,
            Method::DELETE,
            &format!("/v1/keys/{writer_id}"),
            Some(admin),
        )
    };
    let revoked = expect_json(revoke().send().await.unwrap(), StatusCode::OK).await;
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let again = expect_json(revoke().send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(again["revoked_at"], revoked["revoked_at"]);
    expect_unauthorized(upsert(writer).send().await.unwrap(), "revoked_api_key").await;
    let unknown = request(&server, Method::DELETE, "/v1/keys/nope", Some(admin))
        .send()
        .await
        .unwrap();
    expect_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;

    // Use is recorded (in the background, at most once a minute).
    let mut last_used = Value::Null;
    for _ in 0..50 {
        let listing = request(&server, Method::GET, "/v1/keys", Some(admin))
            .send()
            .await
            .unwrap();
        let listing = expect_json(listing, StatusCode::OK).await;
        last_used = listing["keys"][2]["last_used_at"].clone();
        if last_used.is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(last_used.is_string(), "reader's last_used_at: {last_used}");
    server.stop().await;
}

#[tokio::test]
async fn required_auth_refuses_requests_before_any_key_exists() {
    let mut config = test_config();
    config.auth.required = true;
    let server = TestServer::start_with(config).await;
    expect_unauthorized(server.get("/v1/collections").await, "missing_api_key").await;
    expect_unauthorized(
        server
            .post("/v1/keys", &json!({"name": "x", "role": "admin"}))
            .await,
        "missing_api_key",
    )
    .await;
    assert_eq!(server.get("/health/live").await.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn a_network_address_without_keys_is_refused_at_start() {
    let mut config = test_config();
    config.server.bind = "0.0.0.0:0".into();
    let err = BoundServer::bind(std::sync::Arc::new(config))
        .await
        .err()
        .expect("refused");
    assert_eq!(err.code(), "unauthenticated_public_bind");
    assert!(
        err.to_string()
            .contains("auth.allow_unauthenticated_public"),
        "{err}"
    );
}

fn binary(db: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_constitutional-rag"));
    command
        .env("CRAG_LOG_LEVEL", "warn")
        .env("CRAG_CACHE_EMBEDDING_PATH", "")
        .env("CRAG_STORAGE_INDEX_SNAPSHOT", "")
        .env("CRAG_STORAGE_URL", db);
    command
}

/// Runs `command` to success; retries while a stopped server's database lock is released.
async fn run(command: &mut Command) -> String {
    for _ in 0..50 {
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        if output.status.success() {
            return stdout;
        }
        assert!(
            stderr.contains("in use by another process"),
            "{}: {stdout} {stderr}",
            output.status
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("the database stayed locked");
}

#[tokio::test]
async fn cli_keys_are_accepted_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let url = format!("surrealkv://{}", db.display());
    let key = run(binary(&url).args(["keys", "create", "--name", "ci", "--role", "writer"])).await;
    let key = key.trim();
    assert!(key.starts_with("crag_") && key.len() == 69, "{key}");
    let listing = run(binary(&url).args(["keys", "list"])).await;
    assert!(
        listing.contains(" ci") && listing.contains("writer"),
        "{listing}"
    );
    assert!(
        !listing.contains(&key[5..]),
        "a secret in the listing: {listing}"
    );
    let id = listing
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    let server = TestServer::start_on_disk(&db).await;
    let response = request(&server, Method::GET, "/v1/collections", Some(key))
        .send()
        .await
        .unwrap();
    expect_json(response, StatusCode::OK).await;
    expect_unauthorized(server.get("/v1/collections").await, "missing_api_key").await;
    server.stop().await;

    let revoked = run(binary(&url).args(["keys", "revoke", &id])).await;
    assert!(revoked.contains(&id), "{revoked}");
    let listing = run(binary(&url).args(["keys", "list"])).await;
    assert!(listing.contains("revoked"), "{listing}");
    let failed = binary(&url)
        .args(["keys", "create", "--name", "x", "--role", "root"])
        .output()
        .unwrap();
    assert!(!failed.status.success());
}

#[tokio::test]
async fn the_spec_tells_sdks_how_to_send_keys() {
    let server = TestServer::start().await;
    let spec = expect_json(server.get("/openapi.json").await, StatusCode::OK).await;
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["bearerKey"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["headerKey"]["name"], "X-API-Key", "{schemes}");
    let problem = &spec["components"]["schemas"]["Problem"];
    assert!(problem.is_object(), "401/403 refer to the Problem schema");
    let search = &spec["paths"]["/v1/search"]["post"];
    assert_eq!(search["security"].as_array().unwrap().len(), 2);
    assert!(search["responses"]["401"].is_object() && search["responses"]["403"].is_object());
    let create_key = &spec["paths"]["/v1/keys"]["post"];
    assert!(
        create_key["description"]
            .as_str()
            .unwrap()
            .contains("`admin`")
    );
    assert_eq!(spec["paths"]["/health/ready"]["get"]["security"], json!([]));
    let docs = server.get("/docs").await.text().await.unwrap();
    assert!(
        docs.contains("headerKey"),
        "Swagger UI lacks the security schemes"
    );
    server.stop().await;
}
