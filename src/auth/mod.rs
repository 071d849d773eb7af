//! API keys and roles: keys are random secrets shown once and stored only as a digest; each
//! has a role, and each route needs at least some role (see `api::middleware::access`).
//!
//! Authentication is on while at least one active key exists, or always when
//! `[auth] required` is set or the server listens beyond loopback (see [`exposure`]).

pub mod cli;
pub mod exposure;
mod keyring;
mod secret;

pub use keyring::{Caller, KeyRing, Rejection};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a key may do; each role includes the ones below it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Search, answer, chat, embeddings, rerank, models, and reading collections and documents.
    Reader,
    /// Reader, plus document writes, bulk ingest and reindexing.
    Writer,
    /// Writer, plus creating and deleting collections and managing keys.
    Admin,
}

impl Role {
    /// The role's name as in requests and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Admin => "admin",
        }
    }
}

/// An API key's record; never its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; absent while the key is active.
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}
