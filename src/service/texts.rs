//! The documents of a collection with their text, for what is derived from whole documents
//! (the names a question may call them by).

use futures::future::try_join_all;

use super::documents::MAX_PAGE_SIZE;
use super::{Library, validate};
use crate::error::AppResult;
use crate::model::Document;
use crate::store::MetadataFilter;

/// Documents fetched with their text at once.
const TEXTS_AT_ONCE: usize = 16;

impl Library {
    /// Every document of `collection`, oldest first, with its text in `content`.
    pub async fn document_texts(&self, collection: &str) -> AppResult<Vec<Document>> {
        validate::collection_name(collection)?;
        let everything = MetadataFilter::default();
        let mut listed = Vec::new();
        loop {
            let page = self
                .store
                .list_documents(
                    collection,
                    &everything,
                    listed.len() as u64,
                    u64::from(MAX_PAGE_SIZE),
                )
                .await?;
            let done = page.documents.len() < MAX_PAGE_SIZE as usize;
            listed.extend(page.documents);
            if done {
                break;
            }
        }
        let mut texts = Vec::with_capacity(listed.len());
        for batch in listed.chunks(TEXTS_AT_ONCE) {
            let fetched = try_join_all(
                batch
                    .iter()
                    .map(|document| self.store.document(collection, &document.id, true)),
            )
            .await?;
            texts.extend(fetched.into_iter().flatten());
        }
        Ok(texts)
    }
}
