//! The keys of a running server: creating, listing and revoking them, and telling who a
//! request's key belongs to, with a short-lived cache so that most requests cost no query.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::secret::{self, Digest};
use crate::error::{AppError, AppResult};
use crate::model::{ApiKey, Role};
use crate::store::Store;

/// How long a verified key is trusted without asking the database again; bounds how late a
/// revocation made by another server on the same database takes effect.
const VERIFIED_TTL: Duration = Duration::from_secs(10);

/// How long the answer to "does any active key exist?" is reused.
const ACTIVE_TTL: Duration = Duration::from_secs(5);

/// Least time between two writes of a key's `last_used_at`.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// Longest key name, in characters.
const MAX_NAME_CHARS: usize = 64;

/// Who sent a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Anyone: authentication is off (no active key, nothing requires one).
    Anonymous,
    /// The holder of an active key.
    Key {
        /// The key's id.
        id: String,
        /// The key's role.
        role: Role,
    },
}

/// Why a request's key was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The request carries no key.
    Missing,
    /// No key has this secret.
    Unknown,
    /// The key was revoked.
    Revoked,
}

/// The key service; share one per server.
pub struct KeyRing {
    store: Store,
    always_required: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Active keys by the digest of their secret, with when they were read.
    verified: HashMap<Digest, (Caller, Instant)>,
    /// When each key's `last_used_at` was last written, by key id.
    touched: HashMap<String, Instant>,
    /// Whether an active key exists, and when that was read.
    any_active: Option<(bool, Instant)>,
}

impl KeyRing {
    /// Keys in `store`; `always_required` demands a key even while none exists.
    pub fn new(store: Store, always_required: bool) -> Self {
        Self {
            store,
            always_required,
            state: Mutex::default(),
        }
    }

    /// Creates a key; returns its record and its secret, which is not stored and cannot be
    /// shown again.
    pub async fn create(&self, name: &str, role: Role) -> AppResult<(ApiKey, String)> {
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(AppError::invalid(
                "invalid_key_name",
                format!(
                    "a key name is 1 to {MAX_NAME_CHARS} characters without control characters"
                ),
            ));
        }
        let key = secret::generate()?;
        let id = uuid::Uuid::now_v7().to_string();
        let record = self
            .store
            .insert_api_key(&id, name, role, &Digest::of(&key).to_hex())
            .await?;
        self.state().any_active = Some((true, Instant::now()));
        Ok((record, key))
    }

    /// Every key, revoked ones included, oldest first.
    pub async fn list(&self) -> AppResult<Vec<ApiKey>> {
        self.store.api_keys().await
    }

    /// Revokes key `id`; it is refused from now on (by other servers on the same database
    /// within [`VERIFIED_TTL`]). Revoking a revoked key changes nothing.
    pub async fn revoke(&self, id: &str) -> AppResult<ApiKey> {
        let record = self
            .store
            .revoke_api_key(id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("api key '{id}'")))?;
        let mut state = self.state();
        state
            .verified
            .retain(|_, (caller, _)| !matches!(caller, Caller::Key { id: key, .. } if key == id));
        state.any_active = None;
        Ok(record)
    }

    /// Whether requests must carry a key right now.
    pub async fn required(&self) -> AppResult<bool> {
        if self.always_required {
            return Ok(true);
        }
        let cached = self.state().any_active;
        match cached {
            Some((active, read)) if read.elapsed() < ACTIVE_TTL => Ok(active),
            _ => {
                let active = self.store.any_active_api_key().await?;
                self.state().any_active = Some((active, Instant::now()));
                Ok(active)
            }
        }
    }

    /// Who sends `key` (the secret from a request's headers, if any).
    pub async fn identify(&self, key: Option<&str>) -> AppResult<Result<Caller, Rejection>> {
        let Some(key) = key else {
            return Ok(if self.required().await? {
                Err(Rejection::Missing)
            } else {
                Ok(Caller::Anonymous)
            });
        };
        let digest = Digest::of(key);
        let cached = self.state().verified.get(&digest).cloned();
        let caller = match cached {
            Some((caller, read)) if read.elapsed() < VERIFIED_TTL => caller,
            // The database finds the row by its indexed digest; whether the key matches is
            // decided by a constant-time comparison of the whole digest.
            _ => match self
                .store
                .api_key_by_digest(&digest.to_hex())
                .await?
                .filter(|(_, stored)| Digest::from_hex(stored) == Some(digest))
                .map(|(record, _)| record)
            {
                Some(record) if record.revoked_at.is_none() => {
                    let caller = Caller::Key {
                        id: record.id,
                        role: record.role,
                    };
                    let mut state = self.state();
                    state
                        .verified
                        .retain(|_, (_, read)| read.elapsed() < VERIFIED_TTL);
                    state
                        .verified
                        .insert(digest, (caller.clone(), Instant::now()));
                    caller
                }
                _ if !self.required().await? => return Ok(Ok(Caller::Anonymous)),
                Some(_) => return Ok(Err(Rejection::Revoked)),
                None => return Ok(Err(Rejection::Unknown)),
            },
        };
        if let Caller::Key { id, .. } = &caller {
            self.touch(id);
        }
        Ok(Ok(caller))
    }

    /// Writes key `id`'s `last_used_at` in the background, at most once per [`TOUCH_INTERVAL`].
    fn touch(&self, id: &str) {
        {
            let mut state = self.state();
            let now = Instant::now();
            match state.touched.get(id) {
                Some(written) if now.duration_since(*written) < TOUCH_INTERVAL => return,
                _ => state.touched.insert(id.to_string(), now),
            };
        }
        let store = self.store.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            if let Err(err) = store.touch_api_key(&id).await {
                tracing::warn!(key = %id, error = %err, "cannot record the key's last use");
            }
        });
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("key ring lock poisoned")
    }
}
