//! Search over HTTP on a corpus written here: BM25 ranking sanity, stemming per language,
//! dense and hybrid retrieval, many collections, filters and limits.

mod common;

use common::{TestServer, expect_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CONSTITUTION: &[(&str, &str)] = &[
    (
        "art-1",
        "Article 1. Congress shall make no law respecting an establishment of religion, or abridging the freedom of speech, or of the press; or the right of the people peaceably to assemble.",
    ),
    (
        "art-2",
        "Article 2. A well regulated militia, being necessary to the security of a free state, the right of the people to keep and bear arms shall not be infringed.",
    ),
    (
        "art-4",
        "Article 4. The right of the people to be secure in their persons, houses, papers, and effects, against unreasonable searches and seizures, shall not be violated.",
    ),
    (
        "art-5",
        "Article 5. No person shall be compelled in any criminal case to be a witness against himself, nor be deprived of life, liberty, or property, without due process of law.",
    ),
    (
        "art-6",
        "Article 6. In all criminal prosecutions, the accused shall enjoy the right to a speedy and public trial, by an impartial jury.",
    ),
];

const TRYCKFRIHET: &str = "1 kap. Om tryckfrihet\n\n\
1 § Med tryckfrihet förstås varje svensk medborgares rätt att ge ut skrifter utan att det finns några av en myndighet eller ett annat allmänt organ i förväg lagda hinder.\n\n\
2 § Ingen skrift får före tryckningen granskas av en myndighet eller ett annat allmänt organ.\n\n\
2 kap. Om allmänna handlingars offentlighet\n\n\
1 § Till främjande av ett fritt meningsutbyte och en allsidig upplysning ska varje svensk medborgare ha rätt att ta del av allmänna handlingar.\n";

async fn corpus() -> TestServer {
    let server = TestServer::start().await;
    server.create_collection("us", "english").await;
    server.create_collection("se", "swedish").await;
    for (id, text) in CONSTITUTION {
        let era = if *id == "art-6" { "late" } else { "early" };
        let (status, body) = server
            .upsert(
                "us",
                &json!({"text": text, "external_id": id, "metadata": {"era": era}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = server
        .upsert(
            "se",
            &json!({"text": TRYCKFRIHET, "title": "Tryckfrihetsförordningen"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    server
}

fn top_path(hits: &[Value]) -> &str {
    hits.first()
        .and_then(|h| h["path"].as_str())
        .unwrap_or("<no hits>")
}

#[tokio::test]
async fn bm25_ranks_the_matching_section_first() {
    let server = corpus().await;
    for (query, expected) in [
        ("freedom of speech and of the press", "Article 1"),
        ("unreasonable searches and seizures", "Article 4"),
        ("speedy public trial impartial jury", "Article 6"),
        ("due process of law", "Article 5"),
    ] {
        let hits = server
            .search(&json!({"query": query, "collections": ["us"], "mode": "bm25"}))
            .await;
        assert_eq!(top_path(&hits), expected, "query {query:?}: {hits:?}");
        let first = &hits[0];
        assert!(
            first["score"].as_f64().unwrap() > 0.0,
            "BM25 score must not be 0: {first}"
        );
        assert_eq!(first["rank"], 1);
        assert_eq!(first["bm25"]["rank"], 1);
        assert!(!first["document_id"].as_str().unwrap().is_empty());
        assert!(first["char_end"].as_u64() > first["char_start"].as_u64());
    }
    // English stemming: "searching" finds "searches".
    let hits = server
        .search(&json!({"query": "searching", "collections": ["us"]}))
        .await;
    assert_eq!(top_path(&hits), "Article 4");
    server.stop().await;
}

#[tokio::test]
async fn swedish_stemming_and_structural_paths() {
    let server = corpus().await;
    // "handlingarna" and "tryckfriheten" are inflections of words in the text.
    let hits = server
        .search(&json!({"query": "allmänna handlingarna", "collections": ["se"]}))
        .await;
    assert_eq!(top_path(&hits), "2 kap. 1 §", "{hits:?}");
    assert_eq!(hits[0]["title"], "Tryckfrihetsförordningen");
    let hits = server
        .search(&json!({"query": "tryckfriheten", "collections": ["se"]}))
        .await;
    assert_eq!(top_path(&hits), "1 kap. 1 §", "{hits:?}");
    server.stop().await;
}

#[tokio::test]
async fn many_collections_are_merged_by_rank_and_filters_apply() {
    let server = corpus().await;
    let hits = server
        .search(&json!({"query": "rätt right", "collections": ["us", "se"], "limit": 4, "mode": "bm25"}))
        .await;
    assert_eq!(hits.len(), 4);
    let collections: Vec<&str> = hits
        .iter()
        .map(|h| h["collection"].as_str().unwrap())
        .collect();
    assert!(
        collections.contains(&"us") && collections.contains(&"se"),
        "{collections:?}"
    );
    // Each collection's best hit comes before any collection's second best.
    assert!(hits[..2].iter().all(|h| h["bm25"]["rank"] == 1), "{hits:?}");
    let ranks: Vec<u64> = hits.iter().map(|h| h["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, [1, 2, 3, 4]);

    // No collections named: all are searched.
    let all = server.search(&json!({"query": "rätt right"})).await;
    assert!(
        all.iter().any(|h| h["collection"] == "se") && all.iter().any(|h| h["collection"] == "us")
    );

    let filtered = server
        .search(&json!({"query": "right of the people", "collections": ["us"], "filter": {"era": "late"}}))
        .await;
    assert!(!filtered.is_empty());
    assert!(
        filtered.iter().all(|h| h["path"] == "Article 6"),
        "{filtered:?}"
    );
    let limited = server
        .search(&json!({"query": "right", "collections": ["us"], "limit": 2}))
        .await;
    assert_eq!(limited.len(), 2);
    let nothing = server
        .search(&json!({"query": "zebra", "collections": ["us"], "mode": "bm25"}))
        .await;
    assert!(nothing.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn dense_search_finds_paraphrases_and_hybrid_reports_every_signal() {
    let server = corpus().await;
    // No word of the query occurs in Article 4: only the dense signal can find it.
    let dense = server
        .search(&json!({"query": "police officers cannot enter my home uninvited", "collections": ["us"], "mode": "dense"}))
        .await;
    assert_eq!(top_path(&dense), "Article 4", "{dense:?}");
    assert!(dense[0]["bm25"].is_null());
    let cosine = dense[0]["dense"]["score"].as_f64().unwrap();
    assert!(cosine > 0.2 && cosine <= 1.0, "{cosine}");
    assert_eq!(dense[0]["score"].as_f64().unwrap(), cosine);
    let bm25_only = server
        .search(&json!({"query": "police officers cannot enter my home uninvited", "collections": ["us"], "mode": "bm25"}))
        .await;
    assert!(bm25_only.iter().all(|h| h["path"] != "Article 4"));

    let hybrid = server
        .search(&json!({"query": "speedy trial by jury", "collections": ["us"]}))
        .await;
    assert_eq!(top_path(&hybrid), "Article 6", "{hybrid:?}");
    let first = &hybrid[0];
    assert_eq!(first["dense"]["rank"], 1, "{first}");
    assert_eq!(first["bm25"]["rank"], 1, "{first}");
    let expected = 2.0 / 61.0;
    assert!(
        (first["fused"].as_f64().unwrap() - expected).abs() < 1e-6,
        "{first}"
    );
    let scores: Vec<f64> = hybrid
        .iter()
        .map(|h| h["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    let filtered = server
        .search(&json!({"query": "speech and religion", "collections": ["us"], "mode": "dense", "filter": {"era": "late"}}))
        .await;
    assert!(
        !filtered.is_empty() && filtered.iter().all(|h| h["path"] == "Article 6"),
        "{filtered:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn search_rejects_bad_requests() {
    let server = corpus().await;
    let cases = [
        (json!({"query": ""}), StatusCode::BAD_REQUEST, "empty_text"),
        (
            json!({"query": "x", "limit": 0}),
            StatusCode::BAD_REQUEST,
            "invalid_limit",
        ),
        (
            json!({"query": "x", "limit": 1000}),
            StatusCode::BAD_REQUEST,
            "invalid_limit",
        ),
        (
            json!({"query": "x", "limit": -1}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"query": "x", "mode": "telepathy"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"query": "x", "collections": ["nope"]}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({"query": "x", "collections": ["Bad Name"]}),
            StatusCode::BAD_REQUEST,
            "invalid_collection_name",
        ),
        (
            json!({"query": "x", "filter": {"era": {"$ne": 1}}}),
            StatusCode::BAD_REQUEST,
            "invalid_filter",
        ),
        (
            json!({"query": "x".repeat(5000)}),
            StatusCode::BAD_REQUEST,
            "text_too_long",
        ),
        (
            json!({"query": 7}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let response = server.post("/v1/search", &body).await;
        expect_problem(response, status, code).await;
    }
    // Query syntax is data: operators and quotes do not break the query.
    let hits = server
        .search(&json!({"query": "right' OR 1=1; REMOVE TABLE chunk; --", "collections": ["us"]}))
        .await;
    assert!(!hits.is_empty());
    let still_there = server
        .search(&json!({"query": "jury", "collections": ["us"]}))
        .await;
    assert_eq!(top_path(&still_there), "Article 6");
    server.stop().await;
}

/// `path` fetched with `Accept-Encoding: accept`, returning the `Content-Encoding` it came
/// with (if any) and the body decoded from it.
async fn fetch_encoded(server: &TestServer, path: &str, accept: &str) -> (Option<String>, Vec<u8>) {
    let response = server
        .client
        .get(server.url(path))
        .header("accept-encoding", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let vary = response
        .headers()
        .get("vary")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        vary.is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
        "{path}: a compressible response names Accept-Encoding in Vary"
    );
    let encoding = response
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    let raw = response.bytes().await.unwrap().to_vec();
    let body = match encoding.as_deref() {
        Some("zstd") => zstd::stream::decode_all(&raw[..]).unwrap(),
        Some("gzip") => {
            let mut decoded = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut decoded)
                .unwrap();
            decoded
        }
        None => raw,
        Some(other) => panic!("unexpected encoding {other}"),
    };
    (encoding, body)
}

#[tokio::test]
async fn large_responses_are_compressed_when_the_client_accepts_it_and_streams_never_are() {
    let server = corpus().await;
    let (encoding, plain) = fetch_encoded(&server, "/openapi.json", "identity").await;
    assert_eq!(encoding, None);
    assert!(
        plain.len() > 4096,
        "the spec is large: {} bytes",
        plain.len()
    );
    for (accept, expected) in [
        ("gzip", "gzip"),
        ("gzip, deflate, br, zstd", "zstd"),
        ("zstd;q=0.2, gzip;q=0.8", "gzip"),
    ] {
        let (encoding, body) = fetch_encoded(&server, "/openapi.json", accept).await;
        assert_eq!(
            encoding.as_deref(),
            Some(expected),
            "Accept-Encoding: {accept}"
        );
        assert_eq!(body, plain, "the decoded body is the plain one");
    }
    let (encoding, script) = fetch_encoded(&server, "/web/i18n.js", "zstd").await;
    assert_eq!(
        encoding.as_deref(),
        Some("zstd"),
        "the page's script is compressed too"
    );
    assert!(!script.is_empty());

    // A small response is sent as it is.
    let small = server
        .client
        .post(server.url("/v1/search"))
        .header("accept-encoding", "zstd, gzip")
        .json(&json!({"query": "speech", "collections": ["us"], "mode": "bm25", "limit": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), StatusCode::OK);
    assert!(small.headers().get("content-encoding").is_none());
    let hits: Value = small.json().await.unwrap();
    assert_eq!(hits["hits"].as_array().unwrap().len(), 1);

    // An event stream is never buffered for compression: events arrive as written.
    let stream = server
        .client
        .post(server.url("/v1/answer/stream"))
        .header("accept-encoding", "zstd, gzip")
        .json(&json!({"question": "Who may abridge the freedom of speech?", "mode": "evidence", "collections": ["us"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers().get("content-encoding").is_none());
    let events = common::sse::parse(&stream.text().await.unwrap());
    assert!(
        events.iter().any(|e| e.name == "done"),
        "{:?}",
        events.iter().map(|e| &e.name).collect::<Vec<_>>()
    );

    // A compressed request body is not inflated: it is refused as the bytes it is.
    let gzipped = {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder
            .write_all(br#"{"query": "speech", "collections": ["us"]}"#)
            .unwrap();
        encoder.finish().unwrap()
    };
    let refused = server
        .client
        .post(server.url("/v1/search"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzipped)
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error(), "{}", refused.status());
    assert_eq!(common::content_type(&refused), "application/problem+json");
}

/// Whether two JSON values are equal, numbers compared at f32 precision (one-pass bodies
/// write an `f32` score in its shortest form, `0.1`, where a `Value` tree widened it first).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().map(|v| v as f32) == y.as_f64().map(|v| v as f32)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

#[tokio::test]
async fn search_and_answer_bodies_are_the_json_their_schema_describes() {
    use constitutional_rag::api::dto::answer::Answer;
    use constitutional_rag::api::dto::search::SearchHit as WireHit;
    use constitutional_rag::model::SearchHit;
    use poem_openapi::types::{ParseFromJSON, ToJSON};

    let server = corpus().await;
    let body = server
        .post(
            "/v1/search",
            &json!({"query": "freedom of speech", "collections": ["us", "se"], "mode": "hybrid", "limit": 10}),
        )
        .await;
    let sent = common::expect_json(body, StatusCode::OK).await;
    let hits: Vec<SearchHit> = serde_json::from_value(sent["hits"].clone()).unwrap();
    assert!(!hits.is_empty());
    let wire: Vec<WireHit> = hits.into_iter().map(WireHit::from).collect();
    let described = wire.to_json().unwrap();
    assert!(same_json(&sent["hits"], &described), "{sent}\n{described}");

    for question in [
        "Who may abridge the freedom of speech?",
        "What does the GNU Affero licence say about network use?",
    ] {
        let reply = server
            .post(
                "/v1/answer",
                &json!({"question": question, "mode": "evidence", "collections": ["us"]}),
            )
            .await;
        let sent = common::expect_json(reply, StatusCode::OK).await;
        let answer = Answer::parse_from_json(Some(sent.clone())).unwrap();
        let described = answer.to_json().unwrap();
        assert!(same_json(&sent, &described), "{sent}\n{described}");
    }
}
