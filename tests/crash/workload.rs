//! The ingestion workload and its model of what the store may hold.
//!
//! One operation at a time: a streamed NDJSON bulk request, a single create, a replacement
//! (PUT by id, or an upsert of a known external id) or a delete. Before an operation is sent
//! its possible outcome is added to the model; when it is acknowledged the model settles on
//! that outcome. An operation cut off by a kill leaves both outcomes possible until the
//! next check reads which one the store kept.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use reqwest::{Body, Client, StatusCode};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{COLLECTION, Rng};

/// Words the documents are written in.
const WORDS: &[&str] = &[
    "court",
    "parliament",
    "citizen",
    "freedom",
    "expression",
    "assembly",
    "property",
    "tax",
    "election",
    "government",
    "minister",
    "law",
    "statute",
    "appeal",
    "judge",
    "authority",
    "municipality",
    "rights",
    "duty",
    "privacy",
    "press",
    "religion",
    "association",
    "education",
    "health",
    "budget",
    "treaty",
    "union",
    "referendum",
    "council",
    "shall",
    "every",
    "protected",
    "against",
    "public",
    "may",
    "be",
    "restricted",
    "only",
    "by",
];

/// The kinds of operation, for the kill schedule and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpKind {
    /// A streamed NDJSON bulk request.
    Bulk,
    /// A single upsert of a new external id.
    Create,
    /// A replacement of a document's text and chunks.
    Replace,
    /// A delete.
    Delete,
}

/// What the store may hold for one external id.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// The document id, once known.
    pub id: Option<String>,
    /// The texts the document may have; `None`: it may be absent. One element once settled.
    pub allowed: Vec<Option<String>>,
}

impl Entry {
    /// The one acknowledged text, when the entry is settled on a present document.
    pub fn settled_text(&self) -> Option<&str> {
        match self.allowed.as_slice() {
            [Some(text)] => Some(text),
            _ => None,
        }
    }
}

/// Every external id the workload has written, with what may be stored for it.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Entries by external id.
    pub entries: BTreeMap<String, Entry>,
    next_document: u64,
    next_version: u64,
}

impl Model {
    /// Settles `external_id` on what the store was found to hold (`None`: nothing).
    pub fn observe(&mut self, external_id: &str, found: Option<(String, String)>) {
        match found {
            Some((id, text)) => {
                self.entries.insert(
                    external_id.to_string(),
                    Entry {
                        id: Some(id),
                        allowed: vec![Some(text)],
                    },
                );
            }
            None => {
                self.entries.remove(external_id);
            }
        }
    }

    fn new_external_id(&mut self) -> String {
        self.next_document += 1;
        format!("doc-{}", self.next_document)
    }

    /// A unique word for a new text: BM25 finds exactly the document that holds it.
    fn new_marker(&mut self) -> String {
        self.next_version += 1;
        format!("mk{}q", self.next_version)
    }

    /// A settled, present entry chosen at random: `(external id, document id)`.
    fn pick_settled(&self, rng: &mut Rng, exclude: &[String]) -> Option<(String, String)> {
        let settled: Vec<(&String, &Entry)> = self
            .entries
            .iter()
            .filter(|(key, entry)| entry.settled_text().is_some() && !exclude.contains(key))
            .filter(|(_, entry)| entry.id.is_some())
            .collect();
        if settled.is_empty() {
            return None;
        }
        let (key, entry) = settled[rng.index(settled.len())];
        Some((key.clone(), entry.id.clone().expect("settled id")))
    }

    fn add_possible(&mut self, external_id: &str, text: Option<String>) {
        self.entries
            .entry(external_id.to_string())
            .or_insert_with(|| Entry {
                id: None,
                allowed: vec![None],
            })
            .allowed
            .push(text);
    }

    fn acknowledge(&mut self, external_id: &str, id: &str, text: Option<String>) {
        let entry = self.entries.entry(external_id.to_string()).or_default();
        entry.id = Some(id.to_string());
        entry.allowed = vec![text];
        if entry.allowed == [None] {
            self.entries.remove(external_id);
        }
    }
}

/// The title every version of a document carries.
pub fn title_of(external_id: &str) -> String {
    format!("Document {external_id}")
}

/// The BM25 marker word of a text written by the workload.
pub fn marker_of(text: &str) -> &str {
    text.split_whitespace()
        .find(|word| word.starts_with("mk") && word.ends_with('q'))
        .expect("every workload text has a marker")
}

/// A statute-like text of one to four articles that contains `marker` once.
fn document_text(rng: &mut Rng, marker: &str) -> String {
    let mut text = String::new();
    for article in 1..=rng.range(1, 5) {
        text.push_str(&format!("Article {article}\n\n"));
        for paragraph in 0..rng.range(1, 4) {
            for sentence in 0..rng.range(2, 9) {
                let mut words: Vec<&str> = (0..rng.range(6, 16))
                    .map(|_| WORDS[rng.index(WORDS.len())])
                    .collect();
                if article == 1 && paragraph == 0 && sentence == 0 {
                    words.insert(1, marker);
                }
                let sentence = words.join(" ");
                let mut first = sentence.chars();
                let head = first.next().expect("a word").to_ascii_uppercase();
                text.push(head);
                text.push_str(first.as_str());
                text.push_str(". ");
            }
            text.push_str("\n\n");
        }
    }
    text.trim_end().to_string()
}

