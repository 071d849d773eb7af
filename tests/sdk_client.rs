//! The served OpenAPI document as third-party tools read it: `openapi-spec-validator` accepts
//! it without a word, and `openapi-python-client` generates from it, without a warning, a
//! Python client whose classes drive the API end to end (a key, a collection, a statute,
//! search and a grounded answer). Both tools come from `just test-peers`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{TestServer, statutes};
use serde_json::{Value, json};
use tokio::process::Command;

/// The venv's executables: its python, the generator and the formatter the generator runs.
const VENV_BIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/venv/bin");

/// Name of the generated package (and of its directory).
const PACKAGE: &str = "crag_client";

fn venv(program: &str) -> PathBuf {
    Path::new(VENV_BIN).join(program)
}

/// Writes the server's `/openapi.json`, as served, to `dir/spec.json`.
async fn write_spec(server: &TestServer, dir: &Path) -> PathBuf {
    let response = server.get("/openapi.json").await;
    assert!(response.status().is_success(), "{}", response.status());
    let path = dir.join("spec.json");
    std::fs::write(&path, response.bytes().await.expect("spec body")).expect("write spec");
    path
}

/// Runs `command`, asserting it succeeds; names `what` ran when it does not.
async fn succeed(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .await
        .unwrap_or_else(|e| panic!("{what} did not start ({e}): run `just test-peers`"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test]
async fn the_spec_validator_accepts_the_served_spec_without_warnings() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(&server, dir.path()).await;
    server.stop().await;

    // `-W always` prints every Python warning the validator raises, deprecations included.
    let output = succeed(
        Command::new(venv("python3"))
            .args(["-W", "always", "-m", "openapi_spec_validator"])
            .args(["--validation-errors", "all"])
            .arg(&spec),
        "openapi-spec-validator",
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stdout.trim(), format!("{}: OK", spec.display()), "{stderr}");
    assert!(stderr.trim().is_empty(), "the validator warned:\n{stderr}");
}

/// Generates the client package into `dir/crag_client`, failing on any warning (a schema,
/// operation or response the generator skips, or a post-generation step it cannot run).
async fn generate_client(spec: &Path, dir: &Path) {
    // The bulk route takes NDJSON, which the generator has no body type for; as raw bytes
    // (`application/octet-stream`) it generates that operation too, so nothing is skipped.
    let config = dir.join("generator.json");
    let overrides = json!({"content_type_overrides": {
        "application/jsonl": "application/octet-stream",
        "application/x-ndjson": "application/octet-stream"
    }});
    std::fs::write(&config, overrides.to_string()).unwrap();
    // The generator formats its output with `ruff` from the same venv, found on `PATH`.
    let path = std::env::join_paths(std::iter::once(PathBuf::from(VENV_BIN)).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let output = succeed(
        Command::new(venv("openapi-python-client"))
            .arg("generate")
            .arg("--path")
            .arg(spec)
            .arg("--output-path")
            .arg(dir.join(PACKAGE))
            .args(["--meta", "none", "--fail-on-warning", "--config"])
            .arg(&config)
            .env("PATH", path),
        "openapi-python-client",
    )
    .await;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !said.to_ascii_lowercase().contains("warning"),
        "the generator warned:\n{said}"
    );
}

/// Uses only the generated package: creates an admin key while the server has none (so it is
/// still open), then with that key a Swedish collection, a statute, a BM25 search and an
/// answer, and last is refused with a wrong key. Every response is parsed into the generated
/// model of its operation's documented response. Two checks that the spec tells the whole
/// truth: each raw body is validated against the schema documented for its status and content
/// type (`violations`), and fields the spec does not document, which the generated models
/// collect in `additional_properties`, are listed under `undocumented`.
const CLIENT_SCRIPT: &str = r#"
import json, sys

import attrs
import httpx
from openapi_schema_validator import OAS30ReadValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from crag_client import AuthenticatedClient
from crag_client.api.answer import post_v1_answer
from crag_client.api.collections import post_v1_collections
from crag_client.api.documents import post_v1_collections_collection_documents
from crag_client.api.keys import post_v1_keys
from crag_client.api.search import post_v1_search
from crag_client.models import (
    Answer, AnswerBody, Collection, CreateCollection, CreatedKey, CreateKey, DocumentBody,
    DocumentWrite, Language, Problem, Role, SearchBody, SearchMode, SearchResults,
)

base_url, spec_path, text, question = sys.argv[1:5]
with open(spec_path) as file:
    spec = json.load(file)
registry = Registry().with_resource(
    "urn:spec", Resource.from_contents(spec, default_specification=DRAFT4))
violations, undocumented = [], []


def client(token):
    return AuthenticatedClient(base_url=base_url, token=token,
                               timeout=httpx.Timeout(300.0), raise_on_unexpected_status=True)


def pointer(*parts):
    return "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in ("",) + parts)


def expect(response, model, method, path):
    """The parsed body, which must be `model`, after validating the raw body."""
    assert isinstance(response.parsed, model), f"{response.status_code}: {response.content!r}"
    where = pointer("paths", path, method, "responses", int(response.status_code), "content",
                    response.headers["content-type"], "schema")
    validator = OAS30ReadValidator({"$ref": "urn:spec#" + where}, registry=registry)
    for error in validator.iter_errors(json.loads(response.content)):
        at = "/".join(map(str, error.absolute_path))
        violations.append(f"{method.upper()} {path} {int(response.status_code)} /{at}: {error.message}")
    return response.parsed


def check_documented(value, where):
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_documented(item, f"{where}[{i}]")
    elif attrs.has(type(value)):
        undocumented.extend(f"{where}.{key}" for key in value.additional_properties)
        for field in attrs.fields(type(value)):
            if field.name != "additional_properties":
                check_documented(getattr(value, field.name), f"{where}.{field.name}")


admin = expect(post_v1_keys.sync_detailed(
    client=client("crag_no_key_exists_yet"), body=CreateKey(name="sdk test", role=Role.ADMIN)),
    CreatedKey, "post", "/v1/keys")
api = client(admin.key)
collection = expect(post_v1_collections.sync_detailed(
    client=api, body=CreateCollection(name="sfs", language=Language.SWEDISH)),
    Collection, "post", "/v1/collections")
written = expect(post_v1_collections_collection_documents.sync_detailed(
    "sfs", client=api,
    body=DocumentBody(text=text, title="Regeringsformen (1974:152)", external_id="rf")),
    DocumentWrite, "post", "/v1/collections/{collection}/documents")
found = expect(post_v1_search.sync_detailed(client=api, body=SearchBody(
    query="yttrandefrihet", collections=["sfs"], mode=SearchMode.BM25, limit=5)),
    SearchResults, "post", "/v1/search")
answer = expect(post_v1_answer.sync_detailed(
    client=api, body=AnswerBody(question=question, collections=["sfs"])),
    Answer, "post", "/v1/answer")
# Now that a key exists, a wrong one is refused with the documented problem.
refused = expect(post_v1_search.sync_detailed(
    client=client("crag_wrong"), body=SearchBody(query="yttrandefrihet")),
    Problem, "post", "/v1/search")

for name, value in [("key", admin), ("collection", collection), ("document", written),
                    ("search", found), ("answer", answer), ("refused", refused)]:
    check_documented(value, name)
print(json.dumps({
    "key_role": str(admin.role),
    "collection": {"name": collection.name, "language": str(collection.language)},
    "document": {"outcome": str(written.outcome), "chunks": written.document.chunk_count},
    "hits": [{"path": hit.path, "text": hit.text} for hit in found.hits],
    "answer": {
        "text": answer.answer,
        "mode": str(answer.mode),
        "saknas_underlag": answer.saknas_underlag,
        "sources": [source.path for source in answer.sources],
    },
    "refused": {"status": refused.status, "code": refused.code},
    "violations": violations,
    "undocumented": undocumented,
}))
"#;

#[tokio::test]
async fn a_generated_python_client_answers_from_an_ingested_statute() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(&server, dir.path()).await;
    generate_client(&spec, dir.path()).await;

    let output = succeed(
        Command::new(venv("python3"))
            .args(["-c", CLIENT_SCRIPT, &server.base])
            .arg(&spec)
            .arg(statutes::REGERINGSFORMEN)
            .arg("Vad säger RF 2 kap. 1 § om yttrandefrihet?")
            .env("PYTHONPATH", dir.path()),
        "the generated client",
    )
    .await;
    server.stop().await;
    let result: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");

    assert_eq!(result["key_role"], "admin", "{result}");
    assert_eq!(
        result["collection"],
        json!({"name": "sfs", "language": "swedish"})
    );
    assert_eq!(result["document"]["outcome"], "created", "{result}");
    assert!(
        result["document"]["chunks"].as_u64().unwrap() > 1,
        "{result}"
    );
    let hits = result["hits"].as_array().unwrap();
    assert!(!hits.is_empty(), "{result}");
    assert_eq!(hits[0]["path"], "2 kap. 1 §", "{result}");
    let answer = &result["answer"];
    assert_eq!(answer["saknas_underlag"], false, "{result}");
    let sources = answer["sources"].as_array().unwrap();
    assert!(!sources.is_empty(), "{result}");
    assert_eq!(sources[0], "2 kap. 1 §", "{result}");
    assert!(
        answer["text"].as_str().unwrap().contains("yttrandefrihet"),
        "{result}"
    );
    assert_eq!(
        result["refused"],
        json!({"status": 401, "code": "invalid_api_key"})
    );
    assert_eq!(result["violations"], json!([]), "{result}");
    assert_eq!(result["undocumented"], json!([]), "{result}");
}
