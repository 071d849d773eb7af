//! Questions in one language over collections in another, over HTTP: BM25 analyses each
//! collection's passages and the question with that collection's language, so a Swedish
//! question over an English collection, or the reverse, still meets the names, numbers and
//! Swedish terms both share. The passages are written in-house in the style of Swedish law
//! and its English translations; they are not real statute text.

mod common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

const REGERINGSFORMEN: &str = "2 kap. Grundläggande fri- och rättigheter\n\n\
1 § Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet, det vill\n\
säga frihet att i tal, skrift eller bild meddela upplysningar och uttrycka\n\
tankar och åsikter, samt informationsfrihet.\n\n\
2 § Ingen får av det allmänna tvingas att ge till känna sin åskådning i\n\
politiskt, religiöst eller kulturellt hänseende.\n\n\
3 kap. Riksdagen\n\n\
1 § Riksdagen väljs genom fria, hemliga och direkta val. Ordinarie val till\n\
riksdagen hålls vart fjärde år.\n";

const SECRECY_ACT: &str = "Chapter 21. Secrecy to protect personal data\n\n\
Section 7. Secrecy applies to personal data if it can be assumed that disclosure\n\
would mean that the data is processed in breach of the General Data Protection\n\
Regulation (dataskyddsförordningen), Regulation (EU) 2016/679.\n\n\
Chapter 22. Secrecy for population registration\n\n\
Section 1. Secrecy applies in activities concerning population registration\n\
(folkbokföring) to information about an individual's personal circumstances,\n\
unless it is clear that the information can be disclosed without harm.\n";

async fn two_languages() -> TestServer {
    let server = TestServer::start().await;
    server.create_collection("sfs", "swedish").await;
    server.create_collection("translations", "english").await;
    for (collection, title, text) in [
        ("sfs", "Regeringsformen", REGERINGSFORMEN),
        (
            "translations",
            "Public Access to Information and Secrecy Act",
            SECRECY_ACT,
        ),
    ] {
        let (status, body) = server
            .upsert(collection, &json!({"title": title, "text": text}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    server
}

/// The BM25 hits of `query` over both collections.
async fn bm25(server: &TestServer, query: &str) -> Vec<Value> {
    server
        .search(&json!({
            "query": query,
            "collections": ["sfs", "translations"],
            "mode": "bm25",
        }))
        .await
}

/// The path of the best hit from `collection`, with its BM25 score.
fn best_in<'a>(hits: &'a [Value], collection: &str) -> Option<(&'a str, f64)> {
    let hit = hits.iter().find(|h| h["collection"] == collection)?;
    Some((hit["path"].as_str()?, hit["bm25"]["score"].as_f64()?))
}

#[tokio::test]
async fn an_english_question_scores_on_a_swedish_collection() {
    let server = two_languages().await;
    let hits = bm25(
        &server,
        "What does chapter 2 of Regeringsformen say about yttrandefrihet?",
    )
    .await;
    let (path, score) = best_in(&hits, "sfs").expect("a Swedish hit");
    assert_eq!(path, "2 kap. 1 §", "{hits:?}");
    assert!(score > 0.0);
    // Swedish analysis of the question: "Riksdagen" meets "riksdagen" (chapter 3).
    let hits = bm25(&server, "How often is the Riksdagen elected?").await;
    assert_eq!(best_in(&hits, "sfs").map(|h| h.0), Some("3 kap. 1 §"));
    server.stop().await;
}

#[tokio::test]
async fn a_swedish_question_scores_on_an_english_collection() {
    let server = two_languages().await;
    let hits = bm25(
        &server,
        "Gäller sekretess för uppgifter i folkbokföringen enligt 22 kap.?",
    )
    .await;
    let (path, score) = best_in(&hits, "translations").expect("an English hit");
    assert!(path.contains("Chapter 22"), "{hits:?}");
    assert!(score > 0.0);
    let hits = bm25(
        &server,
        "Vad säger dataskyddsförordningen (EU) 2016/679 om sekretess?",
    )
    .await;
    let (path, _) = best_in(&hits, "translations").expect("an English hit");
    assert!(path.contains("Chapter 21"), "{hits:?}");
    server.stop().await;
}
