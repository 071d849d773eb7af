//! Evaluation sets and their runners.
//!
//! - [`retrieval`]: the synthetic statute set (`tests/data/retrieval_eval.json`), scored by
//!   structural path per search mode.
//! - [`dev_set`], [`dev_run`], [`dev_report`]: the development sets: `tests/data/legal_dev/`
//!   (licence texts shipped inside pinned PyPI packages) and `tests/data/swedish_dev/`
//!   (Swedish statutes written in-house in the style of SFS), questions by kind, answers
//!   through the answer pipeline and searches in every mode, scored by whether a source
//!   contains the passage that answers the question.

pub mod dev_report;
pub mod dev_run;
pub mod dev_set;
pub mod outcome;
pub mod retrieval;

pub use retrieval::{EvalRow, EvalSet, RECALL_AT, evaluate, format_table};

/// Share of `found_at` (the 0-based rank at which each query's answer was found, if at all)
/// found within the first `k`.
pub fn share_within(found_at: &[Option<usize>], k: usize) -> f64 {
    let hits = found_at.iter().filter(|p| p.is_some_and(|p| p < k)).count();
    hits as f64 / found_at.len().max(1) as f64
}

/// Mean reciprocal rank of `found_at`, counting only ranks below `depth`.
pub fn mean_reciprocal_rank(found_at: &[Option<usize>], depth: usize) -> f64 {
    // A fold from +0.0: `sum` of nothing is -0.0, printed as "-0.000".
    let sum = found_at
        .iter()
        .filter_map(|p| p.filter(|&p| p < depth))
        .fold(0.0, |sum, p| sum + 1.0 / (p + 1) as f64);
    sum / found_at.len().max(1) as f64
}

/// The median of `values` (0 when empty); sorts them.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_helpers() {
        let found = [Some(0), Some(2), None, Some(9), Some(12)];
        assert_eq!(share_within(&found, 1), 0.2);
        assert_eq!(share_within(&found, 5), 0.4);
        assert_eq!(share_within(&found, 10), 0.6);
        let mrr = mean_reciprocal_rank(&found, 10);
        assert!((mrr - (1.0 + 1.0 / 3.0 + 0.1) / 5.0).abs() < 1e-12);
        assert_eq!(share_within(&[], 5), 0.0);
        assert!(mean_reciprocal_rank(&[None], 10).is_sign_positive());
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut []), 0.0);
    }
}
