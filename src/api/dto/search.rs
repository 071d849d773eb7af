//! Search modes and hits as the search routes send them.

use poem_openapi::Object;
use serde::Serialize;

use super::mirror_enum;

mirror_enum! {
    /// Retrieval signal.
    #[serde(rename_all = "lowercase")]
    #[oai(rename_all = "lowercase")]
    pub enum SearchMode mirrors service::SearchMode {
        /// Dense and BM25 fused by weighted reciprocal rank fusion.
        Hybrid,
        /// Cosine similarity of sentence embeddings.
        Dense,
        /// Full-text BM25 with the collection's analyzer.
        Bm25,
    }
}

/// One search hit.
#[derive(Debug, Clone, Object, Serialize)]
pub struct SearchHit {
    /// Chunk identifier.
    pub chunk_id: String,
    /// Document identifier.
    pub document_id: String,
    /// Document title.
    pub title: String,
    /// Collection searched.
    pub collection: String,
    /// Structural path of the chunk.
    pub path: String,
    /// Order of the chunk within its document.
    pub position: u32,
    /// Start offset in the document text, in characters.
    pub char_start: u64,
    /// End offset (exclusive), in characters.
    pub char_end: u64,
    /// Chunk text.
    pub text: String,
    /// Score the list is ordered by within its collection: the reranker's when reranked,
    /// else the fused RRF score (hybrid), the cosine (dense) or the BM25 score (bm25).
    pub score: f64,
    /// 1-based rank in the merged result list.
    pub rank: u32,
    /// Dense (cosine) score and rank within its collection, when the dense signal found it.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dense: Option<SignalScore>,
    /// BM25 score and rank within its collection, when BM25 found it.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bm25: Option<SignalScore>,
    /// Weighted reciprocal-rank-fusion score (hybrid mode).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fused: Option<f64>,
    /// Reranker score, when the hit was reranked.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerank: Option<f64>,
}

impl From<crate::model::SearchHit> for SearchHit {
    fn from(hit: crate::model::SearchHit) -> Self {
        Self {
            chunk_id: hit.chunk_id,
            document_id: hit.document_id,
            title: hit.title,
            collection: hit.collection,
            path: hit.path,
            position: hit.position,
            char_start: hit.char_start,
            char_end: hit.char_end,
            text: hit.text,
            score: hit.score,
            rank: hit.rank,
            dense: hit.dense.map(SignalScore::from),
            bm25: hit.bm25.map(SignalScore::from),
            fused: hit.fused,
            rerank: hit.rerank,
        }
    }
}

/// A signal's score and 1-based rank within one collection's list.
#[derive(Debug, Clone, Copy, Object, Serialize)]
pub struct SignalScore {
    /// Raw score from that signal.
    pub score: f64,
    /// 1-based rank in that collection for that signal.
    pub rank: u32,
}

impl From<crate::model::SignalScore> for SignalScore {
    fn from(signal: crate::model::SignalScore) -> Self {
        Self {
            score: signal.score,
            rank: signal.rank,
        }
    }
}
