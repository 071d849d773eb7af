//! Evidence answers over real hard-wrapped licence texts (the Apache License 2.0 and a
//! BSD-3-Clause licence as the setup's Python packages ship them): every quote is a whole
//! sentence or sub-clause, reconstructed across line wraps, and its offsets point at it in
//! the stored document text.

mod common;

use std::path::PathBuf;

use common::{TestServer, expect_json};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Licence files `just setup` installs, by the pinned package version that ships them.
const LICENCES: &[(&str, &str)] = &[
    (
        "Apache License 2.0",
        "sentence_transformers-6.2.0.dist-info/licenses/LICENSE",
    ),
    (
        "Jinja2 BSD-3-Clause License",
        "jinja2-3.1.6.dist-info/licenses/LICENSE.txt",
    ),
];

/// The text of a licence file in the project venv's `site-packages`; panics when the setup
/// did not install it.
fn licence_text(relative: &str) -> String {
    let lib = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/venv/lib"));
    let python = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e}; run `just setup`", lib.display()))
        .filter_map(Result::ok)
        .find(|entry| entry.file_name().to_string_lossy().starts_with("python3"))
        .unwrap_or_else(|| panic!("no python3.* in {}; run `just setup`", lib.display()));
    let path = python.path().join("site-packages").join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `just setup`", path.display()))
}

