//! The answer cache over HTTP: repeated questions are served from it (also when spelled with
//! other case and spacing, and over a stream), other modes miss, writes to a searched
//! collection invalidate while writes elsewhere do not, and `answer_entries = 0` turns it off.

mod common;

use common::sse;
use common::{TestServer, expect_json, statutes};
use reqwest::StatusCode;
use serde_json::{Value, json};

const QUESTION: &str = "Vad säger RF 2 kap. 1 § om yttrandefrihet?";

/// Excerpt in the style of Tryckfrihetsförordningen, stored in `sfs` under an external id.
const TRYCKFRIHET: &str = "\
1 kap. Om tryckfrihet

1 § Med tryckfrihet förstås varje svensk medborgares rätt att ge ut skrifter utan att någon myndighet i förväg lägger hinder i vägen.
";

/// The same section with a sentence added.
const TRYCKFRIHET_AMENDED: &str = "\
1 kap. Om tryckfrihet

1 § Med tryckfrihet förstås varje svensk medborgares rätt att ge ut skrifter utan att någon myndighet i förväg lägger hinder i vägen. Tryckfriheten omfattar även skrifter som sprids i elektronisk form.
";

const TRYCKFRIHET_QUESTION: &str = "Vad säger tryckfrihetsförordningen 1 kap. 1 § om tryckfrihet?";

async fn server_with(entries: usize) -> TestServer {
    let mut config = common::test_config();
    config.cache.answer_entries = entries;
    let server = TestServer::start_with(config).await;
    statutes::load(&server).await;
    server
}

async fn answer(server: &TestServer, body: Value) -> Value {
    expect_json(server.post("/v1/answer", &body).await, StatusCode::OK).await
}

async fn ask(server: &TestServer, question: &str) -> Value {
    answer(server, json!({"question": question})).await
}

/// The value of an unlabelled metric in `/metrics`.
async fn metric(server: &TestServer, name: &str) -> u64 {
    let text = server.get("/metrics").await.text().await.unwrap();
    let prefix = format!("{name} ");
    text.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
        .trim()
        .parse::<f64>()
        .unwrap() as u64
}

