//! API key rows: metadata and the digest of each secret, never the secret.

use serde_json::json;

use super::{Store, rows, value};
use crate::error::{AppError, AppResult};
use crate::model::{ApiKey, Role};

/// Fields selected for a key (its digest stays in the database).
const KEY_FIELDS: &str = "record::id(id) AS id, name, role, created_at, last_used_at, revoked_at";

/// A key's row with its digest.
#[derive(serde::Deserialize)]
struct StoredKey {
    #[serde(flatten)]
    key: ApiKey,
    digest: String,
}

impl Store {
    /// Stores a new key under `id` with the digest of its secret.
    pub async fn insert_api_key(
        &self,
        id: &str,
        name: &str,
        role: Role,
        digest: &str,
    ) -> AppResult<ApiKey> {
        let sql = format!(
            "CREATE type::record('api_key', $id) SET name = $name, role = $role, digest = $digest, \
             created_at = time::now() RETURN {KEY_FIELDS};"
        );
        let mut response = self
            .query(
                &sql,
                json!({ "id": id, "name": name, "role": role.as_str(), "digest": digest }),
            )
            .await?;
        rows(&mut response, 0)?
            .pop()
            .ok_or_else(|| AppError::Internal("api key vanished after create".into()))
    }

    /// Every key, oldest first.
    pub async fn api_keys(&self) -> AppResult<Vec<ApiKey>> {
        let sql = format!("SELECT {KEY_FIELDS} FROM api_key ORDER BY created_at, id;");
        let mut response = self.query(&sql, json!({})).await?;
        rows(&mut response, 0)
    }

    /// The key whose secret has `digest`, revoked or not, with the digest as stored (for the
    /// caller's own constant-time comparison).
    pub async fn api_key_by_digest(&self, digest: &str) -> AppResult<Option<(ApiKey, String)>> {
        let sql =
            format!("SELECT {KEY_FIELDS}, digest FROM api_key WHERE digest = $digest LIMIT 1;");
        let mut response = self.query(&sql, json!({ "digest": digest })).await?;
        Ok(rows::<StoredKey>(&mut response, 0)?
            .pop()
            .map(|row| (row.key, row.digest)))
    }

    /// Revokes key `id` (keeping the first revocation time); `None` when there is no such key.
    pub async fn revoke_api_key(&self, id: &str) -> AppResult<Option<ApiKey>> {
        let sql = format!(
            "UPDATE type::record('api_key', $id) SET revoked_at = time::now() \
               WHERE revoked_at = NONE RETURN NONE; \
             SELECT {KEY_FIELDS} FROM type::record('api_key', $id);"
        );
        let mut response = self.query(&sql, json!({ "id": id })).await?;
        Ok(rows(&mut response, 1)?.pop())
    }

    /// Records that key `id` was just used.
    pub async fn touch_api_key(&self, id: &str) -> AppResult<()> {
        self.query(
            "UPDATE type::record('api_key', $id) SET last_used_at = time::now() RETURN NONE;",
            json!({ "id": id }),
        )
        .await?;
        Ok(())
    }

    /// Whether any key is not revoked.
    pub async fn any_active_api_key(&self) -> AppResult<bool> {
        let mut response = self
            .query(
                "RETURN count(SELECT VALUE id FROM api_key WHERE revoked_at = NONE LIMIT 1) > 0;",
                json!({}),
            )
            .await?;
        value(&mut response, 0)
    }
}
