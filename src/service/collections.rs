//! Collection operations.

use super::{Library, validate};
use crate::error::{AppError, AppResult};
use crate::model::{Collection, Language};

/// Longest accepted collection description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 2_000;

impl Library {
    /// Creates a collection; the name must be valid and unused.
    pub async fn create_collection(
        &self,
        name: &str,
        description: &str,
        language: Language,
    ) -> AppResult<Collection> {
        validate::collection_name(name)?;
        validate::optional_text("description", description, MAX_DESCRIPTION_CHARS)?;
        let _guard = self.lock_collection(name).await;
        let model = self.encoders.for_language(language).info();
        let (collection, version) = self
            .store
            .create_collection(
                name,
                description,
                language,
                &model.model_id,
                model.dimension as u32,
            )
            .await?;
        self.await_applied(version, None).await;
        Ok(collection)
    }

    /// One collection with its counts, or 404.
    pub async fn collection(&self, name: &str) -> AppResult<Collection> {
        validate::collection_name(name)?;
        let records = self.catalog.records(&self.store).await?;
        let collection = records
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .ok_or_else(|| AppError::not_found(format!("collection '{name}'")))?;
        Ok(self.with_counts(collection))
    }

    /// Every collection with its counts.
    pub async fn collections(&self) -> AppResult<Vec<Collection>> {
        let records = self.catalog.records(&self.store).await?;
        Ok(records
            .iter()
            .cloned()
            .map(|c| self.with_counts(c))
            .collect())
    }

    /// `collection` with its document and chunk counts from the search index, which holds
    /// exactly the stored documents at the corpus version (see `follow.rs`).
    fn with_counts(&self, mut collection: Collection) -> Collection {
        if let Some(index) = self.index.collection(&collection.name) {
            let index = index.read().expect("index lock");
            collection.document_count = index.document_count() as u64;
            collection.chunk_count = index.chunk_count() as u64;
        }
        collection
    }

    /// Deletes a collection and everything in it, or 404.
    pub async fn delete_collection(&self, name: &str) -> AppResult<()> {
        validate::collection_name(name)?;
        let _guard = self.lock_collection(name).await;
        match self.store.delete_collection(name).await? {
            Some(version) => {
                self.await_applied(version, None).await;
                Ok(())
            }
            None => Err(AppError::not_found(format!("collection '{name}'"))),
        }
    }
}
