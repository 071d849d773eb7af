//! The `ingest`, `eval` and `openapi` subcommands of the real binary.

mod common;

use std::process::Command;

use common::{TestServer, expect_json};
use reqwest::StatusCode;
use serde_json::json;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_constitutional-rag"));
    command.env("CRAG_LOG_LEVEL", "warn");
    command.env("CRAG_CACHE_EMBEDDING_PATH", "");
    command.env("CRAG_STORAGE_INDEX_SNAPSHOT", "");
    command
}

#[tokio::test]
async fn ingest_files_then_serve_them() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    std::fs::create_dir_all(input.join("nested")).unwrap();
    std::fs::write(
        input.join("rf.txt"),
        "1 kap. Statsskickets grunder\n\n1 § All offentlig makt i Sverige utgår från folket.\n\n2 § Den offentliga makten ska utövas med respekt för alla människors lika värde.\n",
    )
    .unwrap();
    std::fs::write(
        input.join("nested/guide.md"),
        "# Guide\n\n## Scope\n\nThis guide covers appeals.\n",
    )
    .unwrap();
    std::fs::write(
        input.join("cases.jsonl"),
        "{\"id\": \"c1\", \"text\": \"Section 1. The court dismissed the appeal.\", \"title\": \"Case 1\", \"year\": 2020}\n\
         {\"id\": \"c2\", \"text\": \"Section 2. The appeal was granted.\", \"title\": \"Case 2\"}\n",
    )
    .unwrap();
    std::fs::write(input.join("ignored.bin"), [0u8, 1, 2]).unwrap();
    // A link back up the tree: the walk skips it, with a warning, instead of walking forever.
    std::os::unix::fs::symlink(&input, input.join("nested/up")).unwrap();
    let db = dir.path().join("db");
    let url = format!("surrealkv://{}", db.display());

    let output = binary()
        .env("CRAG_STORAGE_URL", &url)
        .args([
            "ingest",
            "--collection",
            "corpus",
            "--language",
            "swedish",
            "--quiet",
        ])
        .arg(&input)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ingest failed: {stdout} {stderr}");
    assert!(
        stdout.contains("ingested 3 files") && stdout.contains("4 created"),
        "{stdout}"
    );
    assert!(
        stderr.contains("skipping a symbolic link") && stderr.contains("nested/up"),
        "{stderr}"
    );

    // Running it again changes nothing.
    let again = binary()
        .env("CRAG_STORAGE_URL", &url)
        .args(["ingest", "--collection", "corpus", "--quiet"])
        .arg(&input)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success() && stdout.contains("4 unchanged"),
        "{stdout}"
    );

    let server = TestServer::start_on_disk(&db).await;
    let collection = expect_json(server.get("/v1/collections/corpus").await, StatusCode::OK).await;
    assert_eq!(collection["document_count"], 4);
    assert_eq!(collection["language"], "swedish");
    let hits = server
        .search(&json!({"query": "makten utgår från folket", "collections": ["corpus"]}))
        .await;
    assert_eq!(hits[0]["path"], "1 kap. 1 §");
    let listing = expect_json(
        server
            .get("/v1/collections/corpus/documents?filter=%7B%22year%22%3A2020%7D")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listing["documents"][0]["title"], "Case 1");

    // While the server holds the database, the CLI refuses with a clear message.
    let refused = binary()
        .env("CRAG_STORAGE_URL", &url)
        .args(["ingest", "--collection", "corpus", "--quiet"])
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("in use by another process"), "{stderr}");
    server.stop().await;
}

#[test]
fn eval_runs_the_swedish_development_set() {
    let dir = tempfile::tempdir().unwrap();
    let scores = dir.path().join("scores.json");
    let output = binary()
        .env("CRAG_STORAGE_URL", "mem://")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "eval",
            "--set",
            "tests/data/swedish_dev",
            "--searches",
            "none",
        ])
        .arg("--json")
        .arg(&scores)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "eval failed: {stdout} {stderr}");
    assert!(stdout.contains("over 8 documents"), "{stdout}");
    assert!(stdout.contains("sv cross_reference"), "{stdout}");
    assert!(stdout.contains("en positive"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&scores).unwrap()).unwrap();
    let outcomes = report["outcomes"].as_array().unwrap();
    assert_eq!(
        outcomes.len(),
        report["questions"].as_u64().unwrap() as usize
    );
    assert!(outcomes.iter().any(|o| o["language"] == "en"));
    assert!(report["searches"].as_array().unwrap().is_empty());
}

#[test]
fn invalid_config_fails_at_start_naming_the_key() {
    let output = binary()
        .env("CRAG_SEARCH_MAX_LIMIT", "many")
        .arg("openapi")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("max_limit"), "{stderr}");
}

#[test]
fn openapi_subcommand_prints_the_spec() {
    let output = binary().arg("openapi").output().unwrap();
    assert!(output.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(spec["paths"]["/v1/search"]["post"].is_object());
}
