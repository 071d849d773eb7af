//! `POST /v1/search`: retrieval only.

use std::collections::BTreeMap;
use std::time::Instant;

use super::json_body::JsonBody;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;

use super::ApiTags;
use super::dto::search::{SearchHit, SearchMode};
use super::problem::ApiError;
use super::strict_json::StrictJson;
use crate::service::{Library, SearchRequest};

/// A retrieval request.
#[derive(Debug, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// What to look for.
    pub query: String,
    /// Collections to search, concurrently; all collections when absent or empty.
    #[oai(default)]
    #[serde(default)]
    pub collections: Vec<String>,
    /// Retrieval signal: `hybrid` (default; dense + BM25 fused by weighted RRF), `dense` or
    /// `bm25`.
    pub mode: Option<SearchMode>,
    /// Most hits to return (1 up to the configured maximum, 100 by default).
    pub limit: Option<u32>,
    /// Metadata equalities the hits' documents must satisfy; an array matches any element.
    pub filter: Option<BTreeMap<String, Value>>,
    /// Rerank the best fused candidates (`search.rerank_candidates`, default 32) with the
    /// reranker before cutting to `limit`; each hit then carries a `rerank` score.
    #[oai(default)]
    #[serde(default)]
    pub rerank: bool,
}

/// Hits merged across collections by rank.
#[derive(Debug, Object, serde::Serialize)]
pub struct SearchResults {
    /// Signal used.
    pub mode: SearchMode,
    /// Hits, best first.
    pub hits: Vec<SearchHit>,
    /// Server-side time in milliseconds.
    pub took_ms: f64,
    /// The corpus version searched: the last change-log entry this server had applied when
    /// the search began. Every server returns the same hits for the same search at the same
    /// version; send it as `X-Min-Corpus-Version` to read at least this.
    pub corpus_version: u64,
}

/// Search routes.
pub struct SearchApi {
    /// The service behind the routes.
    pub library: Library,
}

#[OpenApi]
impl SearchApi {
    /// Search one or many collections; each is searched concurrently and the lists are merged
    /// by rank, never by raw scores.
    #[oai(path = "/v1/search", method = "post", tag = "ApiTags::Search")]
    async fn search(
        &self,
        body: StrictJson<SearchBody>,
    ) -> Result<JsonBody<SearchResults>, ApiError> {
        let started = Instant::now();
        let body = body.0;
        let request = SearchRequest {
            query: body.query,
            collections: body.collections,
            mode: body.mode.map(Into::into),
            limit: body.limit,
            filter: body.filter,
            rerank: body.rerank,
        };
        let corpus_version = self.library.corpus_version();
        let (mode, hits) = self.library.search(&request).await?;
        Ok(JsonBody(SearchResults {
            mode: mode.into(),
            hits: hits.into_iter().map(SearchHit::from).collect(),
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
            corpus_version,
        }))
    }
}
