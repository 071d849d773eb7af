//! Document rows and their chunks, always written together in one transaction.

use serde_json::{Value, json};

use super::change_log::{Change, SEQ_STATEMENT, logged};
use super::search::MetadataFilter;
use super::vector_bytes::to_wire;
use super::{Store, rows, value};
use crate::error::{AppError, AppResult};
use crate::model::{ChunkInfo, Document, PreparedDocument};

#[cfg(debug_assertions)]
mod fault;

/// The statement that ends every document write: its chunks, bound as `$chunks` (vectors
/// as base64 text, stored as bytes).
const INSERT_CHUNKS: &str = "INSERT INTO chunk array::map($chunks, |$c| IF $c.embedding \
     THEN object::extend($c, { embedding: encoding::base64::decode($c.embedding) }) ELSE $c END) \
     RETURN NONE;";

/// Fields selected for a document, without its text.
const DOCUMENT_FIELDS: &str = "record::id(id) AS id, collection, external_id, title, source, metadata, \
     content_hash, version, chunk_count, string::len(content) AS char_count, created_at, updated_at";

/// One page of a document listing.
#[derive(Debug)]
pub struct DocumentPage {
    /// Documents on this page, oldest first.
    pub documents: Vec<Document>,
    /// Documents matching the filter in all pages.
    pub total: u64,
}

impl Store {
    /// Stores a new document and its chunks atomically under `id`, with its change-log
    /// entry; returns it and the entry's number — or `None`, writing nothing, when the
    /// collection meanwhile got a document with this external id (or, without one, this
    /// content): another server's write that committed first. (Every write increments the
    /// log's counter, so of two racing inserts one retries and then sees the other.)
    pub async fn insert_document(
        &self,
        id: &str,
        doc: &PreparedDocument,
    ) -> AppResult<Option<(Document, u64)>> {
        let result = self
            .write_document(
                "LET $taken = IF $external_id != NONE { \
                   SELECT VALUE id FROM document WHERE collection = $collection AND external_id = $external_id \
                 } ELSE { \
                   SELECT VALUE id FROM document WHERE collection = $collection \
                     AND content_hash = $content_hash AND external_id = NONE \
                 }; \
                 IF array::len($taken) > 0 { THROW 'document already stored' }; \
                 CREATE type::record('document', $id) SET collection = $collection, external_id = $external_id, \
                   title = $title, source = $source, metadata = $metadata, content = $content, \
                   content_hash = $content_hash, version = $version, chunk_count = $chunk_count, \
                   created_at = time::now(), updated_at = time::now();",
                document_vars(id, doc, 1),
                &document_change(id, doc),
            )
            .await;
        let seq = match result {
            Ok(seq) => seq,
            Err(err) if err.to_string().contains("document already stored") => return Ok(None),
            Err(err) => return Err(err),
        };
        let document = self
            .document(&doc.collection, id, false)
            .await?
            .ok_or_else(|| AppError::Internal("document vanished after insert".into()))?;
        Ok(Some((document, seq)))
    }

    /// Replaces a document's content and chunks atomically, with its change-log entry; the
    /// id stays, the version is `version`. Returns it and the entry's number.
    pub async fn replace_document(
        &self,
        id: &str,
        doc: &PreparedDocument,
        version: u32,
    ) -> AppResult<(Document, u64)> {
        let seq = self
            .write_document(
                "DELETE chunk WHERE document = $id; \
                 UPDATE type::record('document', $id) SET external_id = $external_id, title = $title, \
                   source = $source, metadata = $metadata, content = $content, content_hash = $content_hash, \
                   version = $version, chunk_count = $chunk_count, updated_at = time::now();",
                document_vars(id, doc, version),
                &document_change(id, doc),
            )
            .await?;
        let document = self
            .document(&doc.collection, id, false)
            .await?
            .ok_or_else(|| AppError::Internal("document vanished after update".into()))?;
        Ok((document, seq))
    }