/// Runs operations against `base` until one gets no answer (the server was killed) and
/// returns that operation's kind. `in_flight` shows the operation being sent.
pub async fn run(
    client: Client,
    base: String,
    model: Arc<Mutex<Model>>,
    mut rng: Rng,
    in_flight: watch::Sender<Option<OpKind>>,
) -> OpKind {
    loop {
        let kind = match rng.range(0, 10) {
            0..=2 => OpKind::Bulk,
            3..=4 => OpKind::Create,
            5..=7 => OpKind::Replace,
            _ => OpKind::Delete,
        };
        in_flight.send_replace(Some(kind));
        let answered = match kind {
            OpKind::Bulk => bulk(&client, &base, &model, &mut rng).await,
            OpKind::Create => create(&client, &base, &model, &mut rng).await,
            OpKind::Replace => replace(&client, &base, &model, &mut rng).await,
            OpKind::Delete => delete(&client, &base, &model, &mut rng).await,
        };
        in_flight.send_replace(None);
        if !answered {
            return kind;
        }
    }
}

fn documents_url(base: &str) -> String {
    format!("{base}/v1/collections/{COLLECTION}/documents")
}

/// A document body for `external_id` with a fresh text; the text is returned too.
fn new_body(model: &Mutex<Model>, rng: &mut Rng, external_id: &str) -> (Value, String) {
    let marker = model.lock().unwrap().new_marker();
    let text = document_text(rng, &marker);
    let body = json!({
        "external_id": external_id,
        "title": title_of(external_id),
        "text": text,
    });
    (body, text)
}

/// The body of an answered write: `(document id, outcome)`; `None` when nothing came back.
/// Any answer but success fails the test.
async fn written(response: reqwest::Result<reqwest::Response>) -> Option<Value> {
    let response = response.ok()?;
    let status = response.status();
    let body = response.text().await.ok()?;
    assert!(status.is_success(), "write failed with {status}: {body}");
    Some(serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn create(client: &Client, base: &str, model: &Mutex<Model>, rng: &mut Rng) -> bool {
    let external_id = model.lock().unwrap().new_external_id();
    upsert(client, base, model, rng, &external_id).await
}

/// Replaces a settled document: by PUT on its id, or by upserting its external id.
async fn replace(client: &Client, base: &str, model: &Mutex<Model>, rng: &mut Rng) -> bool {
    let Some((external_id, id)) = model.lock().unwrap().pick_settled(rng, &[]) else {
        return create(client, base, model, rng).await;
    };
    if rng.range(0, 2) == 0 {
        return upsert(client, base, model, rng, &external_id).await;
    }
    let (body, text) = new_body(model, rng, &external_id);
    model
        .lock()
        .unwrap()
        .add_possible(&external_id, Some(text.clone()));
    let url = format!("{}/{id}", documents_url(base));
    let Some(answer) = written(client.put(url).json(&body).send().await).await else {
        return false;
    };
    assert_eq!(answer["outcome"], "updated", "{answer}");
    model
        .lock()
        .unwrap()
        .acknowledge(&external_id, &id, Some(text));
    true
}

async fn upsert(
    client: &Client,
    base: &str,
    model: &Mutex<Model>,
    rng: &mut Rng,
    external_id: &str,
) -> bool {
    let (body, text) = new_body(model, rng, external_id);
    model
        .lock()
        .unwrap()
        .add_possible(external_id, Some(text.clone()));
    let request = client.post(documents_url(base)).json(&body).send().await;
    let Some(answer) = written(request).await else {
        return false;
    };
    let id = answer["document"]["id"].as_str().expect("document id");
    model
        .lock()
        .unwrap()
        .acknowledge(external_id, id, Some(text));
    true
}

async fn delete(client: &Client, base: &str, model: &Mutex<Model>, rng: &mut Rng) -> bool {
    let Some((external_id, id)) = model.lock().unwrap().pick_settled(rng, &[]) else {
        return create(client, base, model, rng).await;
    };
    model.lock().unwrap().add_possible(&external_id, None);
    let url = format!("{}/{id}", documents_url(base));
    let Ok(response) = client.delete(url).send().await else {
        return false;
    };
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "delete {id}");
    model.lock().unwrap().acknowledge(&external_id, &id, None);
    true
}

/// A bulk request of new and known external ids whose lines are sent one by one with
/// pauses, so that a kill can land while the server is still reading it.
async fn bulk(client: &Client, base: &str, model: &Mutex<Model>, rng: &mut Rng) -> bool {
    let mut lines = Vec::new();
    let mut external_ids: Vec<String> = Vec::new();
    let mut texts = Vec::new();
    for _ in 0..rng.range(3, 10) {
        let known = model.lock().unwrap().pick_settled(rng, &external_ids);
        let external_id = match known {
            Some((external_id, _)) if rng.range(0, 10) < 4 => external_id,
            _ => model.lock().unwrap().new_external_id(),
        };
        let (body, text) = new_body(model, rng, &external_id);
        model
            .lock()
            .unwrap()
            .add_possible(&external_id, Some(text.clone()));
        lines.push((format!("{body}\n"), rng.range(5, 60)));
        external_ids.push(external_id);
        texts.push(text);
    }
    let stream = futures::stream::iter(lines).then(|(line, pause_ms)| async move {
        tokio::time::sleep(Duration::from_millis(pause_ms)).await;
        Ok::<_, std::io::Error>(line)
    });
    let request = client
        .post(format!("{}/bulk", documents_url(base)))
        .header("content-type", "application/x-ndjson")
        .body(Body::wrap_stream(stream))
        .send()
        .await;
    let Some(summary) = written(request).await else {
        return false;
    };
    let items = summary["items"].as_array().expect("bulk items");
    assert_eq!(items.len(), external_ids.len(), "{summary}");
    let mut model = model.lock().unwrap();
    for ((item, external_id), text) in items.iter().zip(&external_ids).zip(texts) {
        assert!(item["error"].is_null(), "bulk line failed: {item}");
        let id = item["id"].as_str().expect("bulk item id");
        model.acknowledge(external_id, id, Some(text));
    }
    true
}
