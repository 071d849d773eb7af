//! `/v1/collections`: create, list, get, delete.

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use super::dto::collection::{Collection, Language, ReindexSummary};
use super::problem::ApiError;
use super::strict_json::StrictJson;
use crate::service::Library;

/// Request to create a collection.
#[derive(Debug, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCollection {
    /// Unique name: 1–64 characters from `a-z`, `0-9`, `_`, `-`, starting with a letter or digit.
    #[oai(validator(min_length = 1, max_length = 64))]
    pub name: String,
    /// Free text for humans.
    #[oai(default)]
    #[serde(default)]
    pub description: String,
    /// Analyzer language for BM25 (default `english`).
    #[oai(default)]
    #[serde(default)]
    pub language: Language,
}

/// All collections.
#[derive(Debug, Object)]
pub struct CollectionList {
    /// Collections ordered by name, with counts.
    pub collections: Vec<Collection>,
}

/// Result of creating a collection.
#[derive(Debug, ApiResponse)]
pub enum CollectionCreated {
    /// The collection was created.
    #[oai(status = 201)]
    Created(Json<Collection>),
}

/// Result of deleting a collection.
#[derive(Debug, ApiResponse)]
pub enum CollectionDeleted {
    /// The collection and everything in it are gone.
    #[oai(status = 204)]
    Deleted,
}

/// Collection routes.
pub struct CollectionsApi {
    /// The service behind the routes.
    pub library: Library,
}

#[OpenApi]
impl CollectionsApi {
    /// Create a collection.
    #[oai(
        path = "/v1/collections",
        method = "post",
        tag = "ApiTags::Collections"
    )]
    async fn create(
        &self,
        body: StrictJson<CreateCollection>,
    ) -> Result<CollectionCreated, ApiError> {
        let created = self
            .library
            .create_collection(&body.name, &body.description, body.language.into())
            .await?;
        Ok(CollectionCreated::Created(Json(created.into())))
    }

    /// List collections with their document and chunk counts.
    #[oai(path = "/v1/collections", method = "get", tag = "ApiTags::Collections")]
    async fn list(&self) -> Result<Json<CollectionList>, ApiError> {
        let collections = self.library.collections().await?;
        Ok(Json(CollectionList {
            collections: collections.into_iter().map(Collection::from).collect(),
        }))
    }

    /// Get one collection.
    #[oai(
        path = "/v1/collections/:name",
        method = "get",
        tag = "ApiTags::Collections"
    )]
    async fn get(&self, name: Path<String>) -> Result<Json<Collection>, ApiError> {
        Ok(Json(self.library.collection(&name).await?.into()))
    }

    /// Re-embed every chunk with the server's current encoder (after a model change). Searches
    /// keep being served from the old index until the new one is swapped in; writes to the
    /// collection wait.
    #[oai(
        path = "/v1/collections/:name/reindex",
        method = "post",
        tag = "ApiTags::Collections"
    )]
    async fn reindex(&self, name: Path<String>) -> Result<Json<ReindexSummary>, ApiError> {
        Ok(Json(self.library.reindex_collection(&name).await?.into()))
    }

    /// Delete a collection with all its documents and chunks, atomically.
    #[oai(
        path = "/v1/collections/:name",
        method = "delete",
        tag = "ApiTags::Collections"
    )]
    async fn delete(&self, name: Path<String>) -> Result<CollectionDeleted, ApiError> {
        self.library.delete_collection(&name).await?;
        Ok(CollectionDeleted::Deleted)
    }
}
