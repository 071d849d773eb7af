//! API key records and roles as the key routes show them.

use chrono::{DateTime, Utc};
use poem_openapi::Object;

use super::mirror_enum;

mirror_enum! {
    /// What a key may do; each role includes the ones below it.
    #[serde(rename_all = "lowercase")]
    #[oai(rename_all = "lowercase")]
    pub enum Role mirrors model::Role {
        /// Search, answer, chat, embeddings, rerank, models, and reading collections and documents.
        Reader,
        /// Reader, plus document writes, bulk ingest and reindexing.
        Writer,
        /// Writer, plus creating and deleting collections and managing keys.
        Admin,
    }
}

/// An API key's record; never its secret.
#[derive(Debug, Clone, Object)]
pub struct ApiKey {
    /// Stable identifier, used to revoke the key.
    pub id: String,
    /// Name given at creation, for humans.
    pub name: String,
    /// What the key may do.
    pub role: Role,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last accepted (updated at most once a minute per key); absent if never.
    #[oai(skip_serializing_if_is_none)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; absent while the key is active.
    #[oai(skip_serializing_if_is_none)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<crate::model::ApiKey> for ApiKey {
    fn from(key: crate::model::ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name,
            role: key.role.into(),
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}
