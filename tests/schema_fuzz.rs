//! Schema-driven fuzzing: schemathesis (installed by `just fuzz-peers`) generates requests for
//! every operation of the live server's `/openapi.json`, with an admin key, through its
//! examples, coverage, fuzzing and stateful phases, and checks that no response is a server
//! error and that every status code, content type and body is the one the document declares.
//!
//! Bounded for `just test`; `CRAG_FUZZ_EXAMPLES` (examples per operation) and `CRAG_FUZZ_SEED`
//! make the longer run of `just fuzz-api`.

mod common;

use constitutional_rag::config::Backend;

use std::path::Path;
use std::process::Command;

use common::{TestServer, expect_json, statutes, test_config};
use reqwest::StatusCode;
use serde_json::json;

/// The checks run on every response (names of schemathesis 4.32).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance";

/// Examples per operation in the bounded run.
const DEFAULT_EXAMPLES: &str = "8";

/// The fuzzed server: real models and the local decoder, with generation kept short (few
/// tokens, a small context window, short answer deadlines) so that the operations that
/// generate text answer in seconds on a CPU.
fn fuzz_config() -> constitutional_rag::config::Config {
    let mut config = test_config();
    config.generation.backend = Backend::Local;
    config.generation.context_tokens = 384;
    for mode in [
        &mut config.sampling.evidence,
        &mut config.sampling.assist,
        &mut config.sampling.chat,
    ] {
        mode.max_tokens = 12;
    }
    config.answer.deadline_ms = 8_000;
    config.answer.max_deadline_ms = 15_000;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_failure_in_any_operation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schemathesis = root.join(".cache/venv/bin/schemathesis");
    assert!(
        schemathesis.exists(),
        "{} is missing: run `just fuzz-peers`",
        schemathesis.display()
    );
    let server = TestServer::start_with(fuzz_config()).await;
    let created = server
        .post("/v1/keys", &json!({"name": "fuzzer", "role": "admin"}))
        .await;
    let key = expect_json(created, StatusCode::CREATED).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    // Authentication is on from here: the corpus is written with the key.
    let seeded = server
        .client
        .post(server.url("/v1/collections"))
        .bearer_auth(&key)
        .json(&json!({"name": "sfs", "language": "swedish"}))
        .send()
        .await
        .unwrap();
    expect_json(seeded, StatusCode::CREATED).await;
    let document = server
        .client
        .post(server.url("/v1/collections/sfs/documents"))
        .bearer_auth(&key)
        .json(&json!({"external_id": "rf", "title": "Regeringsformen", "text": statutes::REGERINGSFORMEN}))
        .send()
        .await
        .unwrap();
    expect_json(document, StatusCode::CREATED).await;

    let reports = tempfile::tempdir().unwrap();
    let junit = reports.path().join("junit.xml");
    let examples =
        std::env::var("CRAG_FUZZ_EXAMPLES").unwrap_or_else(|_| DEFAULT_EXAMPLES.to_string());
    let seed = std::env::var("CRAG_FUZZ_SEED").unwrap_or_else(|_| "20251125".to_string());
    let mut command = Command::new(&schemathesis);
    command
        .arg("run")
        .arg(server.url("/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {key}")])
        .args(["--checks", CHECKS])
        .args(["--max-examples", &examples, "--seed", &seed])
        .args(["--workers", "2", "--generation-database", "none"])
        .args(["--request-timeout", "60", "--no-color"])
        .args(["--report", "junit", "--report-junit-path"])
        .arg(&junit)
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", root.join("tests/fuzz"))
        .current_dir(reports.path());
    let output = tokio::task::spawn_blocking(move || command.output().expect("schemathesis runs"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");

    let report = std::fs::read_to_string(&junit)
        .unwrap_or_else(|e| panic!("no report ({e}): {stdout}\n{stderr}"));
    let (tests, failures, errors) = (
        count(&report, "tests"),
        count(&report, "failures"),
        count(&report, "errors"),
    );
    println!("schemathesis: {tests} operations, {failures} failures, {errors} errors");
    assert!(tests >= 30, "only {tests} operations were tested: {stdout}");
    assert_eq!((failures, errors), (0, 0), "{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "{}: {stdout}\n{stderr}",
        output.status
    );
    server.stop().await;
}

/// The value of attribute `name` of the report's first element carrying it (`<testsuite
/// tests="36" failures="0" …>`).
fn count(report: &str, name: &str) -> u64 {
    let marker = format!(" {name}=\"");
    let start = report
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in the report: {report}"))
        + marker.len();
    report[start..]
        .split('"')
        .next()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not a number in the report"))
}