/// A server holding the licences in collection `licences`; returns it with each
/// document's id and stored text.
async fn licence_server() -> (TestServer, Vec<(String, String)>) {
    let server = TestServer::start().await;
    server.create_collection("licences", "english").await;
    let mut documents = Vec::new();
    for (title, relative) in LICENCES {
        let (status, body) = server
            .upsert(
                "licences",
                &json!({"title": title, "text": licence_text(relative)}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["document"]["id"]
            .as_str()
            .expect("document id")
            .to_string();
        let stored = expect_json(
            server
                .get(&format!(
                    "/v1/collections/licences/documents/{id}?include_content=true"
                ))
                .await,
            StatusCode::OK,
        )
        .await;
        let content = stored["content"].as_str().expect("content").to_string();
        documents.push((id, content));
    }
    (server, documents)
}

async fn evidence(server: &TestServer, question: &str) -> Value {
    let answer = expect_json(
        server
            .post(
                "/v1/answer",
                &json!({"question": question, "mode": "evidence", "collections": ["licences"]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(answer["saknas_underlag"], false, "{question}: {answer}");
    assert_eq!(answer["mode"], "evidence", "{answer}");
    answer
}

fn squeeze(text: &str) -> String {
    text.split_whitespace().collect()
}

/// Whether `text` ends a clause: `.`, `:`, `;`, `!`, `?` (before closing quotes or
/// brackets), or `; and` / `; or`.
fn ends_clause(text: &str) -> bool {
    let text = text.trim_end().trim_end_matches(['"', '\'', ')', ']']);
    text.ends_with(['.', ':', ';', '!', '?'])
        || ["; and", "; or", ", and", ", or"]
            .iter()
            .any(|end| text.ends_with(end))
}

/// Checks every quote of `answer` against the stored documents and returns the quotes.
fn checked_quotes<'a>(answer: &'a Value, documents: &[(String, String)]) -> &'a Vec<Value> {
    let text = answer["answer"].as_str().unwrap();
    let sources = answer["sources"].as_array().unwrap();
    let quotes = answer["quotes"].as_array().expect("quotes");
    assert!(!quotes.is_empty(), "{answer}");
    assert_eq!(
        text.lines().count(),
        quotes.len(),
        "one line a quote: {text}"
    );
    for quote in quotes {
        let quoted = quote["text"].as_str().unwrap();
        let n = quote["source"].as_u64().unwrap();
        let source = &sources[n as usize - 1];
        assert_eq!(source["index"], n);
        assert!(
            text.contains(&format!("\"{quoted}\" [{n}]")),
            "the answer quotes {quoted:?} and cites [{n}]: {text}"
        );
        assert!(
            !quoted.contains('\n') && !quoted.contains("  "),
            "{quoted:?}"
        );
        let document = &documents
            .iter()
            .find(|(id, _)| source["document_id"] == id.as_str())
            .expect("the source's document")
            .1;
        let chars: Vec<char> = document.chars().collect();
        let (start, end) = (
            quote["char_start"].as_u64().unwrap() as usize,
            quote["char_end"].as_u64().unwrap() as usize,
        );
        assert!(
            source["char_start"].as_u64().unwrap() as usize <= start
                && end <= source["char_end"].as_u64().unwrap() as usize,
            "the quote lies in its source's chunk: {quote} {source}"
        );
        let exact: String = chars[start..end].iter().collect();
        assert_eq!(
            squeeze(&exact),
            squeeze(quoted),
            "the document at the quote's offsets is the quote up to whitespace"
        );
        assert!(
            ends_clause(quoted),
            "a whole sentence ends a clause: {quoted:?}"
        );
        let numbered_heading = quoted.starts_with(|c: char| c.is_ascii_digit())
            && quoted.split_whitespace().count() <= 6
            && quoted.matches('.').count() <= 2;
        assert!(!numbered_heading, "a heading is not a quote: {quoted:?}");
        let before: String = chars[..start].iter().collect();
        let gap = &before[before.trim_end().len()..];
        assert!(
            before.trim().is_empty() || ends_clause(&before) || gap.matches('\n').count() >= 2,
            "a whole sentence starts after a clause or a blank line: {quoted:?} after {:?}",
            &before[before.len().saturating_sub(60)..]
        );
    }
    quotes
}

#[tokio::test]
async fn evidence_quotes_are_whole_sentences_at_their_document_offsets() {
    let (server, documents) = licence_server().await;
    for question in [
        "What must I give other recipients when I redistribute the Work?",
        "When do patent licenses granted under the License terminate?",
        "Can the names of the copyright holder be used to endorse derived products?",
        "Is the Work provided with any warranty?",
        "What conditions apply to redistributions in binary form?",
    ] {
        let answer = evidence(&server, question).await;
        checked_quotes(&answer, &documents);
    }
}

#[tokio::test]
async fn hard_wrapped_clauses_are_quoted_whole() {
    let (server, documents) = licence_server().await;
    let answer = evidence(
        &server,
        "What must You give any other recipients of the Work or Derivative Works?",
    )
    .await;
    let quotes = checked_quotes(&answer, &documents);
    assert!(
        quotes.iter().any(|q| q["text"]
            == "(a) You must give any other recipients of the Work or Derivative Works a copy \
                of this License; and"),
        "{answer}"
    );

    let answer = evidence(
        &server,
        "What happens to my patent licenses if I institute patent litigation?",
    )
    .await;
    let quotes = checked_quotes(&answer, &documents);
    assert!(
        quotes.iter().any(|q| {
            let text = q["text"].as_str().unwrap();
            text.starts_with("If You institute patent litigation against any entity")
                && text.ends_with("shall terminate as of the date such litigation is filed.")
        }),
        "{answer}"
    );
}

#[tokio::test]
async fn the_spec_documents_the_quotes_of_an_answer() {
    let server = TestServer::start().await;
    let spec = expect_json(server.get("/openapi.json").await, StatusCode::OK).await;
    let schemas = &spec["components"]["schemas"];
    let quotes = &schemas["Answer"]["properties"]["quotes"];
    assert_eq!(quotes["type"], "array", "{quotes}");
    let quote = &schemas["Quote"];
    for field in ["source", "path", "text", "char_start", "char_end"] {
        assert!(
            quote["properties"][field].is_object(),
            "{field} missing: {quote}"
        );
        assert!(
            quote["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|f| f == field)),
            "{field} not required: {quote}"
        );
    }
    assert!(
        quote["properties"]["char_start"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("characters")),
        "{quote}"
    );
}
