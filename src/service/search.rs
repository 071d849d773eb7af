//! Retrieval across one or many collections, searched concurrently and merged by rank.

use futures::future::try_join_all;
use poem_openapi::Enum;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use serde_json::Value;

use super::{Library, validate};
use crate::error::{AppError, AppResult};
use crate::model::{SearchHit, SignalScore};
use crate::store::Bm25Query;

/// Most collections one search may name.
const MAX_COLLECTIONS: usize = 32;

/// Retrieval signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum SearchMode {
    /// Full-text BM25 over the collection's analyzer.
    #[default]
    Bm25,
}

/// A search as the service sees it.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// Query text.
    pub query: String,
    /// Collections to search; empty means all.
    pub collections: Vec<String>,
    /// Signal to use.
    pub mode: SearchMode,
    /// Most hits in the merged list; the configured default when absent.
    pub limit: Option<u32>,
    /// Metadata equality filter.
    pub filter: Option<BTreeMap<String, Value>>,
}

impl Library {
    /// Searches every requested collection concurrently and merges the lists by rank.
    pub async fn search(&self, request: &SearchRequest) -> AppResult<Vec<SearchHit>> {
        let limits = &self.config.search;
        validate::text("query", &request.query, limits.max_query_chars)?;
        let limit = request.limit.unwrap_or(limits.default_limit);
        if limit == 0 || limit > limits.max_limit {
            return Err(AppError::invalid(
                "invalid_limit",
                format!("limit must be within 1..={}", limits.max_limit),
            ));
        }
        let filter = validate::metadata_filter(request.filter.as_ref())?;
        let collections = self.search_targets(&request.collections).await?;
        let per_collection = collections.iter().map(|collection| {
            let query = Bm25Query {
                collection: &collection.name,
                language: collection.language,
                text: &request.query,
                limit,
                filter: &filter,
            };
            let store = self.store.clone();
            async move { store.bm25(&query).await }
        });
        let lists = try_join_all(per_collection).await?;
        Ok(merge_by_rank(lists, limit as usize))
    }

    /// The collections named (deduplicated, each must exist), or all when none is named.
    async fn search_targets(&self, names: &[String]) -> AppResult<Vec<crate::model::Collection>> {
        if names.is_empty() {
            return self.collections().await;
        }
        if names.len() > MAX_COLLECTIONS {
            return Err(AppError::invalid(
                "too_many_collections",
                format!("at most {MAX_COLLECTIONS} collections may be searched at once"),
            ));
        }
        let mut unique: Vec<&String> = names.iter().collect();
        unique.sort();
        unique.dedup();
        try_join_all(unique.into_iter().map(|name| self.collection(name))).await
    }
}

/// Interleaves per-collection lists by rank; equal ranks are ordered by score relative to
/// the collection's best, so raw scores of different collections are never compared.
fn merge_by_rank(lists: Vec<Vec<SearchHit>>, limit: usize) -> Vec<SearchHit> {
    let mut merged: Vec<(usize, f64, SearchHit)> = Vec::new();
    for list in lists {
        let best = list
            .first()
            .map_or(1.0, |h| h.score.abs().max(f64::MIN_POSITIVE));
        for (index, mut hit) in list.into_iter().enumerate() {
            hit.bm25 = Some(SignalScore {
                score: hit.score,
                rank: index as u32 + 1,
            });
            merged.push((index, hit.score / best, hit));
        }
    }
    merged.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    merged
        .into_iter()
        .take(limit)
        .enumerate()
        .map(|(i, (_, _, mut hit))| {
            hit.rank = i as u32 + 1;
            hit
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(collection: &str, score: f64) -> SearchHit {
        SearchHit {
            chunk_id: format!("{collection}-{score}"),
            document_id: "d".into(),
            title: String::new(),
            collection: collection.into(),
            path: String::new(),
            position: 0,
            char_start: 0,
            char_end: 0,
            text: String::new(),
            score,
            rank: 0,
            bm25: None,
        }
    }

    #[test]
    fn merges_by_rank_not_raw_score() {
        let a = vec![hit("a", 100.0), hit("a", 90.0), hit("a", 80.0)];
        let b = vec![hit("b", 2.0), hit("b", 0.5)];
        let merged = merge_by_rank(vec![a, b], 4);
        let order: Vec<(&str, u32)> = merged
            .iter()
            .map(|h| (h.collection.as_str(), h.bm25.unwrap().rank))
            .collect();
        assert_eq!(order, vec![("a", 1), ("b", 1), ("a", 2), ("b", 2)]);
        assert_eq!(
            merged.iter().map(|h| h.rank).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
    }
}
