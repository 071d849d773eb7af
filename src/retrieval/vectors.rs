//! Exact nearest-neighbour search over one collection's embeddings, in process.
//!
//! Vectors are L2-normalised, so cosine similarity is a dot product. A query first scans an
//! int8 copy of every vector (a quarter of the memory traffic of f32), then rescores the best
//! candidates with the f32 originals, so the returned scores are exact cosines and recall
//! loss can only come from int8 ordering errors far outside the oversampled candidate set.

use super::Slot;

/// How many int8 candidates are rescored per requested hit.
const OVERSAMPLING: usize = 8;
/// Fewest candidates rescored, whatever the limit.
const MIN_CANDIDATES: usize = 64;

/// Embeddings of one collection, addressed by slot.
#[derive(Debug, Clone)]
pub struct VectorIndex {
    dimension: usize,
    exact: Vec<f32>,
    quantized: Vec<i8>,
    scales: Vec<f32>,
    live: Vec<bool>,
    count: usize,
}

impl VectorIndex {
    /// An empty index of `dimension`-sized vectors.
    pub fn new(dimension: usize) -> Self {
        Self {
            dimension,
            exact: Vec::new(),
            quantized: Vec::new(),
            scales: Vec::new(),
            live: Vec::new(),
            count: 0,
        }
    }

    /// Vector size.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Number of live vectors.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no vector is live.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Stores (or replaces) the vector of `slot`. Panics if its length is not the dimension.
    pub fn insert(&mut self, slot: Slot, vector: &[f32]) {
        assert_eq!(vector.len(), self.dimension, "vector dimension");
        let slot = slot as usize;
        if slot >= self.live.len() {
            let slots = slot + 1;
            self.exact.resize(slots * self.dimension, 0.0);
            self.quantized.resize(slots * self.dimension, 0);
            self.scales.resize(slots, 0.0);
            self.live.resize(slots, false);
        }
        let range = slot * self.dimension..(slot + 1) * self.dimension;
        self.exact[range.clone()].copy_from_slice(vector);
        self.scales[slot] = quantize(vector, &mut self.quantized[range]);
        if !self.live[slot] {
            self.live[slot] = true;
            self.count += 1;
        }
    }

    /// Forgets the vector of `slot`; a no-op if absent.
    pub fn remove(&mut self, slot: Slot) {
        let slot = slot as usize;
        if self.live.get(slot).copied().unwrap_or(false) {
            self.live[slot] = false;
            self.count -= 1;
        }
    }

    /// The `limit` live slots most similar to `query` (cosine), best first; only slots that
    /// `allowed` accepts are candidates.
    pub fn search(
        &self,
        query: &[f32],
        limit: usize,
        allowed: Option<&dyn Fn(Slot) -> bool>,
    ) -> Vec<(Slot, f32)> {
        if limit == 0 || self.count == 0 || query.len() != self.dimension {
            return Vec::new();
        }
        let mut query_q = vec![0i8; self.dimension];
        let query_scale = quantize(query, &mut query_q);
        let wanted = (limit * OVERSAMPLING).max(MIN_CANDIDATES);
        let candidates = best(self.scan(&query_q, query_scale, allowed), wanted);
        let rescored = candidates
            .into_iter()
            .map(|(slot, _)| {
                let start = slot as usize * self.dimension;
                (
                    slot,
                    dot_f32(&self.exact[start..start + self.dimension], query),
                )
            })
            .collect();
        best(rescored, limit)
    }

    /// Approximate (int8) scores of every live, allowed row, with the widest integer SIMD
    /// the CPU offers.
    fn scan(
        &self,
        query: &[i8],
        query_scale: f32,
        allowed: Option<&dyn Fn(Slot) -> bool>,
    ) -> Vec<(Slot, f32)> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { self.scan_avx2(query, query_scale, allowed) };
        }
        self.scan_portable(query, query_scale, allowed)
    }

    /// [`Self::scan_portable`] compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn scan_avx2(
        &self,
        query: &[i8],
        query_scale: f32,
        allowed: Option<&dyn Fn(Slot) -> bool>,
    ) -> Vec<(Slot, f32)> {
        self.scan_portable(query, query_scale, allowed)
    }

    #[inline(always)]
    fn scan_portable(
        &self,
        query: &[i8],
        query_scale: f32,
        allowed: Option<&dyn Fn(Slot) -> bool>,
    ) -> Vec<(Slot, f32)> {
        let mut scored = Vec::with_capacity(self.count);
        for (slot, row) in self.quantized.chunks_exact(self.dimension).enumerate() {
            if !self.live[slot] || allowed.is_some_and(|allow| !allow(slot as Slot)) {
                continue;
            }
            let approx = dot_i8(row, query) as f32 * self.scales[slot] * query_scale;
            scored.push((slot as Slot, approx));
        }
        scored
    }

    /// The stored vector of `slot`, if live.
    pub fn vector(&self, slot: Slot) -> Option<&[f32]> {
        let slot = slot as usize;
        self.live
            .get(slot)
            .copied()
            .unwrap_or(false)
            .then(|| &self.exact[slot * self.dimension..(slot + 1) * self.dimension])
    }
}

