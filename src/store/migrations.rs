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
];

/// Applies the migrations not yet recorded in `schema_version`, each in its own transaction.
pub(super) async fn apply(store: &Store) -> AppResult<()> {
    let mut response = store
        .query(
            "DEFINE TABLE IF NOT EXISTS schema_version SCHEMALESS; \
             SELECT VALUE name FROM schema_version;",
            json!({}),
        )
        .await?;
    let applied: Vec<String> = rows(&mut response, 1)?;
    for (name, sql) in MIGRATIONS {
        if applied.iter().any(|a| a == name) {
            continue;
        }
        tracing::info!(migration = name, "applying schema migration");
        let script = format!(
            "BEGIN TRANSACTION;\n{sql}\nCREATE schema_version SET name = $name, applied_at = time::now();\nCOMMIT TRANSACTION;"
        );
        store.query(&script, json!({ "name": name })).await?;
    }
    Ok(())
}
