//! SurrealDB access: connection, schema migrations and typed queries.

mod collections;
mod documents;
mod keys;
mod migrations;
mod search;

pub use search::{IndexRow, MetadataFilter};

use serde::de::DeserializeOwned;
use surrealdb::IndexedResults;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;

use crate::config::StorageConfig;
use crate::error::{AppError, AppResult};

/// A cheap-to-clone handle on the database.
#[derive(Clone)]
pub struct Store {
    db: Surreal<Any>,
}

impl Store {
    /// Connects to `config.url`, selects the namespace and database and applies pending
    /// migrations from `schema/`.
    pub async fn open(config: &StorageConfig) -> AppResult<Self> {
        if let Some(dir) = config.url.strip_prefix("surrealkv://") {
            std::fs::create_dir_all(dir).map_err(|e| {
                AppError::Unavailable(format!("cannot create data directory {dir}: {e}"))
            })?;
        }
        let db = surrealdb::engine::any::connect(config.url.as_str())
            .await
            .map_err(|e| open_error(&config.url, e))?;
        db.use_ns(config.namespace.as_str())
            .use_db(config.database.as_str())
            .await?;
        let store = Store { db };
        migrations::apply(&store).await?;
        Ok(store)
    }

    /// Runs `sql` with `vars` bound (a JSON object) and fails on the first statement error.
    async fn query(&self, sql: &str, vars: serde_json::Value) -> AppResult<IndexedResults> {
        let response = self.db.query(sql).bind(vars).await?;
        Ok(response.check()?)
    }

    /// Answers whether the database responds to a trivial query.
    pub async fn ping(&self) -> AppResult<()> {
        self.query("RETURN 1;", serde_json::json!({})).await?;
        Ok(())
    }
}

/// Explains the common reason an on-disk database cannot be opened.
fn open_error(url: &str, err: surrealdb::Error) -> AppError {
    let text = err.to_string();
    if text.to_ascii_lowercase().contains("lock") {
        AppError::Unavailable(format!(
            "the database at {url} is in use by another process (is the server running? \
             stop it or ingest through its HTTP API): {text}"
        ))
    } else {
        AppError::Unavailable(format!("cannot open database {url}: {text}"))
    }
}

/// Decodes the rows of statement `index` into `T`.
fn rows<T: DeserializeOwned>(response: &mut IndexedResults, index: usize) -> AppResult<Vec<T>> {
    let values: Vec<serde_json::Value> = response.take(index)?;
    values
        .into_iter()
        .map(|v| serde_json::from_value(v).map_err(|e| AppError::Internal(format!("decode: {e}"))))
        .collect()
}

/// Decodes the single value of statement `index` (e.g. `RETURN count(...)`).
fn value<T: DeserializeOwned>(response: &mut IndexedResults, index: usize) -> AppResult<T> {
    let value: surrealdb::types::Value = response.take(index)?;
    serde_json::from_value(value.into_json_value())
        .map_err(|e| AppError::Internal(format!("decode: {e}")))
}