/// The `limit` highest-scoring entries, best first (ties: smaller slot first).
pub fn best(mut scored: Vec<(Slot, f32)>, limit: usize) -> Vec<(Slot, f32)> {
    let order = |a: &(Slot, f32), b: &(Slot, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if scored.len() > limit {
        scored.select_nth_unstable_by(limit, order);
        scored.truncate(limit);
    }
    scored.sort_unstable_by(order);
    scored
}

/// Symmetric int8 quantisation of `vector` into `out`; returns the scale back to f32.
fn quantize(vector: &[f32], out: &mut [i8]) -> f32 {
    let max = vector.iter().fold(0f32, |m, v| m.max(v.abs()));
    if max == 0.0 {
        out.fill(0);
        return 0.0;
    }
    let scale = max / 127.0;
    for (q, v) in out.iter_mut().zip(vector) {
        *q = (v / scale).round().clamp(-127.0, 127.0) as i8;
    }
    scale
}

/// Integer dot product, written in fixed lanes so the compiler vectorises it.
#[inline(always)]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    const LANES: usize = 32;
    let mut acc = [0i32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: i32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| i32::from(*x) * i32::from(*y))
        .sum();
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            acc[lane] += i32::from(ca[lane]) * i32::from(cb[lane]);
        }
    }
    acc.iter().sum::<i32>() + tail
}

/// f32 dot product in fixed lanes.
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            acc[lane] += ca[lane] * cb[lane];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random unit vectors clustered around a few centres.
    fn vectors(count: usize, dimension: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 10_000) as f32 / 5_000.0 - 1.0
        };
        let centres: Vec<Vec<f32>> = (0..8)
            .map(|_| (0..dimension).map(|_| next()).collect())
            .collect();
        (0..count)
            .map(|i| {
                let v: Vec<f32> = centres[i % 8].iter().map(|c| c + 0.4 * next()).collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.into_iter().map(|x| x / norm).collect()
            })
            .collect()
    }

    fn brute_force(data: &[Vec<f32>], query: &[f32], limit: usize) -> Vec<Slot> {
        let scored = data
            .iter()
            .enumerate()
            .map(|(i, v)| (i as Slot, v.iter().zip(query).map(|(a, b)| a * b).sum()))
            .collect();
        best(scored, limit).into_iter().map(|(s, _)| s).collect()
    }

    #[test]
    fn matches_brute_force_exactly_on_clustered_vectors() {
        let data = vectors(3_000, 64, 7);
        let mut index = VectorIndex::new(64);
        for (slot, v) in data.iter().enumerate() {
            index.insert(slot as Slot, v);
        }
        let queries = vectors(50, 64, 99);
        let mut found = 0;
        for query in &queries {
            let expected = brute_force(&data, query, 10);
            let got: Vec<Slot> = index
                .search(query, 10, None)
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            found += got.iter().filter(|s| expected.contains(s)).count();
        }
        let recall = found as f64 / (queries.len() * 10) as f64;
        assert!(recall >= 0.99, "recall@10 {recall}");
    }

    #[test]
    fn scores_are_exact_cosines_and_removal_and_filters_work() {
        let data = vectors(200, 48, 3);
        let mut index = VectorIndex::new(48);
        for (slot, v) in data.iter().enumerate() {
            index.insert(slot as Slot, v);
        }
        let hits = index.search(&data[5], 3, None);
        assert_eq!(hits[0].0, 5);
        assert!((hits[0].1 - 1.0).abs() < 1e-5);
        index.remove(5);
        assert_eq!(index.len(), 199);
        assert!(
            index
                .search(&data[5], 10, None)
                .iter()
                .all(|(s, _)| *s != 5)
        );
        let even = |slot: Slot| slot.is_multiple_of(2);
        let filtered = index.search(&data[7], 10, Some(&even));
        assert_eq!(filtered.len(), 10);
        assert!(filtered.iter().all(|(s, _)| s.is_multiple_of(2)));
        index.insert(5, &data[6]);
        assert!((index.search(&data[6], 2, None)[1].1 - 1.0).abs() < 1e-5);
        assert_eq!(index.vector(5), Some(data[6].as_slice()));
    }

    #[test]
    fn integer_and_float_dots_handle_tails() {
        let a: Vec<i8> = (0..70).map(|i| (i % 7) as i8 - 3).collect();
        let b: Vec<i8> = (0..70).map(|i| (i % 5) as i8 - 2).collect();
        let expected: i32 = a
            .iter()
            .zip(&b)
            .map(|(x, y)| i32::from(*x) * i32::from(*y))
            .sum();
        assert_eq!(dot_i8(&a, &b), expected);
        let fa: Vec<f32> = a.iter().map(|x| f32::from(*x)).collect();
        let fb: Vec<f32> = b.iter().map(|x| f32::from(*x)).collect();
        assert_eq!(dot_f32(&fa, &fb), expected as f32);
    }
}
