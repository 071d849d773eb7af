//! Retrieval across one or many collections: dense, BM25 or hybrid (weighted RRF) per
//! collection, all collections concurrently, merged by rank — never by raw scores.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use futures::future::try_join_all;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::chunking::embedding_text;
use super::encoders::same_model;
use super::{Library, validate};
use crate::config::DefaultSearchMode;
use crate::error::{AppError, AppResult};
use crate::inference::batcher::Priority;
use crate::inference::embedder::Embedder;
use crate::inference::tokenizer::TextRole;
use crate::model::{Collection, SearchHit, SignalScore};
use crate::retrieval::fusion::{RankedList, reciprocal_rank_fusion};
use crate::retrieval::index::{ChunkRef, CollectionIndex};
use crate::retrieval::vectors::DenseScan;

/// Most collections one search may name.
const MAX_COLLECTIONS: usize = 32;
/// Fewest candidates each signal contributes to fusion.
const MIN_SIGNAL_DEPTH: usize = 20;

impl From<DefaultSearchMode> for SearchMode {
    fn from(setting: DefaultSearchMode) -> Self {
        match setting {
            DefaultSearchMode::Hybrid => SearchMode::Hybrid,
            DefaultSearchMode::Dense => SearchMode::Dense,
            DefaultSearchMode::Bm25 => SearchMode::Bm25,
        }
    }
}

/// Retrieval signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Dense and BM25 fused by weighted reciprocal rank fusion.
    Hybrid,
    /// Cosine similarity of sentence embeddings.
    Dense,
    /// Full-text BM25 with the collection's analyzer.
    Bm25,
}

impl SearchMode {
    fn uses_dense(self) -> bool {
        self != SearchMode::Bm25
    }

    fn uses_bm25(self) -> bool {
        self != SearchMode::Dense
    }
}

/// A search as the service sees it.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// Query text.
    pub query: String,
    /// Collections to search; empty means all.
    pub collections: Vec<String>,
    /// Signal to use; the configured default when absent.
    pub mode: Option<SearchMode>,
    /// Most hits in the merged list; the configured default when absent.
    pub limit: Option<u32>,
    /// Metadata equality filter.
    pub filter: Option<BTreeMap<String, Value>>,
    /// Rerank the best `search.rerank_candidates` merged hits before cutting to `limit`.
    pub rerank: bool,
}

/// One collection's candidate before its stored fields are fetched.
#[derive(Debug, Clone)]
struct Candidate {
    chunk: ChunkRef,
    score: f32,
    dense: Option<(u32, f32)>,
    bm25: Option<(u32, f32)>,
    fused: Option<f32>,
}

impl Library {
    /// Searches every requested collection concurrently and merges the lists by rank.
    pub async fn search(&self, request: &SearchRequest) -> AppResult<(SearchMode, Vec<SearchHit>)> {
        let limits = &self.config.search;
        validate::text("query", &request.query, limits.max_query_chars)?;
        let limit = request.limit.unwrap_or(limits.default_limit);
        if limit == 0 || limit > limits.max_limit {
            return Err(AppError::invalid(
                "invalid_limit",
                format!("limit must be within 1..={}", limits.max_limit),
            ));
        }
        let mode = request.mode.unwrap_or(limits.default_mode.into());
        let filter = Arc::new(validate::metadata_filter(request.filter.as_ref())?);
        let collections = self.search_targets(&request.collections).await?;
        // Dense search needs each collection's vectors' model; 409 when this server runs none.
        let encoders: Vec<&Embedder> = if mode.uses_dense() {
            collections
                .iter()
                .map(|c| self.encoders.for_collection(c))
                .collect::<AppResult<_>>()?
        } else {
            Vec::new()
        };
        let kept = if request.rerank {
            self.config.search.rerank_candidates.max(limit as usize)
        } else {
            limit as usize
        };
        let depth = (kept * 2).max(MIN_SIGNAL_DEPTH);
        let query = Arc::new(request.query.clone());
        let indexes: Vec<(String, Arc<RwLock<CollectionIndex>>)> = collections
            .iter()
            .map(|c| {
                let index = self
                    .index
                    .ensure(&c.name, c.language, c.embedding_dimension as usize);
                (c.name.clone(), index)
            })
            .collect();
        let bm25_lists = async {
            if !mode.uses_bm25() {
                return Ok(vec![Vec::new(); indexes.len()]);
            }
            try_join_all(indexes.iter().map(|(_, index)| {
                let (index, query, filter) = (index.clone(), query.clone(), filter.clone());
                blocking(move || {
                    index
                        .read()
                        .expect("index lock")
                        .bm25(&query, depth, &filter)
                })
            }))
            .await
        };
        let dense_lists = async {
            if !mode.uses_dense() {
                return Ok(vec![Vec::new(); indexes.len()]);
            }
            let vectors = query_vectors(&encoders, &request.query).await?;
            let scan = if limits.dense_exhaustive {
                DenseScan::Exhaustive
            } else {
                DenseScan::Shortlist
            };
            try_join_all(indexes.iter().zip(vectors).map(|((_, index), vector)| {
                let (index, filter) = (index.clone(), filter.clone());
                blocking(move || {
                    index
                        .read()
                        .expect("index lock")
                        .dense(&vector, depth, scan, &filter)
                })
            }))
            .await
        };
        let (bm25_lists, dense_lists) = tokio::try_join!(bm25_lists, dense_lists)?;
        let per_collection: Vec<Vec<Candidate>> = indexes
            .iter()
            .zip(dense_lists.into_iter().zip(bm25_lists))
            .map(|(_, (dense, bm25))| self.combine(mode, dense, bm25))
            .collect();
        let merged = merge_by_rank(per_collection, kept);
        let mut hits = self.materialise(merged).await?;
        if request.rerank {
            hits = self.rerank(&request.query, hits).await?;
        }
        hits.truncate(limit as usize);
        Ok((mode, hits))
    }

