//! Collections and documents over real HTTP against a real server and SurrealDB.

mod common;

use common::{TestServer, expect_json, expect_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

const RF_CHAPTER_2: &str = "2 kap. Grundläggande fri- och rättigheter\n\n\
1 § Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet, informationsfrihet och mötesfrihet.\n\n\
2 § Ingen får av det allmänna tvingas att ge till känna sin åskådning i politiskt, religiöst, kulturellt eller annat sådant hänseende.\n\n\
3 § Ingen svensk medborgare får utan samtycke antecknas i allmänt register enbart på grund av sin politiska åskådning.\n";

fn sum_chunk_counts(documents: &[Value]) -> u64 {
    documents
        .iter()
        .map(|d| d["chunk_count"].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn collection_crud_round_trip() {
    let server = TestServer::start().await;
    let created = server.create_collection("laws", "swedish").await;
    assert_eq!(created["name"], "laws");
    assert_eq!(created["language"], "swedish");
    assert_eq!(created["document_count"], 0);
    assert_eq!(created["embedding_dimension"], 384);

    let again = server
        .post("/v1/collections", &json!({"name": "laws"}))
        .await;
    expect_problem(again, StatusCode::CONFLICT, "conflict").await;

    server.create_collection("cases", "english").await;
    let list = expect_json(server.get("/v1/collections").await, StatusCode::OK).await;
    let names: Vec<&str> = list["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cases", "laws"]);

    let (status, _) = server
        .upsert("laws", &json!({"text": RF_CHAPTER_2, "title": "RF"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let laws = expect_json(server.get("/v1/collections/laws").await, StatusCode::OK).await;
    assert_eq!(laws["document_count"], 1);
    assert!(laws["chunk_count"].as_u64().unwrap() >= 3, "{laws}");

    let deleted = server.delete("/v1/collections/laws").await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    expect_problem(
        server.get("/v1/collections/laws").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Re-created under the same name, nothing of the old one survives.
    let fresh = server.create_collection("laws", "swedish").await;
    assert_eq!(fresh["document_count"], 0);
    assert_eq!(fresh["chunk_count"], 0);
    server.stop().await;
}

#[tokio::test]
async fn document_round_trip_update_and_delete_leave_no_orphans() {
    let server = TestServer::start().await;
    server.create_collection("rf", "swedish").await;
    let (status, created) = server
        .upsert(
            "rf",
            &json!({"text": RF_CHAPTER_2, "title": "Regeringsformen", "external_id": "sfs-1974-152",
                    "metadata": {"year": 1974, "kind": "grundlag"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["outcome"], "created");
    let doc = &created["document"];
    let id = doc["id"].as_str().unwrap().to_string();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["metadata"]["year"], 1974);

    // Chunks carry paths and offsets that point back into the text.
    let chunks = expect_json(
        server
            .get(&format!("/v1/collections/rf/documents/{id}/chunks"))
            .await,
        StatusCode::OK,
    )
    .await;
    let chunks = chunks["chunks"].as_array().unwrap().clone();
    let paths: Vec<&str> = chunks.iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert!(
        paths.contains(&"2 kap. 1 §") && paths.contains(&"2 kap. 3 §"),
        "{paths:?}"
    );
    let full = expect_json(
        server
            .get(&format!(
                "/v1/collections/rf/documents/{id}?include_content=true"
            ))
            .await,
        StatusCode::OK,
    )
    .await;
    let content: Vec<char> = full["content"].as_str().unwrap().chars().collect();
    for chunk in &chunks {
        let (start, end) = (
            chunk["char_start"].as_u64().unwrap() as usize,
            chunk["char_end"].as_u64().unwrap() as usize,
        );
        let slice: String = content[start..end].iter().collect();
        assert_eq!(slice, chunk["text"].as_str().unwrap());
    }

    // Re-posting identical content does no work.
    let (status, same) = server
        .upsert(
            "rf",
            &json!({"text": RF_CHAPTER_2, "title": "Regeringsformen", "external_id": "sfs-1974-152",
                    "metadata": {"kind": "grundlag", "year": 1974}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["outcome"], "unchanged");
    assert_eq!(same["document"]["version"], 1);
    assert_eq!(same["document"]["updated_at"], doc["updated_at"]);

    // Atomic replace: id stable, version up, old chunks gone.
    let new_text =
        "1 kap. Statsskickets grunder\n\n1 § All offentlig makt i Sverige utgår från folket.\n";
    let updated = expect_json(
        server
            .put(
                &format!("/v1/collections/rf/documents/{id}"),
                &json!({"text": new_text, "external_id": "sfs-1974-152"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["outcome"], "updated");
    assert_eq!(updated["document"]["id"], id.as_str());
    assert_eq!(updated["document"]["version"], 2);
    let chunks_after = expect_json(
        server
            .get(&format!("/v1/collections/rf/documents/{id}/chunks"))
            .await,
        StatusCode::OK,
    )
    .await;
    let after: Vec<&str> = chunks_after["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(after, ["1 kap. 1 §"]);
    let collection = expect_json(server.get("/v1/collections/rf").await, StatusCode::OK).await;
    assert_eq!(
        collection["chunk_count"], 1,
        "old chunks must not survive an update"
    );

    // Upsert by external id replaces the same document.
    let (status, via_upsert) = server
        .upsert(
            "rf",
            &json!({"text": RF_CHAPTER_2, "external_id": "sfs-1974-152"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(via_upsert["outcome"], "updated");
    assert_eq!(via_upsert["document"]["id"], id.as_str());
    assert_eq!(via_upsert["document"]["version"], 3);

    let listing = expect_json(
        server.get("/v1/collections/rf/documents").await,
        StatusCode::OK,
    )
    .await;
    let documents = listing["documents"].as_array().unwrap().clone();
    let collection = expect_json(server.get("/v1/collections/rf").await, StatusCode::OK).await;
    assert_eq!(
        collection["chunk_count"].as_u64().unwrap(),
        sum_chunk_counts(&documents)
    );

    // Atomic delete: no chunk survives.
    assert_eq!(
        server
            .delete(&format!("/v1/collections/rf/documents/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let collection = expect_json(server.get("/v1/collections/rf").await, StatusCode::OK).await;
    assert_eq!(collection["document_count"], 0);
    assert_eq!(collection["chunk_count"], 0);
    expect_problem(
        server
            .get(&format!("/v1/collections/rf/documents/{id}"))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        server
            .delete(&format!("/v1/collections/rf/documents/{id}"))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn pagination_edges_and_metadata_filters() {
    let server = TestServer::start().await;
    server.create_collection("many", "english").await;
    for i in 0..25 {
        let year = if i % 2 == 0 { 2020 } else { 2021 };
        let (status, _) = server
            .upsert("many", &json!({"text": format!("Section {i}. Document number {i}."), "metadata": {"year": year, "n": i}}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let page =
        |n: u32, size: u32| format!("/v1/collections/many/documents?page={n}&page_size={size}");
    let mut seen = Vec::new();
    for (n, expected, next) in [(1, 10, Some(2)), (2, 10, Some(3)), (3, 5, None)] {
        let body = expect_json(server.get(&page(n, 10)).await, StatusCode::OK).await;
        assert_eq!(body["total"], 25);
        assert_eq!(body["documents"].as_array().unwrap().len(), expected);
        assert_eq!(body["next_page"].as_u64(), next);
        seen.extend(
            body["documents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_str().unwrap().to_string()),
        );
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25, "pages must not overlap");
    let beyond = expect_json(server.get(&page(4, 10)).await, StatusCode::OK).await;
    assert_eq!(beyond["documents"].as_array().unwrap().len(), 0);
    let exact = expect_json(server.get(&page(1, 100)).await, StatusCode::OK).await;
    assert_eq!(exact["documents"].as_array().unwrap().len(), 25);
    assert!(exact["next_page"].is_null());

    expect_problem(
        server.get(&page(1, 0)).await,
        StatusCode::BAD_REQUEST,
        "invalid_page_size",
    )
    .await;
    expect_problem(
        server.get(&page(1, 101)).await,
        StatusCode::BAD_REQUEST,
        "invalid_page_size",
    )
    .await;
    expect_problem(
        server.get(&page(0, 10)).await,
        StatusCode::BAD_REQUEST,
        "invalid_page",
    )
    .await;
    expect_problem(
        server
            .get("/v1/collections/many/documents?page_size=-1")
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;

    let filtered = expect_json(
        server
            .get("/v1/collections/many/documents?page_size=100&filter=%7B%22year%22%3A2021%7D")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(filtered["total"], 12);
    assert!(
        filtered["documents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["metadata"]["year"] == 2021)
    );
    let any_of = expect_json(
        server
            .get("/v1/collections/many/documents?filter=%7B%22n%22%3A%5B1%2C2%2C3%5D%7D")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(any_of["total"], 3);
    expect_problem(
        server
            .get("/v1/collections/many/documents?filter=nope")
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_filter",
    )
    .await;
    expect_problem(
        server
            .get("/v1/collections/many/documents?filter=%7B%22a%20b%22%3A1%7D")
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_filter",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn bad_inputs_get_clear_problems() {
    let mut config = common::test_config();
    config.server.max_body_bytes = 64 * 1024;
    let server = TestServer::start_with(config).await;
    server.create_collection("docs", "english").await;

    let malformed = server
        .client
        .post(server.url("/v1/collections/docs/documents"))
        .header("content-type", "application/json")
        .body("{\"text\": ")
        .send()
        .await
        .unwrap();
    expect_problem(malformed, StatusCode::BAD_REQUEST, "invalid_request").await;

    let invalid_utf8 = server
        .client
        .post(server.url("/v1/collections/docs/documents"))
        .header("content-type", "application/json")
        .body(b"{\"text\": \"caf\xe9\"}".to_vec())
        .send()
        .await
        .unwrap();
    expect_problem(invalid_utf8, StatusCode::BAD_REQUEST, "invalid_request").await;

    let wrong_type = server
        .post("/v1/collections/docs/documents", &json!({"text": 42}))
        .await;
    expect_problem(wrong_type, StatusCode::BAD_REQUEST, "invalid_request").await;
    let unknown_field = server
        .post(
            "/v1/collections/docs/documents",
            &json!({"text": "x", "bogus": 1}),
        )
        .await;
    expect_problem(unknown_field, StatusCode::BAD_REQUEST, "invalid_request").await;
    let empty = server
        .post("/v1/collections/docs/documents", &json!({"text": "   "}))
        .await;
    expect_problem(empty, StatusCode::BAD_REQUEST, "empty_text").await;
    let nul = server
        .post(
            "/v1/collections/docs/documents",
            &json!({"text": "a\u{0}b"}),
        )
        .await;
    expect_problem(nul, StatusCode::BAD_REQUEST, "invalid_text").await;

    let oversize = server
        .post(
            "/v1/collections/docs/documents",
            &json!({"text": "x".repeat(100 * 1024)}),
        )
        .await;
    expect_problem(oversize, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let chunked_oversize = server
        .client
        .post(server.url("/v1/collections/docs/documents"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(
            (0..100).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])),
        )))
        .send()
        .await
        .unwrap();
    expect_problem(
        chunked_oversize,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;

    let wrong_content_type = server
        .client
        .post(server.url("/v1/collections/docs/documents"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    let status = wrong_content_type.status();
    assert!(
        status == StatusCode::UNSUPPORTED_MEDIA_TYPE || status == StatusCode::BAD_REQUEST,
        "{status}"
    );
    assert!(
        wrong_content_type.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );

    for bad in ["Laws", "a%20b", "..", "x;DELETE%20chunk", &"a".repeat(65)] {
        let response = server.post("/v1/collections", &json!({"name": bad})).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let response = server.get(&format!("/v1/collections/{bad}")).await;
        assert!(
            response.status().is_client_error(),
            "{bad}: {}",
            response.status()
        );
    }
    expect_problem(
        server
            .post("/v1/collections", &json!({"name": "Bad Name"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_collection_name",
    )
    .await;
    expect_problem(
        server.get("/v1/collections/missing").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        server
            .post("/v1/collections/missing/documents", &json!({"text": "x"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        server.get("/v1/collections/docs/documents/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        server.get("/v1/no/such/route").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        server.get("/api/documents/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Injection-shaped strings are data.
    let (status, body) = server
        .upsert("docs", &json!({"text": "'; DELETE chunk; --", "external_id": "x' OR 1=1 --", "metadata": {"k": "$id"}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let listing = expect_json(
        server
            .get("/v1/collections/docs/documents?filter=%7B%22k%22%3A%22%24id%22%7D")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listing["total"], 1);
    server.stop().await;
}

#[tokio::test]
async fn bulk_ingest_reports_every_line() {
    let server = TestServer::start().await;
    server.create_collection("bulk", "english").await;
    let body = concat!(
        "{\"text\": \"Article 1. All persons are equal.\", \"external_id\": \"a\"}\n",
        "\n",
        "{\"text\": \"Article 2. Everyone may speak.\", \"external_id\": \"b\", \"metadata\": {\"part\": 1}}\n",
        "not json\n",
        "{\"text\": \"Article 1. All persons are equal.\", \"external_id\": \"a\"}\n",
        "{\"title\": \"no text\"}\n",
    );
    let response = server
        .client
        .post(server.url("/v1/collections/bulk/documents/bulk"))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let summary = expect_json(response, StatusCode::OK).await;
    assert_eq!(summary["created"], 2, "{summary}");
    assert_eq!(summary["unchanged"], 1, "{summary}");
    assert_eq!(summary["failed"], 2, "{summary}");
    let lines: Vec<u64> = summary["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [1, 3, 4, 5, 6]);
    assert_eq!(summary["items"][2]["error"]["code"], "invalid_json");
    let collection = expect_json(server.get("/v1/collections/bulk").await, StatusCode::OK).await;
    assert_eq!(collection["document_count"], 2);

    let wrong_type = server
        .client
        .post(server.url("/v1/collections/bulk/documents/bulk"))
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert!(wrong_type.status().is_client_error());
    server.stop().await;
}

#[tokio::test]
async fn legacy_document_routes_use_the_old_field_names() {
    let server = TestServer::start().await;
    server.create_collection("sfs", "swedish").await;
    let created = expect_json(
        server
            .post("/api/documents", &json!({"collection": "sfs", "content": RF_CHAPTER_2, "metadata": {"title": "RF 2 kap.", "source": "sfs"}}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["document_id"].as_str().unwrap().to_string();
    assert_eq!(created["title"], "RF 2 kap.");
    assert_eq!(created["collection"], "sfs");
    let fetched = expect_json(
        server.get(&format!("/api/documents/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(fetched["content"], RF_CHAPTER_2);
    let updated = expect_json(
        server
            .put(
                &format!("/api/documents/{id}"),
                &json!({"collection": "sfs", "content": "1 § Ny lydelse.", "metadata": {}}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["version"], 2);
    let list = expect_json(
        server.get("/api/documents?collection=sfs").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["total"], 1);
    let deleted = expect_json(
        server.delete(&format!("/api/documents/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(deleted["deleted"], true);
    expect_problem(
        server.get(&format!("/api/documents/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn data_survives_a_restart_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on_disk(dir.path()).await;
    server.create_collection("kept", "swedish").await;
    let (status, created) = server
        .upsert("kept", &json!({"text": RF_CHAPTER_2, "external_id": "rf"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    server.stop().await;

    let server = TestServer::start_on_disk(dir.path()).await;
    let collection = expect_json(server.get("/v1/collections/kept").await, StatusCode::OK).await;
    assert_eq!(collection["document_count"], 1);
    let id = created["document"]["id"].as_str().unwrap();
    let document = expect_json(
        server
            .get(&format!("/v1/collections/kept/documents/{id}"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        document["content_hash"],
        created["document"]["content_hash"]
    );
    let hits = server
        .search(&json!({"query": "yttrandefrihet", "collections": ["kept"]}))
        .await;
    assert_eq!(hits[0]["path"], "2 kap. 1 §");
    server.stop().await;
}

#[tokio::test]
async fn openapi_and_docs_are_served() {
    let server = TestServer::start().await;
    let spec = expect_json(server.get("/openapi.json").await, StatusCode::OK).await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let paths = spec["paths"].as_object().unwrap();
    for path in [
        "/v1/collections",
        "/v1/collections/{name}",
        "/v1/collections/{collection}/documents",
        "/v1/collections/{collection}/documents/{id}",
        "/v1/collections/{collection}/documents/bulk",
        "/v1/search",
        "/api/documents",
        "/health/ready",
    ] {
        assert!(paths.contains_key(path), "spec lacks {path}");
    }
    let problem = &spec["paths"]["/v1/collections"]["post"]["responses"]["400"]["content"];
    assert!(
        problem.get("application/problem+json").is_some(),
        "{problem}"
    );
    let docs = server.get("/docs").await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
    let ready = expect_json(server.get("/health/ready").await, StatusCode::OK).await;
    assert_eq!(ready["status"], "ready");
    server.stop().await;
}
