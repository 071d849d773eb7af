//! Grounded assist over real licence text (the Apache License 2.0 and the Mozilla Public
//! License 2.0 as pinned packages ship them, read where `just setup` installs them): the
//! support check of generated sentences, an assist answer whose unsupported sentences are
//! dropped, the fallback to quotes, and `auto` routing under the default configuration.

mod common;

use std::sync::{Arc, Mutex};

use common::peers::{Scripted, Then, generation_config, streamed};
use common::sse;
use common::{TestServer, expect_json, test_config};
use constitutional_rag::config::{Backend, Config};
use constitutional_rag::pipeline::support::{self, Evidence, Thresholds, Verdict};
use constitutional_rag::retrieval::analyzer::AnalyzerLanguage;
use constitutional_rag::service::Library;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The Apache License 2.0 of `sentence-transformers==6.2.0`.
const APACHE: &str = "sentence_transformers-6.2.0.dist-info/licenses/LICENSE";
/// The Mozilla Public License 2.0 of `pathspec==1.1.1`.
const MPL: &str = "pathspec-1.1.1.dist-info/licenses/LICENSE";

/// A question about Apache section 3 that the mode classifier sends to assist.
const PATENT_QUESTION: &str =
    "What happens to my patent licence if I sue someone claiming the Work infringes a patent?";

/// The text of licence file `path` of the legal corpus.
fn licence(path: &str) -> String {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/legal-corpus/").to_string() + path;
    std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{file}: {e} (run `just setup` to install the legal corpus)"))
}

/// The part of `text` from the line containing `from` up to the line containing `to`.
fn excerpt<'a>(text: &'a str, from: &str, to: &str) -> &'a str {
    let start = text
        .find(from)
        .unwrap_or_else(|| panic!("{from:?} not found"));
    let start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let end = start
        + text[start..]
            .find(to)
            .unwrap_or_else(|| panic!("{to:?} not found"));
    let end = text[..end].rfind('\n').map_or(end, |i| i + 1);
    &text[start..end]
}

/// Default thresholds of `[answer.support]` for `library`'s default encoder.
fn thresholds(library: &Library) -> Thresholds {
    Thresholds::new(
        &Config::default().answer.support,
        &library.embedder().info().cosine_scale,
    )
}

