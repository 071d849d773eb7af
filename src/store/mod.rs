//! SurrealDB access: connection, schema migrations and typed queries.

mod collections;
mod documents;
mod keys;
mod migrations;
mod search;

pub use search::{IndexRow, MetadataFilter};

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use serde::de::DeserializeOwned;
use surrealdb::IndexedResults;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;

use crate::config::StorageConfig;
use crate::error::{AppError, AppResult};
use crate::ops::{Family, Histogram, LATENCY_BUCKETS, Registry};

/// Statement kinds that label query latencies; any other first keyword is `other`.
const STATEMENT_KINDS: [&str; 9] = [
    "select", "create", "upsert", "update", "delete", "begin", "return", "define", "let",
];

/// A cheap-to-clone handle on the database.
#[derive(Clone)]
pub struct Store {
    db: Surreal<Any>,
    latency: Arc<OnceLock<Arc<Family<Histogram>>>>,
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
        let store = Store {
            db,
            latency: Arc::default(),
        };
        migrations::apply(&store).await?;
        Ok(store)
    }

    /// Records every later query's latency in `registry`, by the kind of its first statement.
    /// Only the first call on a store (and its clones) registers.
    pub fn record_latency_in(&self, registry: &Registry) {
        self.latency.get_or_init(|| {
            registry.histogram(
                "crag_db_query_duration_seconds",
                "Time of each database round trip (a query of one or more statements), by \
                 the kind of its first statement.",
                &["statement"],
                LATENCY_BUCKETS,
            )
        });
    }

    /// Runs `sql` with `vars` bound (a JSON object) and fails on the first statement error.
    async fn query(&self, sql: &str, vars: serde_json::Value) -> AppResult<IndexedResults> {
        let started = Instant::now();
        let response = self.db.query(sql).bind(vars).await;
        if let Some(latency) = self.latency.get() {
            latency
                .with(&[statement_kind(sql)])
                .observe(started.elapsed().as_secs_f64());
        }
        Ok(response?.check()?)
    }

    /// Answers whether the database responds to a trivial query.
    pub async fn ping(&self) -> AppResult<()> {
        self.query("RETURN 1;", serde_json::json!({})).await?;
        Ok(())
    }
}

/// The lower-case first keyword of `sql` when it is one of [`STATEMENT_KINDS`], else `other`.
fn statement_kind(sql: &str) -> &'static str {
    let first = sql
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|word| !word.is_empty())
        .unwrap_or("");
    STATEMENT_KINDS
        .into_iter()
        .find(|kind| kind.eq_ignore_ascii_case(first))
        .unwrap_or("other")
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

#[cfg(test)]
mod tests {
    use super::statement_kind;

    #[test]
    fn statements_are_labelled_by_their_first_keyword() {
        assert_eq!(statement_kind("SELECT * FROM x;"), "select");
        assert_eq!(statement_kind("\n  BEGIN TRANSACTION; DELETE x;"), "begin");
        assert_eq!(statement_kind("return 1;"), "return");
        assert_eq!(statement_kind("INFO FOR DB;"), "other");
        assert_eq!(statement_kind(""), "other");
    }
}
