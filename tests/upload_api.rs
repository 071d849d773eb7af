//! File upload over real HTTP (`multipart/form-data`): each file parsed by the CLI's parsers
//! and stored whole or rejected with its own problem, nothing of a rejected file stored; the
//! route's keys, rate limit and body limits are those of the rest of the API.

mod common;

use common::pdf::minimal_pdf;
use common::{TestServer, expect_json, expect_problem, test_config};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};

const RF_CHAPTER_1: &str = "1 kap. Statsskickets grunder\n\n\
1 § All offentlig makt i Sverige utgår från folket.\n\
Den svenska folkstyrelsen bygger på fri åsiktsbildning och på allmän och lika rösträtt.\n\n\
2 § Den offentliga makten ska utövas med respekt för alla människors lika värde och för den enskilda människans frihet och värdighet.\n";

const TF_MARKDOWN: &str = "# Tryckfrihetsförordningen\n\n\
## 1 kap. Om tryckfrihet\n\n\
1 § Med tryckfrihet avses varje svensk medborgares rätt att ge ut skrifter utan \
att någon myndighet eller något annat allmänt organ i förväg lägger hinder i vägen.\n";

/// Two records: the first is a good document, the second has no text, so the file fails
/// whole and the first must not be stored either.
const HALF_GOOD_JSONL: &str = "{\"id\": \"ydl-1-1\", \"title\": \"YGL 1 kap. 1 §\", \"text\": \"Varje svensk medborgare är gentemot det allmänna tillförsäkrad frihet att i ljudradio, tv och vissa liknande överföringar offentligen uttrycka tankar, åsikter och känslor.\"}\n\
{\"id\": \"ydl-1-2\", \"title\": \"YGL 1 kap. 2 §\"}\n";