/// The verdict on each sentence of `answer` over `evidence`.
async fn verdicts(library: &Library, answer: &str, evidence: &[Evidence<'_>]) -> Vec<Verdict> {
    let checked = support::check(
        library.embedder(),
        answer,
        evidence,
        AnalyzerLanguage::English,
        thresholds(library),
    )
    .await
    .expect("support check");
    checked.sentences.into_iter().map(|s| s.verdict).collect()
}

fn assert_supported(verdicts: &[Verdict], what: &str) {
    assert!(
        verdicts
            .iter()
            .all(|v| matches!(v, Verdict::Supported { .. })),
        "{what}: {verdicts:?}"
    );
}

fn assert_unsupported(verdicts: &[Verdict], why: &str, what: &str) {
    assert!(
        verdicts
            .iter()
            .all(|v| matches!(v, Verdict::Unsupported(reason) if reason.contains(why))),
        "{what}, expected {why:?}: {verdicts:?}"
    );
}

#[tokio::test]
async fn sentences_are_checked_for_meaning_terms_negation_and_numbers() {
    let library = Library::open(Arc::new(test_config()))
        .await
        .expect("library");
    let apache = licence(APACHE);
    let patent = excerpt(&apache, "3. Grant of Patent License.", "4. Redistribution.");
    let mpl = licence(MPL);
    let termination = excerpt(
        &mpl,
        "5.1. The rights granted under",
        "5.2. If You initiate",
    );
    let evidence = [
        Evidence {
            source: 1,
            text: patent,
            label: "Apache License 2.0 3. Grant of Patent License",
        },
        Evidence {
            source: 2,
            text: termination,
            label: "Mozilla Public License 2.0 5. Termination 5.1.",
        },
    ];

    let paraphrases = [
        "If you start patent litigation alleging that the Work infringes a patent, the patent \
         licenses granted to you for that Work terminate on the date the litigation is filed [1].",
        "A Contributor's rights are reinstated provisionally unless the Contributor explicitly \
         and finally terminates your grants [2].",
    ];
    for sentence in paraphrases {
        assert_supported(
            &verdicts(&library, sentence, &evidence).await,
            "a paraphrase",
        );
    }

    // What SmolLM2-135M wrote about the Apache License, and a confident invention.
    let inventions = [
        "This is a standard practice in the Apache-2.0 community [1].",
        "Each Contributor must register the Work with a national patent office every year [1].",
    ];
    for sentence in inventions {
        assert!(
            verdicts(&library, sentence, &evidence)
                .await
                .iter()
                .all(|v| matches!(v, Verdict::Unsupported(_))),
            "an invention: {sentence}"
        );
    }

    let flipped = "If you start patent litigation alleging that the Work infringes a patent, the \
         patent licenses granted to you for that Work do not terminate [1].";
    assert_unsupported(
        &verdicts(&library, flipped, &evidence).await,
        "negated unlike",
        "a negation flip",
    );

    let renumbered = "If you become compliant within 60 days of receiving a Contributor's first \
         notice of non-compliance, your grants from that Contributor are reinstated [2].";
    let original = renumbered.replace("60 days", "30 days");
    assert_supported(
        &verdicts(&library, &original, &evidence).await,
        "the stated period",
    );
    assert_unsupported(
        &verdicts(&library, renumbered, &evidence).await,
        "states 60",
        "a changed number",
    );

    // Naming a source claims nothing.
    assert_eq!(
        verdicts(
            &library,
            "Mozilla Public License 2.0, section 5.1 [2].",
            &evidence
        )
        .await,
        [Verdict::Unjudged]
    );

    // A sentence is checked against the source it cites, not against any source.
    let miscited = paraphrases[0].replace("[1]", "[2]");
    assert!(
        matches!(
            verdicts(&library, &miscited, &evidence).await[..],
            [Verdict::Unsupported(_)]
        ),
        "a miscited sentence"
    );
    library.close().await;
}

/// Chat completions the upstream received.
fn completions(upstream: &Scripted) -> usize {
    upstream
        .received()
        .iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .count()
}

/// An OpenAI-compatible upstream that streams `answer` (as it is when the request arrives)
/// as its completion.
async fn scripted_generator(answer: Arc<Mutex<String>>) -> Scripted {
    Scripted::start(move || {
        let text = answer.lock().unwrap().clone();
        let chunks = text
            .split_inclusive(' ')
            .map(|piece| completion_chunk(json!({"content": piece}), Value::Null))
            .chain([
                completion_chunk(json!({}), json!("stop")),
                "data: [DONE]\n\n".to_string(),
            ])
            .collect();
        streamed("text/event-stream", chunks, Then::End)
    })
    .await
}

/// One server-sent chat-completion chunk.
fn completion_chunk(delta: Value, finish_reason: Value) -> String {
    let chunk = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1_714_557_600,
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    });
    format!("data: {chunk}\n\n")
}

/// A server over the Apache License with `config`.
async fn licence_server(config: Config) -> TestServer {
    let server = TestServer::start_with(config).await;
    server.create_collection("licences", "english").await;
    let document = json!({
        "external_id": "apache-2.0",
        "title": "Apache License 2.0",
        "text": licence(APACHE),
    });
    let (status, body) = server.upsert("licences", &document).await;
    assert!(status.is_success(), "{status}: {body}");
    server
}

async fn answer(server: &TestServer, body: Value) -> Value {
    expect_json(server.post("/v1/answer", &body).await, StatusCode::OK).await
}

