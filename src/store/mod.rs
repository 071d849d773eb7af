//! SurrealDB access: connection, schema migrations and typed queries.

mod change_log;
mod collections;
mod documents;
mod keys;
mod migrations;
mod search;
mod vector_bytes;

pub use change_log::{Change, LogEntry};
pub use search::{IndexRow, IndexedDocumentRow, MetadataFilter};

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use surrealdb::IndexedResults;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;

use crate::config::{StorageConfig, StoreUserLevel};
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
    /// Connects to `config.url` (signing in to a remote store), selects the namespace and
    /// database and applies pending migrations from `schema/`.
    pub async fn open(config: &StorageConfig) -> AppResult<Self> {
        if let Some(dir) = config.url.strip_prefix("surrealkv://") {
            std::fs::create_dir_all(dir).map_err(|e| {
                AppError::Unavailable(format!("cannot create data directory {dir}: {e}"))
            })?;
        }
        let connecting = surrealdb::engine::any::connect(config.url.as_str());
        let db = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| {
                AppError::Unavailable(format!(
                    "cannot open database {}: no answer within {} s",
                    config.url,
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| open_error(&config.url, e))?;
        sign_in(&db, config).await?;
        // Selecting a namespace or database that does not exist yet defines it: servers
        // starting together on a fresh store conflict there too.
        retry_conflicts(|| async {
            db.use_ns(config.namespace.as_str())
                .use_db(config.database.as_str())
                .await
                .map_err(AppError::from)
        })
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
    /// A script that lost a write conflict to another transaction is run again, after a
    /// jittered pause, up to [`CONFLICT_RETRIES`] times: every script here is one transaction
    /// (`BEGIN …`), which then committed nothing, or statements that may run twice.
    async fn query(&self, sql: &str, vars: serde_json::Value) -> AppResult<IndexedResults> {
        retry_conflicts(|| self.query_once(sql, vars.clone())).await
    }

    async fn query_once(&self, sql: &str, vars: serde_json::Value) -> AppResult<IndexedResults> {
        let started = Instant::now();
        let response = self.db.query(sql).bind(vars).await;
        if let Some(latency) = self.latency.get() {
            latency
                .with(&[statement_kind(sql)])
                .observe(started.elapsed().as_secs_f64());
        }
        let mut response = response?;
        let mut errors: Vec<(usize, surrealdb::Error)> =
            response.take_errors().into_iter().collect();
        if errors.is_empty() {
            return Ok(response);
        }
        // In a failed transaction every statement reports an error; the cause is the first
        // one that is not merely "not executed".
        errors.sort_by_key(|(index, _)| *index);
        let cause = errors
            .iter()
            .position(|(_, err)| !err.to_string().contains(NOT_EXECUTED))
            .unwrap_or(0);
        Err(errors.swap_remove(cause).1.into())
    }

    /// Answers whether the database responds to a trivial query.
    pub async fn ping(&self) -> AppResult<()> {
        self.query("RETURN 1;", serde_json::json!({})).await?;
        Ok(())
    }
}

/// Longest wait for a store to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How SurrealDB reports the statements of a failed transaction other than its cause.
const NOT_EXECUTED: &str = "not executed due to a failed transaction";
/// Runs of a transaction that keeps losing write conflicts before its error is returned.
const CONFLICT_RETRIES: u32 = 12;

/// Runs `attempt` until it does not lose a write conflict (at most [`CONFLICT_RETRIES`]
/// more times), pausing a jittered, growing while between runs.
async fn retry_conflicts<T, F>(mut attempt: impl FnMut() -> F) -> AppResult<T>
where
    F: Future<Output = AppResult<T>>,
{
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(err) if retries < CONFLICT_RETRIES && is_conflict(&err) => {
                retries += 1;
                tokio::time::sleep(conflict_pause(retries)).await;
            }
            result => return result,
        }
    }
}

/// Whether `err` is a transaction that lost a conflict and may simply be run again.
fn is_conflict(err: &AppError) -> bool {
    err.to_string().contains("can be retried")
}

/// A pause before retry `attempt`: up to 2 ms doubling per attempt (at most 256 ms), of
/// which a random half, so that colliding writers spread out.
fn conflict_pause(attempt: u32) -> Duration {
    let ceiling = Duration::from_millis(2 << attempt.min(7));
    let mut byte = [0u8; 1];
    let fraction = match getrandom::fill(&mut byte) {
        Ok(()) => f64::from(byte[0]) / 255.0,
        Err(_) => 1.0,
    };
    ceiling.mul_f64(0.5 + 0.5 * fraction)
}

/// Signs in to a remote store as `config` says (a user or a token); nothing for local ones.
/// Errors name the URL and the user, never the secret.
async fn sign_in(db: &Surreal<Any>, config: &StorageConfig) -> AppResult<()> {
    use surrealdb::opt::auth::{Database, Namespace, Root};
    let failed = |e: surrealdb::Error| {
        AppError::Unavailable(format!(
            "cannot sign in to the database at {} as '{}': {e}",
            config.url, config.username
        ))
    };
    if !config.token.is_empty() {
        db.authenticate(config.token.expose().to_string())
            .await
            .map_err(|e| {
                AppError::Unavailable(format!(
                    "the database at {} refused the token (storage.token): {e}",
                    config.url
                ))
            })?;
        return Ok(());
    }
    if config.username.is_empty() {
        return Ok(());
    }
    let (username, password) = (
        config.username.clone(),
        config.password.expose().to_string(),
    );
    match config.user_level {
        StoreUserLevel::Root => db.signin(Root { username, password }).await,
        StoreUserLevel::Namespace => {
            db.signin(Namespace {
                namespace: config.namespace.clone(),
                username,
                password,
            })
            .await
        }
        StoreUserLevel::Database => {
            db.signin(Database {
                namespace: config.namespace.clone(),
                database: config.database.clone(),
                username,
                password,
            })
            .await
        }
    }
    .map_err(failed)?;
    Ok(())
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