/// A `multipart/form-data` body with one `files` part per `(name, content type, bytes)`.
fn form(files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "crag-upload-test-boundary";
    let mut body = Vec::new();
    for (name, content_type, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

fn upload(server: &TestServer, collection: &str, files: &[(&str, &str, &[u8])]) -> RequestBuilder {
    let (content_type, body) = form(files);
    server
        .client
        .post(server.url(&format!("/v1/collections/{collection}/documents/upload")))
        .header("content-type", content_type)
        .body(body)
}

/// The external ids stored in `collection`, sorted.
async fn stored_ids(server: &TestServer, collection: &str) -> Vec<String> {
    let page = expect_json(
        server
            .get(&format!(
                "/v1/collections/{collection}/documents?page_size=100"
            ))
            .await,
        StatusCode::OK,
    )
    .await;
    let mut ids: Vec<String> = page["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["external_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn file_result<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file_name"] == name)
        .unwrap_or_else(|| panic!("{name} is reported: {summary}"))
}

fn assert_rejected(summary: &Value, name: &str, status: u16, code: &str) {
    let file = file_result(summary, name);
    assert_eq!(file["error"]["status"], status, "{file}");
    assert_eq!(file["error"]["code"], code, "{file}");
    assert!(file["error"]["detail"].as_str().unwrap().contains(name));
    assert_eq!(file["documents"], json!([]), "{file}");
}

#[tokio::test]
async fn each_file_is_stored_whole_or_rejected_with_its_own_problem() {
    let mut config = test_config();
    config.server.max_body_bytes = 16 * 1024;
    let server = TestServer::start_with(config).await;
    server.create_collection("grundlagar", "swedish").await;

    let good_pdf = minimal_pdf(&[
        "Successionsordning 1 §",
        "Rätt att ärva Sveriges krona tillkommer manliga och kvinnliga avkomlingar.",
    ]);
    let corrupt_pdf = &good_pdf[..good_pdf.len() / 2];
    let oversize = RF_CHAPTER_1.repeat(60);
    assert!(oversize.len() > 16 * 1024);
    let response = upload(
        &server,
        "grundlagar",
        &[
            ("regeringsformen.txt", "text/plain", RF_CHAPTER_1.as_bytes()),
            ("tf.md", "text/markdown", TF_MARKDOWN.as_bytes()),
            (
                "ygl.jsonl",
                "application/octet-stream",
                HALF_GOOD_JSONL.as_bytes(),
            ),
            ("so.pdf", "application/pdf", &good_pdf),
            ("skannad.pdf", "application/pdf", corrupt_pdf),
            (
                "utkast.docx",
                "application/octet-stream",
                b"PK\x03\x04 word",
            ),
            ("stor.txt", "text/plain", oversize.as_bytes()),
        ],
    )
    .send()
    .await
    .unwrap();
    let summary = expect_json(response, StatusCode::OK).await;
    assert_eq!(summary["created"], 3, "{summary}");
    assert_eq!(summary["failed"], 4, "{summary}");
    let names: Vec<&str> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "regeringsformen.txt",
            "tf.md",
            "ygl.jsonl",
            "so.pdf",
            "skannad.pdf",
            "utkast.docx",
            "stor.txt"
        ]
    );
    for (name, size) in [
        ("regeringsformen.txt", RF_CHAPTER_1.len()),
        ("so.pdf", good_pdf.len()),
        ("stor.txt", oversize.len()),
    ] {
        assert_eq!(file_result(&summary, name)["size"], size as u64);
    }
    let rf = &file_result(&summary, "regeringsformen.txt")["documents"][0];
    assert_eq!(rf["outcome"], "created");
    assert_eq!(rf["document"]["title"], "regeringsformen");
    assert_eq!(rf["document"]["source"], "regeringsformen.txt");
    let tf = &file_result(&summary, "tf.md")["documents"][0];
    assert_eq!(tf["document"]["title"], "Tryckfrihetsförordningen");
    assert!(file_result(&summary, "tf.md").get("error").is_none());
    assert_rejected(&summary, "ygl.jsonl", 422, "unparseable_file");
    assert_rejected(&summary, "skannad.pdf", 422, "unparseable_file");
    assert_rejected(&summary, "utkast.docx", 415, "unsupported_format");
    assert_rejected(&summary, "stor.txt", 413, "file_too_large");

    // Only the good files are stored: nothing of the JSON Lines file's good first record.
    assert_eq!(
        stored_ids(&server, "grundlagar").await,
        ["regeringsformen.txt", "so.pdf", "tf.md"]
    );
    let hits = server
        .search(&json!({"query": "ljudradio tv", "collections": ["grundlagar"], "mode": "bm25"}))
        .await;
    assert!(hits.is_empty(), "{hits:?}");
    // The PDF's text is searchable.
    let hits = server
        .search(&json!({"query": "ärva kronan avkomlingar", "collections": ["grundlagar"], "mode": "bm25"}))
        .await;
    assert_eq!(hits[0]["title"], "so", "{hits:?}");

    // The same file again is unchanged; a changed one replaces its document.
    let again = upload(
        &server,
        "grundlagar",
        &[
            ("regeringsformen.txt", "text/plain", RF_CHAPTER_1.as_bytes()),
            ("tf.md", "text/markdown", RF_CHAPTER_1.as_bytes()),
        ],
    )
    .send()
    .await
    .unwrap();
    let again = expect_json(again, StatusCode::OK).await;
    assert_eq!(
        (&again["unchanged"], &again["updated"], &again["created"]),
        (&json!(1), &json!(1), &json!(0)),
        "{again}"
    );
    assert_eq!(stored_ids(&server, "grundlagar").await.len(), 3);
    server.stop().await;
}

#[tokio::test]
async fn malformed_uploads_get_problems() {
    let server = TestServer::start().await;
    let text: &[(&str, &str, &[u8])] = &[("a.txt", "text/plain", RF_CHAPTER_1.as_bytes())];
    expect_problem(
        upload(&server, "saknas", text).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    server.create_collection("lagar", "swedish").await;
    expect_problem(
        upload(&server, "lagar", &[]).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "no_files",
    )
    .await;
    let json_body = server
        .post(
            "/v1/collections/lagar/documents/upload",
            &json!({"text": RF_CHAPTER_1}),
        )
        .await;
    expect_problem(
        json_body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    assert!(stored_ids(&server, "lagar").await.is_empty());

    // The route is in the spec as a multipart form of binary files, with its per-file result.
    let spec = expect_json(server.get("/openapi.json").await, StatusCode::OK).await;
    let operation = &spec["paths"]["/v1/collections/{collection}/documents/upload"]["post"];
    let files = &operation["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
        ["files"];
    assert_eq!(files["type"], "array", "{operation}");
    assert_eq!(files["items"]["format"], "binary", "{operation}");
    assert!(operation["responses"]["200"].is_object(), "{operation}");
    assert!(operation["responses"]["401"].is_object(), "{operation}");
    server.stop().await;
}

#[tokio::test]
async fn a_body_over_the_bulk_limit_is_refused_declared_or_streamed() {
    let mut config = test_config();
    config.server.max_bulk_bytes = 32 * 1024;
    let server = TestServer::start_with(config).await;
    server.create_collection("lagar", "swedish").await;
    let large = RF_CHAPTER_1.repeat(100);
    let files: &[(&str, &str, &[u8])] = &[
        ("a.txt", "text/plain", RF_CHAPTER_1.as_bytes()),
        ("b.txt", "text/plain", large.as_bytes()),
    ];
    expect_problem(
        upload(&server, "lagar", files).send().await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;

    // Without a declared length the body is counted as it streams.
    let (content_type, body) = form(files);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(4096).map(|c| Ok(c.to_vec())).collect();
    let streamed = server
        .client
        .post(server.url("/v1/collections/lagar/documents/upload"))
        .header("content-type", content_type)
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    expect_problem(streamed, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert!(stored_ids(&server, "lagar").await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn uploading_needs_a_writer_key_and_counts_against_the_rate_limit() {
    let mut config = test_config();
    config.limits.requests_per_second = 0.01;
    config.limits.burst = 6;
    let server = TestServer::start_with(config).await;
    server.create_collection("lagar", "swedish").await;
    let create_key = |role: &'static str, admin: Option<String>| {
        let mut request = server
            .client
            .post(server.url("/v1/keys"))
            .json(&json!({"name": role, "role": role}));
        if let Some(admin) = admin {
            request = request.bearer_auth(admin);
        }
        async move {
            let created = expect_json(request.send().await.unwrap(), StatusCode::CREATED).await;
            created["key"].as_str().unwrap().to_string()
        }
    };
    let admin = create_key("admin", None).await;
    let writer = create_key("writer", Some(admin.clone())).await;
    let reader = create_key("reader", Some(admin)).await;
    let files: &[(&str, &str, &[u8])] = &[("rf.txt", "text/plain", RF_CHAPTER_1.as_bytes())];

    let missing = upload(&server, "lagar", files).send().await.unwrap();
    assert!(missing.headers().contains_key("www-authenticate"));
    expect_problem(missing, StatusCode::UNAUTHORIZED, "missing_api_key").await;
    expect_problem(
        upload(&server, "lagar", files)
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
        "insufficient_role",
    )
    .await;
    let stored = upload(&server, "lagar", files)
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(stored, StatusCode::OK).await["created"], 1);

    // The writer's bucket: its upload above, and more until the burst is spent.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = upload(&server, "lagar", files)
            .bearer_auth(&writer)
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key("retry-after"));
            expect_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
            break;
        }
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    server.stop().await;
}