    /// The texts the reranker reads for `hits`: each chunk as it was embedded, under the
    /// context header ingestion gives it, so the token vectors ingestion stored serve it.
    pub fn rerank_passages<'a>(&self, hits: impl Iterator<Item = &'a SearchHit>) -> Vec<String> {
        let header = self.config.ingest.context_header;
        hits.map(|hit| embedding_text(header, &hit.title, &hit.path, &hit.text))
            .collect()
    }

    /// Orders `hits` by the reranker's score of each chunk against `query`.
    async fn rerank(&self, query: &str, mut hits: Vec<SearchHit>) -> AppResult<Vec<SearchHit>> {
        let passages = self.rerank_passages(hits.iter());
        let scores = self
            .reranker
            .score(query, &passages, Priority::Interactive)
            .await?;
        for (hit, score) in hits.iter_mut().zip(scores) {
            hit.rerank = Some(f64::from(score));
            hit.score = f64::from(score);
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        for (i, hit) in hits.iter_mut().enumerate() {
            hit.rank = i as u32 + 1;
        }
        Ok(hits)
    }

    /// Orders one collection's candidates for `mode`.
    fn combine(
        &self,
        mode: SearchMode,
        dense: Vec<(ChunkRef, f32)>,
        bm25: Vec<(ChunkRef, f32)>,
    ) -> Vec<Candidate> {
        let settings = &self.config.search;
        let lists = [
            RankedList {
                items: dense,
                weight: settings.dense_weight,
            },
            RankedList {
                items: bm25,
                weight: settings.bm25_weight,
            },
        ];
        reciprocal_rank_fusion(&lists, settings.rrf_k)
            .into_iter()
            .map(|fused| {
                let (dense, bm25) = (fused.signals[0], fused.signals[1]);
                let score = match mode {
                    SearchMode::Hybrid => fused.score,
                    SearchMode::Dense => dense.map_or(0.0, |d| d.1),
                    SearchMode::Bm25 => bm25.map_or(0.0, |b| b.1),
                };
                Candidate {
                    chunk: fused.key,
                    score,
                    dense,
                    bm25,
                    fused: (mode == SearchMode::Hybrid).then_some(fused.score),
                }
            })
            .collect()
    }

    /// Fetches the stored fields of the merged candidates and attaches their scores.
    async fn materialise(&self, merged: Vec<Candidate>) -> AppResult<Vec<SearchHit>> {
        let mut by_id = self.chunk_rows(&merged).await?;
        let signal = |s: Option<(u32, f32)>| {
            s.map(|(rank, score)| SignalScore {
                score: f64::from(score),
                rank,
            })
        };
        Ok(merged
            .into_iter()
            .filter_map(|candidate| {
                let mut hit = by_id.remove(&candidate.chunk.chunk_id)?;
                hit.score = f64::from(candidate.score);
                hit.dense = signal(candidate.dense);
                hit.bm25 = signal(candidate.bm25);
                hit.fused = candidate.fused.map(f64::from);
                Some(hit)
            })
            .enumerate()
            .map(|(i, mut hit)| {
                hit.rank = i as u32 + 1;
                hit
            })
            .collect())
    }

    /// The stored rows of `candidates` by chunk id: from the chunk cache, and the rest read
    /// from the database in one query (and then cached).
    async fn chunk_rows(&self, candidates: &[Candidate]) -> AppResult<HashMap<String, SearchHit>> {
        let ids: Vec<&str> = candidates
            .iter()
            .map(|c| c.chunk.chunk_id.as_str())
            .collect();
        let cached = self.chunk_rows.get_all(&ids);
        let missing: Vec<&str> = ids
            .iter()
            .zip(&cached)
            .filter(|(_, row)| row.is_none())
            .map(|(id, _)| *id)
            .collect();
        let fetched = self.store.chunk_hits(&missing).await?;
        self.chunk_rows.insert_all(&fetched);
        Ok(cached
            .into_iter()
            .flatten()
            .chain(fetched)
            .map(|row| (row.chunk_id.clone(), row))
            .collect())
    }

    /// The encoder the collections `names` (all when none is named) share, and the default
    /// when they do not share one or cannot be read: the answer pipeline reads their dense
    /// scores on its cosine scale.
    pub async fn shared_encoder(&self, names: &[String]) -> Embedder {
        match self.search_targets(names).await {
            Ok(collections) => self.encoders.shared_by(&collections).clone(),
            Err(_) => self.embedder().clone(),
        }
    }

    /// The collections named (deduplicated, each must exist), or all when none is named.
    async fn search_targets(&self, names: &[String]) -> AppResult<Vec<Collection>> {
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

/// The query's vector for each collection, from the encoder of each (`encoders`, in the
/// collections' order): one forward pass per distinct encoder.
async fn query_vectors(encoders: &[&Embedder], query: &str) -> AppResult<Vec<Arc<[f32]>>> {
    let mut distinct: Vec<&Embedder> = Vec::new();
    for encoder in encoders {
        if !distinct.iter().any(|known| same_model(known, encoder)) {
            distinct.push(encoder);
        }
    }
    let query = [query.to_string()];
    let embedded = try_join_all(
        distinct
            .iter()
            .map(|encoder| encoder.embed(&query, TextRole::Query, Priority::Interactive)),
    )
    .await?;
    Ok(encoders
        .iter()
        .map(|encoder| {
            let at = distinct
                .iter()
                .position(|known| same_model(known, encoder))
                .expect("every encoder is among the distinct ones");
            embedded[at].vectors[0].clone()
        })
        .collect())
}

/// Runs CPU-bound index work off the async executor.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(format!("search task: {e}")))
}

/// Interleaves per-collection lists by rank; equal ranks are ordered by score relative to
/// the collection's best, so raw scores of different collections are never compared.
fn merge_by_rank(lists: Vec<Vec<Candidate>>, limit: usize) -> Vec<Candidate> {
    let mut merged: Vec<(usize, f32, Candidate)> = Vec::new();
    for list in lists {
        let best = list
            .first()
            .map_or(1.0, |c| c.score.abs().max(f32::MIN_POSITIVE));
        for (index, candidate) in list.into_iter().enumerate() {
            merged.push((index, candidate.score / best, candidate));
        }
    }
    merged.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    merged.into_iter().take(limit).map(|(_, _, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(collection: &str, score: f32) -> Candidate {
        Candidate {
            chunk: ChunkRef {
                chunk_id: format!("{collection}-{score}"),
                document_id: "d".into(),
            },
            score,
            dense: None,
            bm25: None,
            fused: None,
        }
    }

    #[test]
    fn merges_by_rank_not_raw_score() {
        let a = vec![
            candidate("a", 100.0),
            candidate("a", 90.0),
            candidate("a", 80.0),
        ];
        let b = vec![candidate("b", 2.0), candidate("b", 0.5)];
        let merged = merge_by_rank(vec![a, b], 4);
        let order: Vec<&str> = merged.iter().map(|c| c.chunk.chunk_id.as_str()).collect();
        assert_eq!(order, ["a-100", "b-2", "a-90", "b-0.5"]);
    }
}