/// The number of the source holding `text`.
fn source_with(answer: &Value, text: &str) -> u64 {
    answer["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["snippet"].as_str().unwrap().contains(text))
        .unwrap_or_else(|| panic!("no source holds {text:?}: {answer}"))["index"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn assist_answers_drop_unsupported_sentences_or_fall_back_to_quotes() {
    let scripted = Arc::new(Mutex::new(String::new()));
    let upstream = scripted_generator(scripted.clone()).await;
    let mut config = test_config();
    config.generation = generation_config(Backend::OpenAi, &format!("{}/v1", upstream.base));
    config.cache.answer_entries = 0;
    let server = licence_server(config).await;

    let quoted = answer(
        &server,
        json!({"question": PATENT_QUESTION, "mode": "evidence"}),
    )
    .await;
    let n = source_with(&quoted, "shall terminate");
    let grounded = format!(
        "If you file patent litigation alleging that the Work infringes a patent, your patent \
         licenses for that Work terminate as of the date the litigation is filed [{n}]."
    );
    let invented = format!("This is a standard practice in the Apache-2.0 community [{n}].");
    *scripted.lock().unwrap() = format!("{grounded} {invented}");

    let body = json!({"question": PATENT_QUESTION, "mode": "assist"});
    let response = server.post("/v1/answer/stream", &body).await;
    let events = sse::parse(&response.text().await.unwrap());
    let done = &events.last().expect("events").data;
    assert_eq!(done["mode"], "assist", "{done}");
    assert_eq!(done["answer"], grounded.as_str(), "{done}");
    assert_eq!(done["supported_share"], 0.5, "{done}");
    let unsupported = done["unsupported_sentences"].as_array().unwrap();
    assert_eq!(unsupported.len(), 1, "{done}");
    assert_eq!(unsupported[0]["text"], invented.as_str());
    assert!(!unsupported[0]["reason"].as_str().unwrap().is_empty());
    assert_ne!(done["evidence_level"], "high", "{done}");
    let corrected = events
        .iter()
        .find(|e| e.name == "corrections")
        .expect("a corrections event replaces the streamed text");
    assert_eq!(corrected.data["answer"], grounded.as_str());
    assert!(
        events.iter().any(|e| e.name == "thought_chain"
            && e.data["stage"] == "support"
            && e.data["message"]
                .as_str()
                .unwrap()
                .contains("Apache-2.0 community")),
        "no thought reports the dropped sentence"
    );

    // Nothing supported: the answer is the quotes, and says so.
    *scripted.lock().unwrap() = invented.clone();
    let fallback = answer(&server, body.clone()).await;
    assert_eq!(fallback["mode"], "evidence", "{fallback}");
    assert_eq!(fallback["supported_share"], 0.0, "{fallback}");
    assert_eq!(fallback["answer"], quoted["answer"], "{fallback}");
    assert_eq!(completions(&upstream), 2);
    server.stop().await;
}

#[tokio::test]
async fn auto_answers_with_quotes_unless_assist_is_allowed() {
    // The default configuration: the shipped SmolLM2-135M on the local decoder.
    let mut config = test_config();
    config.generation.backend = Backend::Local;
    let server = licence_server(config).await;
    let body = json!({"question": PATENT_QUESTION, "max_tokens": 16});
    let response = server.post("/v1/answer/stream", &body).await;
    let events = sse::parse(&response.text().await.unwrap());
    let done = &events.last().expect("events").data;
    assert_eq!(done["mode"], "evidence", "{done}");
    assert_eq!(done["saknas_underlag"], false, "{done}");
    assert!(!done["sources"].as_array().unwrap().is_empty(), "{done}");
    assert_eq!(
        done["usage"]["completion_tokens"], 0,
        "nothing generated: {done}"
    );
    assert!(
        events.iter().any(|e| e.name == "thought_chain"
            && e.data["message"].as_str().unwrap().contains("auto_assist")),
        "no thought says why"
    );
    server.stop().await;

    // A generator the operator allows gets the question.
    let scripted = Arc::new(Mutex::new(
        "Patent licenses terminate when litigation is filed [1].".to_string(),
    ));
    let upstream = scripted_generator(scripted).await;
    let mut config = test_config();
    config.generation = generation_config(Backend::OpenAi, &format!("{}/v1", upstream.base));
    config.answer.auto_assist = true;
    let server = licence_server(config).await;
    let allowed = answer(&server, json!({"question": PATENT_QUESTION})).await;
    assert_eq!(completions(&upstream), 1, "{allowed}");
    assert!(allowed["supported_share"].is_number(), "{allowed}");
    server.stop().await;
}
