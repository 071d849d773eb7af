//! Reranking before generation: the reranker scores every candidate against the question,
//! its calibrated score joins the relevance, and the candidates are reordered.

use super::tiering::Candidate;
use crate::error::AppResult;
use crate::inference::batcher::Priority;
use crate::inference::cosine_scale::CosineScale;
use crate::service::Library;

/// Scores `candidates` with the reranker and orders them by the new relevance (their dense
/// scores read on the `scale` of the encoder they come from).
pub async fn rerank(
    library: &Library,
    scale: &CosineScale,
    query: &str,
    candidates: &mut [Candidate],
) -> AppResult<()> {
    if candidates.is_empty() {
        return Ok(());
    }
    let reranker = library.reranker();
    let passages = library.rerank_passages(candidates.iter().map(|c| &c.hit));
    let scores = reranker
        .score(query, &passages, Priority::Interactive)
        .await?;
    for (candidate, raw) in candidates.iter_mut().zip(scores) {
        candidate.scores.rerank = Some(reranker.calibrate(raw));
        candidate.recalibrate(scale);
    }
    candidates.sort_by(|a, b| b.scores.relevance.total_cmp(&a.scores.relevance));
    Ok(())
}
