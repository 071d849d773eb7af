//! Nearest-neighbour search over one collection's embeddings, in process.
//!
//! Vectors are L2-normalised, so cosine similarity is a dot product. A query first scores an
//! int8 copy of the candidate vectors (a quarter of the memory traffic of f32), then rescores
//! the best of them with the f32 originals, so the returned scores are exact cosines.
//!
//! Small collections and filtered searches score every vector (exact search, up to int8
//! ordering errors far outside the oversampled candidate set). Once a collection holds
//! [`MIN_PARTITIONED`] vectors it is partitioned ([`super::partitions`]) and an unfiltered
//! query scores only the vectors of its nearest partitions; the partitions are retrained
//! whenever the collection has doubled since.

use tch::TchError;

use super::Slot;
use super::kernels::{dot_f32, dot_i8};
use super::partitions::{self, Partitions};

/// How many int8 candidates are rescored per requested hit.
const OVERSAMPLING: usize = 8;
/// Fewest candidates rescored, whatever the limit.
const MIN_CANDIDATES: usize = 64;
/// Fewest vectors worth partitioning; below, exact search is as fast.
pub const MIN_PARTITIONED: usize = 20_000;
/// Slots whose rows one partitioning step copies at a time.
pub const PARTITIONING_STEP: usize = 8_192;

/// Embeddings of one collection, addressed by slot.
#[derive(Debug, Clone)]
pub struct VectorIndex {
    dimension: usize,
    exact: Vec<f32>,
    quantized: Vec<i8>,
    scales: Vec<f32>,
    live: Vec<bool>,
    versions: Vec<u32>,
    count: usize,
    partitions: Option<Partitions>,
    partitioning: bool,
}

/// The rows of some slots, copied out of the index to be assigned to partitions.
pub struct RowBatch {
    slots: Vec<Slot>,
    versions: Vec<u32>,
    rows: Vec<f32>,
}

