//! What the scale-out test and benchmark both ask of our server over HTTP: writing a
//! document, and the corpus version an answer carries.

use reqwest::{Client, Response};
use serde_json::Value;

/// Posts `document` (a document body) to `collection` through the server at `base`; fails
/// unless it is accepted. The response, for its headers and body.
pub async fn write_document(
    client: &Client,
    base: &str,
    collection: &str,
    document: &Value,
) -> Response {
    let response = client
        .post(format!("{base}/v1/collections/{collection}/documents"))
        .json(document)
        .send()
        .await
        .expect("write");
    assert!(
        response.status().is_success(),
        "write: {}",
        response.status()
    );
    response
}

/// The corpus version a response carries in `X-Corpus-Version` (`None` from a build that
/// sends none).
pub fn corpus_version(response: &Response) -> Option<u64> {
    response
        .headers()
        .get("x-corpus-version")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Collection `collection` as the server at `base` describes it (its counts among them).
pub async fn describe_collection(client: &Client, base: &str, collection: &str) -> Value {
    client
        .get(format!("{base}/v1/collections/{collection}"))
        .send()
        .await
        .expect("collection")
        .json()
        .await
        .expect("collection body")
}
