//! Schema migrations: the files of `schema/`, applied once each, in order.

use serde_json::json;

use super::{Store, rows};
use crate::error::AppResult;

/// Every migration, in the order it must be applied. Names are recorded once applied.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../schema/0001_init.surql")),
    (
        "0002_in_process_search",
        include_str!("../../schema/0002_in_process_search.surql"),
    ),
    (
        "0003_api_keys",
        include_str!("../../schema/0003_api_keys.surql"),
    ),
    (
        "0004_change_log",
        include_str!("../../schema/0004_change_log.surql"),
    ),
    (
        "0005_store_identity",
        include_str!("../../schema/0005_store_identity.surql"),
    ),
    (
        "0006_vector_bytes",
        include_str!("../../schema/0006_vector_bytes.surql"),
    ),
];

/// Applies the migrations not yet recorded in `schema_version`, each in its own transaction
/// that first creates the record `schema_version:<name>`: when several servers start on one
/// database at once, exactly one transaction per migration commits; the others fail on that
/// record (or lose the write conflict) and roll back, and find the migration applied.
pub(super) async fn apply(store: &Store) -> AppResult<()> {
    store
        .query(
            "DEFINE TABLE IF NOT EXISTS schema_version SCHEMALESS;",
            json!({}),
        )
        .await?;
    for (name, sql) in MIGRATIONS {
        if applied(store).await?.iter().any(|a| a == name) {
            continue;
        }
        tracing::info!(migration = name, "applying schema migration");
        let script = format!(
            "BEGIN TRANSACTION;\nCREATE type::record('schema_version', $name) SET name = $name, \
             applied_at = time::now();\n{sql}\nCOMMIT TRANSACTION;"
        );
        if let Err(err) = store.query(&script, json!({ "name": name })).await {
            if applied(store).await?.iter().any(|a| a == name) {
                tracing::info!(migration = name, "applied by another server meanwhile");
            } else {
                return Err(err);
            }
        }
    }
    Ok(())
}

/// The names of the migrations applied so far.
async fn applied(store: &Store) -> AppResult<Vec<String>> {
    let mut response = store
        .query("SELECT VALUE name FROM schema_version;", json!({}))
        .await?;
    rows(&mut response, 0)
}
