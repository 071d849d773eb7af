//! Calibrated relevance: the one score in [0, 1] that thresholds, CRAG and the evidence level
//! use. It mixes signals whose scale means the same in every collection — cosine similarity
//! on the encoder's own scale ([`crate::inference::cosine_scale`]), the share of the question's
//! terms a passage contains, and the reranker's calibrated score — and never RRF values or raw
//! BM25 scores, whose scale depends on the collection.

/// Weight of the reranker when it scored the passage; the rest goes to the first-stage mix.
const RERANK_WEIGHT: f64 = 0.5;
/// Weight of the dense signal in the first-stage mix; the rest goes to term coverage.
const DENSE_WEIGHT: f64 = 0.6;

/// Relevance from the calibrated dense score (absent when the dense signal did not find the
/// passage), the term coverage in [0, 1] (absent when the passage is in another language than
/// the question, where the question's words cannot be looked for), and the calibrated
/// reranker score when reranked.
pub fn relevance(dense: Option<f64>, coverage: Option<f64>, rerank: Option<f64>) -> f64 {
    let first_stage = match (dense, coverage) {
        (Some(dense), Some(coverage)) => DENSE_WEIGHT * dense + (1.0 - DENSE_WEIGHT) * coverage,
        // Another language: the multilingual encoder's cosine is all the evidence there is.
        (Some(dense), None) => dense,
        // Found by BM25 only: its coverage is all the evidence there is, discounted.
        (None, coverage) => (1.0 - DENSE_WEIGHT) * coverage.unwrap_or(0.0),
    };
    let mixed = match rerank {
        Some(rerank) => RERANK_WEIGHT * rerank + (1.0 - RERANK_WEIGHT) * first_stage,
        None => first_stage,
    };
    mixed.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relevance_rewards_agreeing_signals() {
        let strong = relevance(Some(0.9), Some(1.0), Some(0.9));
        let weak = relevance(Some(0.1), Some(0.0), Some(0.1));
        let lexical_only = relevance(None, Some(1.0), None);
        assert!(strong > 0.85 && weak < 0.15);
        assert!(lexical_only < relevance(Some(0.5), Some(1.0), None));
        assert!((0.0..=1.0).contains(&lexical_only));
    }

    #[test]
    fn across_languages_the_dense_signal_stands_alone() {
        // An English question over a Swedish passage shares no words with it.
        assert_eq!(relevance(Some(0.7), None, None), 0.7);
        assert!(relevance(Some(0.7), None, None) > relevance(Some(0.7), Some(0.0), None));
        assert_eq!(relevance(None, None, None), 0.0);
    }
}