fn stages(answer: &Value) -> Vec<&str> {
    answer["timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["stage"].as_str().unwrap())
        .collect()
}

/// The fields a cached answer repeats unchanged.
fn content(answer: &Value) -> Value {
    json!([
        answer["answer"],
        answer["mode"],
        answer["saknas_underlag"],
        answer["evidence_level"],
        answer["intent"],
        answer["routing"],
        answer["sources"],
        answer["citations"],
    ])
}

fn snippets_contain(answer: &Value, text: &str) -> bool {
    answer["sources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["snippet"].as_str().unwrap().contains(text))
}

#[tokio::test]
async fn a_repeated_question_is_served_from_the_cache() {
    let server = server_with(1024).await;
    assert_eq!(metric(&server, "crag_answer_cache_hits_total").await, 0);

    let first = ask(&server, QUESTION).await;
    assert_eq!(first["cached"], false, "{first}");
    assert_eq!(first["mode"], "evidence", "{first}");
    assert_eq!(first["saknas_underlag"], false, "{first}");
    assert!(stages(&first).contains(&"retrieve"), "{first}");
    let misses = metric(&server, "crag_answer_cache_misses_total").await;
    assert_eq!(misses, 1);

    let second = ask(&server, QUESTION).await;
    assert_eq!(second["cached"], true, "{second}");
    assert_eq!(content(&second), content(&first));
    assert_eq!(stages(&second), ["cache", "total"]);
    assert_eq!(second["usage"]["total_tokens"], 0);
    assert_eq!(metric(&server, "crag_answer_cache_hits_total").await, 1);
    assert_eq!(
        metric(&server, "crag_answer_cache_misses_total").await,
        misses
    );

    let respelled = ask(&server, "  vad SÄGER rf 2 kap.  1 §   om yttrandefrihet? ").await;
    assert_eq!(respelled["cached"], true, "{respelled}");
    assert_eq!(content(&respelled), content(&first));

    // `evidence` asked for by name is another request than `auto`, though it resolves the same.
    let explicit = answer(&server, json!({"question": QUESTION, "mode": "evidence"})).await;
    assert_eq!(explicit["cached"], false, "{explicit}");
    let again = answer(&server, json!({"question": QUESTION, "mode": "evidence"})).await;
    assert_eq!(again["cached"], true, "{again}");
    let other_settings = answer(&server, json!({"question": QUESTION, "rerank": true})).await;
    assert_eq!(other_settings["cached"], false, "{other_settings}");

    // A stream of a hit: metadata, the whole answer as one token, the citations, done.
    let response = server
        .post("/v1/answer/stream", &json!({"question": QUESTION}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let events = sse::parse(&response.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    let citations = first["citations"].as_array().unwrap().len();
    let mut expected = vec!["timing", "metadata", "token"];
    expected.extend(std::iter::repeat_n("citation", citations));
    expected.push("done");
    assert_eq!(names, expected);
    assert_eq!(events[1].data["sources"], first["sources"]);
    assert_eq!(events[2].data["text"], first["answer"]);
    let done = &events.last().unwrap().data;
    assert_eq!(done["cached"], true, "{done}");
    assert_eq!(content(done), content(&first));

    // Refusals are answers too, and cached like them.
    let refused = ask(&server, "Vem vann valet 2030?").await;
    assert_eq!(refused["saknas_underlag"], true, "{refused}");
    assert_eq!(refused["cached"], false, "{refused}");
    let refused_again = ask(&server, "Vem vann valet 2030?").await;
    assert_eq!(refused_again["cached"], true, "{refused_again}");
    assert_eq!(content(&refused_again), content(&refused));
    server.stop().await;
}

#[tokio::test]
async fn writes_to_searched_collections_invalidate_and_other_writes_do_not() {
    let server = server_with(1024).await;
    let tf = json!({"text": TRYCKFRIHET, "title": "Tryckfrihetsförordningen (1949:105)", "external_id": "sfs-1949-105"});
    let (status, body) = server.upsert("sfs", &tf).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let first = ask(&server, TRYCKFRIHET_QUESTION).await;
    assert_eq!(first["cached"], false, "{first}");
    assert_eq!(first["saknas_underlag"], false, "{first}");
    let searched = first["routing"]["primary"].as_array().unwrap().clone();
    assert!(searched.contains(&json!("sfs")), "{first}");
    assert!(!searched.contains(&json!("guides")), "{first}");
    assert!(
        snippets_contain(&first, "i förväg lägger hinder"),
        "{first}"
    );

    // Re-posting identical content changes nothing, so the answer stays cached.
    let (status, body) = server.upsert("sfs", &tf).await;
    assert_eq!(body["outcome"], "unchanged", "{status} {body}");
    // A write to a collection the answer did not search leaves it cached.
    let (status, body) = server
        .upsert(
            "guides",
            &json!({"text": "How to request a public document\n\nAsk the authority that holds it.", "title": "Public documents"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let unrelated = ask(&server, TRYCKFRIHET_QUESTION).await;
    assert_eq!(unrelated["cached"], true, "{unrelated}");

    // A new version of a document in a searched collection: the next ask runs again.
    let (status, body) = server
        .upsert(
            "sfs",
            &json!({"text": TRYCKFRIHET_AMENDED, "title": "Tryckfrihetsförordningen (1949:105)", "external_id": "sfs-1949-105"}),
        )
        .await;
    assert_eq!(body["outcome"], "updated", "{status} {body}");
    let updated = ask(&server, TRYCKFRIHET_QUESTION).await;
    assert_eq!(updated["cached"], false, "{updated}");
    assert!(snippets_contain(&updated, "elektronisk form"), "{updated}");
    let again = ask(&server, TRYCKFRIHET_QUESTION).await;
    assert_eq!(again["cached"], true, "{again}");
    assert_eq!(content(&again), content(&updated));

    // A collection the routing table names (`prop`, support of legal text) appears.
    server.create_collection("prop", "swedish").await;
    let rerouted = ask(&server, TRYCKFRIHET_QUESTION).await;
    assert_eq!(rerouted["cached"], false, "{rerouted}");
    assert!(
        rerouted["routing"]["support"]
            .as_array()
            .unwrap()
            .contains(&json!("prop")),
        "{rerouted}"
    );

    // Deleting the document: the answer no longer quotes it.
    let id = body["document"]["id"].as_str().unwrap();
    let response = server
        .delete(&format!("/v1/collections/sfs/documents/{id}"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let deleted = ask(&server, TRYCKFRIHET_QUESTION).await;
    assert_eq!(deleted["cached"], false, "{deleted}");
    assert!(!snippets_contain(&deleted, "elektronisk form"), "{deleted}");
    server.stop().await;
}

#[tokio::test]
async fn with_no_answer_entries_nothing_is_cached() {
    let server = server_with(0).await;
    for _ in 0..2 {
        let answer = ask(&server, QUESTION).await;
        assert_eq!(answer["cached"], false, "{answer}");
        assert!(stages(&answer).contains(&"retrieve"), "{answer}");
    }
    assert_eq!(metric(&server, "crag_answer_cache_hits_total").await, 0);
    assert_eq!(metric(&server, "crag_answer_cache_misses_total").await, 0);
    server.stop().await;
}
