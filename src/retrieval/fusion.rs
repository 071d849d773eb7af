//! Weighted reciprocal rank fusion of ranked lists.

use std::collections::HashMap;
use std::hash::Hash;

/// One signal's ranked list (best first) and its weight.
#[derive(Debug, Clone)]
pub struct RankedList<K> {
    /// Items in rank order with their raw scores.
    pub items: Vec<(K, f32)>,
    /// Weight of this signal in the fusion.
    pub weight: f32,
}

/// A fused item: its fused score and, per input list, its `(rank, raw score)` if present.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused<K> {
    /// The item.
    pub key: K,
    /// Σ weight / (k + rank) over the lists that contain it.
    pub score: f32,
    /// 1-based rank and raw score in each input list, in input order.
    pub signals: Vec<Option<(u32, f32)>>,
}

/// Fuses `lists` with weighted RRF (`k` dampens the head), best first; ties keep the order
/// in which items were first seen.
pub fn reciprocal_rank_fusion<K: Clone + Eq + Hash>(
    lists: &[RankedList<K>],
    k: f32,
) -> Vec<Fused<K>> {
    let mut fused: Vec<Fused<K>> = Vec::new();
    let mut position: HashMap<K, usize> = HashMap::new();
    for (list_index, list) in lists.iter().enumerate() {
        for (rank0, (key, raw)) in list.items.iter().enumerate() {
            let rank = rank0 as u32 + 1;
            let at = *position.entry(key.clone()).or_insert_with(|| {
                fused.push(Fused {
                    key: key.clone(),
                    score: 0.0,
                    signals: vec![None; lists.len()],
                });
                fused.len() - 1
            });
            let entry = &mut fused[at];
            if entry.signals[list_index].is_none() {
                entry.signals[list_index] = Some((rank, *raw));
                entry.score += list.weight / (k + rank as f32);
            }
        }
    }
    fused.sort_by(|a, b| b.score.total_cmp(&a.score));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_in_both_lists_win_and_weights_count() {
        let dense = RankedList {
            items: vec![("a", 0.9), ("b", 0.8), ("c", 0.7)],
            weight: 1.0,
        };
        let bm25 = RankedList {
            items: vec![("c", 12.0), ("a", 9.0), ("d", 3.0)],
            weight: 1.0,
        };
        let fused = reciprocal_rank_fusion(&[dense.clone(), bm25.clone()], 60.0);
        assert_eq!(fused[0].key, "a");
        assert!((fused[0].score - (1.0 / 61.0 + 1.0 / 62.0)).abs() < 1e-7);
        assert_eq!(fused[0].signals, vec![Some((1, 0.9)), Some((2, 9.0))]);
        assert_eq!(fused[1].key, "c");
        let keys: Vec<&str> = fused.iter().map(|f| f.key).collect();
        assert_eq!(keys, ["a", "c", "b", "d"]);

        let heavy_bm25 = RankedList {
            weight: 3.0,
            ..bm25
        };
        let fused = reciprocal_rank_fusion(&[dense, heavy_bm25], 60.0);
        assert_eq!(fused[0].key, "c");
    }

    #[test]
    fn duplicate_items_in_one_list_count_once() {
        let list = RankedList {
            items: vec![("a", 1.0), ("a", 0.5)],
            weight: 1.0,
        };
        let fused = reciprocal_rank_fusion(&[list], 60.0);
        assert_eq!(fused.len(), 1);
        assert!((fused[0].score - 1.0 / 61.0).abs() < 1e-7);
    }
}
