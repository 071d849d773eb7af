//! `/v1/keys`: create, list and revoke API keys (admin role).

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use super::dto::keys::{ApiKey, Role};
use super::problem::ApiError;
use super::strict_json::StrictJson;
use crate::auth::KeyRing;

/// Request to create a key.
#[derive(Debug, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// A name for humans, e.g. the client that will use the key: 1–64 characters.
    #[oai(validator(min_length = 1, max_length = 64))]
    pub name: String,
    /// What the key may do.
    pub role: Role,
}

/// A new key with its secret, which is shown only in this response.
#[derive(Debug, Object)]
pub struct CreatedKey {
    /// The secret to send as `Authorization: Bearer <key>` or `X-API-Key: <key>`; the server
    /// keeps only a digest of it and cannot show it again.
    pub key: String,
    /// The key's record.
    #[oai(flatten)]
    pub record: ApiKey,
}

/// Every key.
#[derive(Debug, Object)]
pub struct KeyList {
    /// Keys, revoked ones included, oldest first; never their secrets.
    pub keys: Vec<ApiKey>,
}

/// Result of creating a key.
#[derive(Debug, ApiResponse)]
pub enum KeyCreated {
    /// The key was created.
    #[oai(status = 201)]
    Created(Json<CreatedKey>),
}

/// Key management routes.
pub struct KeysApi {
    /// The server's keys.
    pub keys: Arc<KeyRing>,
}

#[OpenApi]
impl KeysApi {
    /// Create an API key; the response is the only place its secret appears.
    #[oai(path = "/v1/keys", method = "post", tag = "ApiTags::Keys")]
    async fn create(&self, body: StrictJson<CreateKey>) -> Result<KeyCreated, ApiError> {
        let (record, key) = self.keys.create(&body.name, body.role.into()).await?;
        Ok(KeyCreated::Created(Json(CreatedKey {
            key,
            record: record.into(),
        })))
    }

    /// List API keys (never their secrets).
    #[oai(path = "/v1/keys", method = "get", tag = "ApiTags::Keys")]
    async fn list(&self) -> Result<Json<KeyList>, ApiError> {
        Ok(Json(KeyList {
            keys: self
                .keys
                .list()
                .await?
                .into_iter()
                .map(ApiKey::from)
                .collect(),
        }))
    }

    /// Revoke an API key: requests with it get 401 from now on. The record stays, with
    /// `revoked_at` set; revoking it again changes nothing.
    #[oai(path = "/v1/keys/:id", method = "delete", tag = "ApiTags::Keys")]
    async fn revoke(&self, id: Path<String>) -> Result<Json<ApiKey>, ApiError> {
        Ok(Json(self.keys.revoke(&id).await?.into()))
    }
}