    /// Deletes a document and its chunks atomically, with its change-log entry; returns the
    /// entry's number, or `None` (and changes nothing) when it did not exist.
    pub async fn delete_document(&self, collection: &str, id: &str) -> AppResult<Option<u64>> {
        let change = Change::DocumentDeleted {
            collection: collection.to_string(),
            document: id.to_string(),
        };
        let result = self
            .write_logged(
                "LET $found = SELECT VALUE id FROM ONLY type::record('document', $id) WHERE collection = $collection; \
                 IF $found = NONE { THROW 'no such document' }; \
                 DELETE chunk WHERE document = $id; \
                 DELETE $found;",
                json!({ "id": id, "collection": collection }),
                &change,
            )
            .await;
        match result {
            Ok(seq) => Ok(Some(seq)),
            Err(err) if err.to_string().contains("no such document") => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Runs `document` (the statements writing a document row) and then inserts its chunks,
    /// with `vars`, in one transaction that appends `change` to the change log; returns the
    /// entry's number. (Debug builds can be told to tear one such write: see the `fault` module.)
    async fn write_document(&self, document: &str, vars: Value, change: &Change) -> AppResult<u64> {
        #[cfg(debug_assertions)]
        if fault::tear_this_write() {
            self.write_torn(document, vars, change).await;
        }
        self.write_logged(&format!("{document} {INSERT_CHUNKS}"), vars, change)
            .await
    }

    /// Runs `body` with `vars` in one transaction that appends `change` to the change log;
    /// returns the entry's number.
    pub(super) async fn write_logged(
        &self,
        body: &str,
        mut vars: Value,
        change: &Change,
    ) -> AppResult<u64> {
        change.bind(&mut vars);
        let mut response = self.query(&logged(body), vars).await?;
        value(&mut response, SEQ_STATEMENT)
    }

    /// One document of `collection`, optionally with its full text.
    pub async fn document(
        &self,
        collection: &str,
        id: &str,
        with_content: bool,
    ) -> AppResult<Option<Document>> {
        let content = if with_content { ", content" } else { "" };
        let sql = format!(
            "SELECT {DOCUMENT_FIELDS}{content} FROM type::record('document', $id) WHERE collection = $collection;"
        );
        let mut response = self
            .query(&sql, json!({ "id": id, "collection": collection }))
            .await?;
        Ok(rows(&mut response, 0)?.into_iter().next())
    }

    /// The collection holding document `id`, if it exists.
    pub async fn document_collection(&self, id: &str) -> AppResult<Option<String>> {
        let mut response = self
            .query(
                "SELECT VALUE collection FROM type::record('document', $id);",
                json!({ "id": id }),
            )
            .await?;
        Ok(rows(&mut response, 0)?.into_iter().next())
    }

    /// The document of `collection` whose external id is `external_id`.
    pub async fn document_by_external_id(
        &self,
        collection: &str,
        external_id: &str,
    ) -> AppResult<Option<Document>> {
        let sql = format!(
            "SELECT {DOCUMENT_FIELDS} FROM document WHERE collection = $collection AND external_id = $external_id LIMIT 1;"
        );
        let mut response = self
            .query(
                &sql,
                json!({ "collection": collection, "external_id": external_id }),
            )
            .await?;
        Ok(rows(&mut response, 0)?.into_iter().next())
    }

    /// A document of `collection` with exactly this content hash.
    pub async fn document_by_hash(
        &self,
        collection: &str,
        content_hash: &str,
    ) -> AppResult<Option<Document>> {
        let sql = format!(
            "SELECT {DOCUMENT_FIELDS} FROM document WHERE collection = $collection AND content_hash = $hash LIMIT 1;"
        );
        let mut response = self
            .query(
                &sql,
                json!({ "collection": collection, "hash": content_hash }),
            )
            .await?;
        Ok(rows(&mut response, 0)?.into_iter().next())
    }

    /// A page of documents in `collection` that match `filter`, oldest first.
    pub async fn list_documents(
        &self,
        collection: &str,
        filter: &MetadataFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<DocumentPage> {
        let mut vars = json!({ "collection": collection, "offset": offset, "limit": limit });
        let condition = filter.condition("metadata", &mut vars);
        let sql = format!(
            "SELECT {DOCUMENT_FIELDS} FROM document WHERE collection = $collection{condition} \
               ORDER BY created_at, id LIMIT $limit START $offset; \
             RETURN count(SELECT VALUE id FROM document WHERE collection = $collection{condition});"
        );
        let mut response = self.query(&sql, vars).await?;
        Ok(DocumentPage {
            documents: rows(&mut response, 0)?,
            total: value(&mut response, 1)?,
        })
    }

    /// The chunks of a document in order.
    pub async fn document_chunks(&self, id: &str) -> AppResult<Vec<ChunkInfo>> {
        let mut response = self
            .query(
                "SELECT record::id(id) AS id, position, path, char_start, char_end, text \
                 FROM chunk WHERE document = $id ORDER BY position;",
                json!({ "id": id }),
            )
            .await?;
        rows(&mut response, 0)
    }
}

/// The change-log entry of writing document `id`.
fn document_change(id: &str, doc: &PreparedDocument) -> Change {
    Change::Document {
        collection: doc.collection.clone(),
        document: id.to_string(),
    }
}

/// Bind variables for writing a document and its chunks (with their ids and embeddings).
fn document_vars(id: &str, doc: &PreparedDocument, version: u32) -> Value {
    let chunks: Vec<Value> = doc
        .chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut row = json!({
                "id": doc.chunk_ids[i],
                "document": id,
                "collection": doc.collection,
                "text": chunk.text,
                "position": chunk.position,
                "char_start": chunk.char_start,
                "char_end": chunk.char_end,
                "path": chunk.path,
            });
            if let Some(embedding) = doc.embeddings.get(i) {
                row["embedding"] = json!(to_wire(embedding));
            }
            row
        })
        .collect();
    let mut vars = json!({
        "id": id,
        "collection": doc.collection,
        "external_id": doc.external_id,
        "title": doc.title,
        "source": doc.source,
        "metadata": doc.metadata,
        "content": doc.content,
        "content_hash": doc.content_hash,
        "version": version,
        "chunk_count": doc.chunks.len(),
        "chunks": chunks,
    });
    // Absent variables read as NONE, which `option<...>` fields accept and NULL they do not.
    if let Value::Object(map) = &mut vars {
        map.retain(|_, v| !v.is_null());
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StorageConfig;
    use crate::model::Chunk;

    fn prepared(external_id: Option<&str>, text: &str) -> PreparedDocument {
        PreparedDocument {
            collection: "sfs".into(),
            external_id: external_id.map(str::to_string),
            title: "Lag (2019:1)".into(),
            source: None,
            metadata: std::collections::BTreeMap::default(),
            content: text.into(),
            content_hash: blake3::hash(text.as_bytes()).to_hex().to_string(),
            chunks: vec![Chunk {
                text: text.into(),
                position: 0,
                char_start: 0,
                char_end: text.len(),
                path: "1 §".into(),
            }],
            chunk_ids: vec![uuid::Uuid::now_v7().to_string()],
            embeddings: Vec::new(),
        }
    }

    async fn memory_store() -> Store {
        Store::open(&StorageConfig {
            url: "mem://".into(),
            ..StorageConfig::default()
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_second_insert_of_a_taken_external_id_or_identical_content_writes_nothing() {
        let store = memory_store().await;
        let first = prepared(Some("sfs-1"), "1 § Denna lag gäller.");
        let (_, seq) = store.insert_document("a", &first).await.unwrap().unwrap();
        let other_text = prepared(Some("sfs-1"), "1 § Denna lag gäller inte.");
        assert!(
            store
                .insert_document("b", &other_text)
                .await
                .unwrap()
                .is_none()
        );
        let anonymous = prepared(None, "2 § Anonym text.");
        store
            .insert_document("c", &anonymous)
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .insert_document("d", &anonymous)
                .await
                .unwrap()
                .is_none()
        );
        let other_id = prepared(Some("sfs-2"), "2 § Anonym text.");
        store
            .insert_document("e", &other_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store.log_head().await.unwrap(),
            seq + 2,
            "refused inserts log nothing"
        );
    }
    #[tokio::test]
    async fn vectors_are_stored_as_bytes_and_read_back_exactly_beside_arrays_stored_before() {
        let store = memory_store().await;
        let mut doc = prepared(None, "3 § Vektorer lagras som bytes.");
        let vector: std::sync::Arc<[f32]> = (0..384).map(|i| (i as f32).sin() / 3.0).collect();
        doc.embeddings = vec![vector.clone()];
        store.insert_document("v", &doc).await.unwrap().unwrap();
        // A chunk written before vectors were bytes holds an array of numbers.
        store
            .query(
                "CREATE chunk:old SET document = 'v', collection = 'sfs', text = '4 § Gammal.', \
                 position = 1, char_start = 0, char_end = 11, path = '4 §', embedding = [0.5, -0.25];",
                json!({}),
            )
            .await
            .unwrap();
        let stored_as_bytes = |store: Store| async move {
            let mut response = store
                .query(
                    "SELECT VALUE type::is_bytes(embedding) FROM chunk ORDER BY position;",
                    json!({}),
                )
                .await
                .unwrap();
            rows::<bool>(&mut response, 0).unwrap()
        };
        assert_eq!(stored_as_bytes(store.clone()).await, [true, false]);

        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let (_, by_collection) = store.index_rows("sfs").await.unwrap();
        let (_, by_document) = store.documents_for_index(&["v"]).await.unwrap();
        for rows in [by_collection, by_document] {
            let embedding_of = |id: &str| {
                rows.iter()
                    .find(|r| r.id == id)
                    .and_then(|r| r.embedding.clone())
                    .unwrap()
            };
            assert_eq!(bits(&embedding_of(&doc.chunk_ids[0])), bits(&vector));
            assert_eq!(embedding_of("old"), [0.5, -0.25]);
        }
        // Re-embedding writes bytes.
        store.set_embeddings(&[("old", &[1.0, 2.0])]).await.unwrap();
        assert_eq!(stored_as_bytes(store.clone()).await, [true, true]);
        let (_, rows) = store.documents_for_index(&["v"]).await.unwrap();
        assert_eq!(
            rows[1].embedding.as_deref(),
            Some([1.0_f32, 2.0].as_slice())
        );
    }
}
