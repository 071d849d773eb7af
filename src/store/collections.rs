//! Collection rows.

use serde_json::json;

use super::change_log::Change;
use super::{Store, rows};
use crate::error::{AppError, AppResult};
use crate::model::{Collection, Language};

/// Fields selected for a collection. Counting its documents and chunks here would scan them
/// on every read; the service takes the counts from the search index instead.
const COLLECTION_FIELDS: &str =
    "name, description, language, embedding_model, embedding_dimension, created_at";

impl Store {
    /// Creates a collection with its change-log entry; fails with a conflict when the name
    /// is taken. Returns it and the entry's number.
    pub async fn create_collection(
        &self,
        name: &str,
        description: &str,
        language: Language,
        embedding_model: &str,
        embedding_dimension: u32,
    ) -> AppResult<(Collection, u64)> {
        let result = self
            .write_logged(
                "CREATE type::record('collection', $name) SET name = $name, description = $description, \
                 language = $language, embedding_model = $model, embedding_dimension = $dimension, \
                 created_at = time::now();",
                json!({
                    "name": name,
                    "description": description,
                    "language": language,
                    "model": embedding_model,
                    "dimension": embedding_dimension,
                }),
                &Change::CollectionCreated {
                    collection: name.to_string(),
                },
            )
            .await;
        match result {
            Ok(seq) => {
                let collection = self
                    .collection(name)
                    .await?
                    .ok_or_else(|| AppError::Internal("collection vanished after create".into()))?;
                Ok((collection, seq))
            }
            Err(AppError::Internal(msg)) if msg.contains("already exists") => Err(
                AppError::Conflict(format!("collection '{name}' already exists")),
            ),
            Err(err) => Err(err),
        }
    }

    /// One collection by name (counts left at 0).
    pub async fn collection(&self, name: &str) -> AppResult<Option<Collection>> {
        let sql =
            format!("SELECT {COLLECTION_FIELDS} FROM ONLY type::record('collection', $name);");
        let mut response = self.query(&sql, json!({ "name": name })).await?;
        let value: surrealdb::types::Value = response.take(0)?;
        match value.into_json_value() {
            serde_json::Value::Null => Ok(None),
            found => serde_json::from_value(found)
                .map(Some)
                .map_err(|e| AppError::Internal(format!("decode collection: {e}"))),
        }
    }

    /// Every collection, by name (counts left at 0).
    pub async fn collections(&self) -> AppResult<Vec<Collection>> {
        let sql = format!("SELECT {COLLECTION_FIELDS} FROM collection ORDER BY name;");
        let mut response = self.query(&sql, json!({})).await?;
        rows(&mut response, 0)
    }

    /// Deletes a collection with all its documents and chunks in one transaction, with its
    /// change-log entry; returns the entry's number, or `None` when it did not exist.
    pub async fn delete_collection(&self, name: &str) -> AppResult<Option<u64>> {
        let result = self
            .write_logged(
                "IF record::exists(type::record('collection', $name)) = false { THROW 'no such collection' }; \
                 DELETE chunk WHERE collection = $name; \
                 DELETE document WHERE collection = $name; \
                 DELETE type::record('collection', $name);",
                json!({ "name": name }),
                &Change::CollectionDeleted {
                    collection: name.to_string(),
                },
            )
            .await;
        match result {
            Ok(seq) => Ok(Some(seq)),
            Err(err) if err.to_string().contains("no such collection") => Ok(None),
            Err(err) => Err(err),
        }
    }
}