/// Trained centroids and the partition of each copied slot, ready to install.
pub struct Placements {
    centroids: Vec<f32>,
    trained_for: usize,
    placed: Vec<(Slot, u32, u32)>,
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
            versions: Vec::new(),
            count: 0,
            partitions: None,
            partitioning: false,
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
            self.versions.resize(slots, 0);
        }
        let range = slot * self.dimension..(slot + 1) * self.dimension;
        self.exact[range.clone()].copy_from_slice(vector);
        self.scales[slot] = quantize(vector, &mut self.quantized[range]);
        self.versions[slot] = self.versions[slot].wrapping_add(1);
        if let Some(partitions) = &mut self.partitions {
            partitions.assign(slot as Slot, vector);
        }
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
            if let Some(partitions) = &mut self.partitions {
                partitions.remove(slot as Slot);
            }
        }
    }

    /// The `limit` live slots most similar to `query` (cosine), best first; only slots that
    /// `allowed` accepts are candidates. A partitioned index scans at least `probes`
    /// partitions (more until it has enough candidates); `probes == 0`, a filter, or an
    /// index not (yet) partitioned scan every vector.
    pub fn search(
        &self,
        query: &[f32],
        limit: usize,
        probes: usize,
        allowed: Option<&dyn Fn(Slot) -> bool>,
    ) -> Vec<(Slot, f32)> {
        if limit == 0 || self.count == 0 || query.len() != self.dimension {
            return Vec::new();
        }
        let mut query_q = vec![0i8; self.dimension];
        let query_scale = quantize(query, &mut query_q);
        let wanted = (limit * OVERSAMPLING).max(MIN_CANDIDATES);
        let scored = match (&self.partitions, allowed) {
            (Some(partitions), None) if probes > 0 => {
                let slots = nearest_members(partitions, query, probes, wanted);
                self.score(slots.into_iter(), &query_q, query_scale)
            }
            _ => {
                let live = (0..self.live.len() as Slot).filter(|&slot| {
                    self.live[slot as usize] && allowed.is_none_or(|allow| allow(slot))
                });
                self.score(live, &query_q, query_scale)
            }
        };
        let rescored = best(scored, wanted)
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

    /// Approximate (int8) scores of `slots`.
    fn score(
        &self,
        slots: impl Iterator<Item = Slot>,
        query: &[i8],
        query_scale: f32,
    ) -> Vec<(Slot, f32)> {
        slots
            .map(|slot| {
                let start = slot as usize * self.dimension;
                let row = &self.quantized[start..start + self.dimension];
                let approx = dot_i8(row, query) as f32 * self.scales[slot as usize] * query_scale;
                (slot, approx)
            })
            .collect()
    }

    /// Whether queries can scan partitions rather than every vector.
    pub fn is_partitioned(&self) -> bool {
        self.partitions.is_some()
    }

    /// Whether the index should be (re)partitioned: it is large enough and has no
    /// partitions, or has doubled since they were trained, and no partitioning is under way.
    pub fn partitioning_due(&self) -> bool {
        !self.partitioning
            && self.count >= MIN_PARTITIONED
            && self
                .partitions
                .as_ref()
                .is_none_or(|p| self.count >= 2 * p.trained_for())
    }

    /// Marks a partitioning under way and returns its training sample (evenly spaced live
    /// vectors, row-major) and the collection size it is for.
    pub fn start_partitioning(&mut self) -> (Vec<f32>, usize) {
        self.partitioning = true;
        let wanted = partitions::sample_size(partitions::partitions_for(self.count));
        let step = (self.count / wanted.max(1)).max(1);
        let mut sample = Vec::with_capacity(wanted.min(self.count) * self.dimension);
        for slot in (0..self.live.len()).filter(|&s| self.live[s]).step_by(step) {
            sample
                .extend_from_slice(&self.exact[slot * self.dimension..(slot + 1) * self.dimension]);
        }
        (sample, self.count)
    }

    /// A copy of the live rows among the [`PARTITIONING_STEP`] slots from `start`, with
    /// their versions; `None` past the last slot.
    pub fn rows_from(&self, start: usize) -> Option<RowBatch> {
        if start >= self.live.len() {
            return None;
        }
        let end = (start + PARTITIONING_STEP).min(self.live.len());
        let slots: Vec<Slot> = (start..end)
            .filter(|&s| self.live[s])
            .map(|s| s as Slot)
            .collect();
        let mut rows = Vec::with_capacity(slots.len() * self.dimension);
        for &slot in &slots {
            let start = slot as usize * self.dimension;
            rows.extend_from_slice(&self.exact[start..start + self.dimension]);
        }
        let versions = slots.iter().map(|&s| self.versions[s as usize]).collect();
        Some(RowBatch {
            slots,
            versions,
            rows,
        })
    }

    /// Installs `placements`, trained while this index kept serving: slots written since
    /// their rows were copied, and slots not copied at all, are assigned afresh. `None`
    /// (training failed) just ends the partitioning.
    pub fn install(&mut self, placements: Option<Placements>) {
        self.partitioning = false;
        let Some(placements) = placements else {
            return;
        };
        let mut partitions =
            Partitions::new(self.dimension, placements.centroids, placements.trained_for);
        let mut placed = vec![false; self.live.len()];
        for (slot, version, partition) in placements.placed {
            let index = slot as usize;
            if self.live.get(index).copied().unwrap_or(false) && self.versions[index] == version {
                partitions.place(slot, partition);
                placed[index] = true;
            }
        }
        for slot in (0..self.live.len()).filter(|&s| self.live[s] && !placed[s]) {
            let vector = &self.exact[slot * self.dimension..(slot + 1) * self.dimension];
            partitions.assign(slot as Slot, vector);
        }
        self.partitions = Some(partitions);
    }

    /// Partitions the index now, if due (see [`Self::partitioning_due`]).
    pub fn partition_if_due(&mut self) -> Result<(), TchError> {
        if !self.partitioning_due() {
            return Ok(());
        }
        let (sample, count) = self.start_partitioning();
        match train_partitions(&sample, self.dimension, count, |start| {
            self.rows_from(start)
        }) {
            Ok(placements) => {
                self.install(Some(placements));
                Ok(())
            }
            Err(err) => {
                self.install(None);
                Err(err)
            }
        }
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

/// Trains partitions on `sample` (row-major, `dimension` wide) for a collection of `count`
/// vectors, then assigns the rows `rows_from` copies, step by step from slot 0 (`None` ends).
pub fn train_partitions(
    sample: &[f32],
    dimension: usize,
    count: usize,
    mut rows_from: impl FnMut(usize) -> Option<RowBatch>,
) -> Result<Placements, TchError> {
    let centroids = partitions::train(sample, dimension, partitions::partitions_for(count))?;
    let mut placed = Vec::with_capacity(count);
    let mut start = 0;
    while let Some(batch) = rows_from(start) {
        let nearest = partitions::nearest_all(&batch.rows, dimension, &centroids)?;
        placed.extend(
            batch
                .slots
                .iter()
                .zip(&batch.versions)
                .zip(nearest)
                .map(|((&slot, &version), partition)| (slot, version, partition)),
        );
        start += PARTITIONING_STEP;
    }
    Ok(Placements {
        centroids,
        trained_for: count,
        placed,
    })
}

/// The members of the `probes` partitions nearest to `query`, and of further ones in order
/// until there are at least `wanted`.
fn nearest_members(
    partitions: &Partitions,
    query: &[f32],
    probes: usize,
    wanted: usize,
) -> Vec<Slot> {
    let mut slots = Vec::new();
    for (probed, partition) in partitions
        .ranked(query, partitions.len())
        .into_iter()
        .enumerate()
    {
        if probed >= probes && slots.len() >= wanted {
            break;
        }
        slots.extend_from_slice(partitions.members(partition));
    }
    slots
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random unit vectors clustered around 8 centres.
    fn vectors(count: usize, dimension: usize, seed: u64) -> Vec<Vec<f32>> {
        clustered(count, dimension, 8, seed)
    }

    /// Deterministic pseudo-random unit vectors clustered around `centres` centres.
    fn clustered(count: usize, dimension: usize, centres: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 10_000) as f32 / 5_000.0 - 1.0
        };
        let centre_count = centres;
        let centres: Vec<Vec<f32>> = (0..centre_count)
            .map(|_| (0..dimension).map(|_| next()).collect())
            .collect();
        (0..count)
            .map(|i| {
                let v: Vec<f32> = centres[i % centre_count]
                    .iter()
                    .map(|c| c + 0.4 * next())
                    .collect();
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
                .search(query, 10, 0, None)
                .into_iter()
                .map(|(s, _)| s)
                .collect();
            found += got.iter().filter(|s| expected.contains(s)).count();
        }
        let recall = found as f64 / (queries.len() * 10) as f64;
        assert!(recall >= 0.99, "recall@10 {recall}");
    }

    fn recall(index: &VectorIndex, data: &[Vec<f32>], queries: &[Vec<f32>], probes: usize) -> f64 {
        let mut found = 0;
        for query in queries {
            let expected = brute_force(data, query, 10);
            found += index
                .search(query, 10, probes, None)
                .iter()
                .filter(|(slot, _)| expected.contains(slot))
                .count();
        }
        found as f64 / (queries.len() * 10) as f64
    }

    #[test]
    fn partitioned_search_keeps_recall_and_follows_writes() {
        // Queries are held-out points of the same clusters, as real questions resemble
        // passages of the collection.
        let mut data = clustered(MIN_PARTITIONED + 2_100, 64, 200, 11);
        let queries = data.split_off(MIN_PARTITIONED + 2_000);
        let mut index = VectorIndex::new(64);
        for (slot, v) in data.iter().enumerate() {
            index.insert(slot as Slot, v);
        }
        assert!(index.partitioning_due());
        index.partition_if_due().expect("partition");
        assert!(!index.partitioning_due());
        let partitions = index.partitions.as_ref().expect("partitioned");
        let members: usize = (0..partitions.len() as u32)
            .map(|p| partitions.members(p).len())
            .sum();
        assert_eq!(members, index.len());
        let approximate = recall(&index, &data, &queries, 32);
        assert!(approximate >= 0.95, "recall@10 {approximate}");
        assert!(recall(&index, &data, &queries, 0) >= 0.99);

        index.remove(3);
        assert!(
            index
                .search(&data[3], 5, 16, None)
                .iter()
                .all(|(s, _)| *s != 3)
        );
        let fresh = data.len() as Slot;
        index.insert(fresh, &data[3]);
        let hits = index.search(&data[3], 1, 16, None);
        assert_eq!(hits[0].0, fresh);
        assert!((hits[0].1 - 1.0).abs() < 1e-5);
    }

    #[test]
    fn installing_placements_reassigns_slots_written_meanwhile() {
        let data = clustered(MIN_PARTITIONED, 32, 50, 21);
        let mut index = VectorIndex::new(32);
        for (slot, v) in data.iter().enumerate() {
            index.insert(slot as Slot, v);
        }
        let (sample, count) = index.start_partitioning();
        assert!(!index.partitioning_due(), "one partitioning at a time");
        let placements =
            train_partitions(&sample, 32, count, |start| index.rows_from(start)).expect("train");
        // Written while the placements were computed: a moved slot, a new one, a removed one.
        index.insert(0, &data[1]);
        index.insert(count as Slot, &data[2]);
        index.remove(5);
        index.install(Some(placements));
        let partitions = index.partitions.as_ref().expect("partitioned");
        let members: Vec<Slot> = (0..partitions.len() as u32)
            .flat_map(|p| partitions.members(p).to_vec())
            .collect();
        assert_eq!(members.len(), index.len());
        assert!(!members.contains(&5));
        assert!(members.contains(&(count as Slot)));
        let hits = index.search(&data[1], 2, 4, None);
        assert!(hits.iter().any(|(s, _)| *s == 0), "{hits:?}");
    }

    #[test]
    fn scores_are_exact_cosines_and_removal_and_filters_work() {
        let data = vectors(200, 48, 3);
        let mut index = VectorIndex::new(48);
        for (slot, v) in data.iter().enumerate() {
            index.insert(slot as Slot, v);
        }
        let hits = index.search(&data[5], 3, 0, None);
        assert_eq!(hits[0].0, 5);
        assert!((hits[0].1 - 1.0).abs() < 1e-5);
        index.remove(5);
        assert_eq!(index.len(), 199);
        assert!(
            index
                .search(&data[5], 10, 0, None)
                .iter()
                .all(|(s, _)| *s != 5)
        );
        let even = |slot: Slot| slot.is_multiple_of(2);
        let filtered = index.search(&data[7], 10, 0, Some(&even));
        assert_eq!(filtered.len(), 10);
        assert!(filtered.iter().all(|(s, _)| s.is_multiple_of(2)));
        index.insert(5, &data[6]);
        assert!((index.search(&data[6], 2, 0, None)[1].1 - 1.0).abs() < 1e-5);
        assert_eq!(index.vector(5), Some(data[6].as_slice()));
    }
}
