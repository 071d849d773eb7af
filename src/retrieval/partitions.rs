//! Inverted-file partitioning of one collection's vectors, so that a query scans the
//! vectors of the few partitions nearest to it instead of every vector.
//!
//! Spherical k-means on a sample places about `2·√n` unit centroids; every vector belongs to
//! the partition of its most similar centroid. Training and bulk assignment are matrix
//! products on libtorch; placing one new vector is a scan of the centroids. Duplicate and
//! near-duplicate vectors (common in legal corpora: boilerplate sections) simply share a
//! partition, where a proximity graph would lose connectivity.

use tch::{Device, Kind, TchError, Tensor};

use super::Slot;
use super::kernels::dot_f32;

/// Sampled training vectors per partition.
const SAMPLE_PER_PARTITION: usize = 32;
/// k-means rounds.
const ROUNDS: usize = 8;
/// Rows per matrix product when assigning many vectors.
const ASSIGN_BATCH: usize = 8_192;
/// `home` of a slot that is in no partition.
const UNASSIGNED: u32 = u32::MAX;

/// How many partitions suit `count` vectors.
pub fn partitions_for(count: usize) -> usize {
    ((count as f64).sqrt() * 2.0).round().max(1.0) as usize
}

/// How many sampled vectors train `partitions` partitions.
pub fn sample_size(partitions: usize) -> usize {
    partitions * SAMPLE_PER_PARTITION
}

/// Centroids and the members of each partition.
#[derive(Debug, Clone)]
pub struct Partitions {
    dimension: usize,
    centroids: Vec<f32>,
    members: Vec<Vec<Slot>>,
    home: Vec<u32>,
    position: Vec<u32>,
    trained_for: usize,
}

impl Partitions {
    /// Empty partitions around `centroids` (unit rows of `dimension`), trained when the
    /// collection held `trained_for` vectors.
    pub fn new(dimension: usize, centroids: Vec<f32>, trained_for: usize) -> Self {
        let count = centroids.len() / dimension;
        Self {
            dimension,
            centroids,
            members: vec![Vec::new(); count],
            home: Vec::new(),
            position: Vec::new(),
            trained_for,
        }
    }

    /// Number of partitions.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when there is no partition.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The collection size the centroids were trained for.
    pub fn trained_for(&self) -> usize {
        self.trained_for
    }

    /// Puts `slot` into `partition`, leaving any partition it was in.
    pub fn place(&mut self, slot: Slot, partition: u32) {
        self.remove(slot);
        let index = slot as usize;
        if index >= self.home.len() {
            self.home.resize(index + 1, UNASSIGNED);
            self.position.resize(index + 1, 0);
        }
        let members = &mut self.members[partition as usize];
        self.home[index] = partition;
        self.position[index] = members.len() as u32;
        members.push(slot);
    }

    /// Puts `slot` into the partition nearest to `vector`.
    pub fn assign(&mut self, slot: Slot, vector: &[f32]) {
        let nearest = self.ranked(vector, 1)[0];
        self.place(slot, nearest);
    }

    /// Takes `slot` out of its partition; a no-op if it is in none.
    pub fn remove(&mut self, slot: Slot) {
        let index = slot as usize;
        let Some(&partition) = self.home.get(index).filter(|p| **p != UNASSIGNED) else {
            return;
        };
        let members = &mut self.members[partition as usize];
        let position = self.position[index] as usize;
        members.swap_remove(position);
        if let Some(&moved) = members.get(position) {
            self.position[moved as usize] = position as u32;
        }
        self.home[index] = UNASSIGNED;
    }

    /// The `count` partitions whose centroids are most similar to `query`, best first.
    pub fn ranked(&self, query: &[f32], count: usize) -> Vec<u32> {
        let scored: Vec<(Slot, f32)> = self
            .centroids
            .chunks_exact(self.dimension)
            .enumerate()
            .map(|(partition, centroid)| (partition as u32, dot_f32(centroid, query)))
            .collect();
        super::vectors::best(scored, count.max(1))
            .into_iter()
            .map(|(partition, _)| partition)
            .collect()
    }

    /// The slots in `partition`.
    pub fn members(&self, partition: u32) -> &[Slot] {
        &self.members[partition as usize]
    }
}

/// `partitions` spherical k-means centroids (unit rows) of `sample`, row-major unit vectors
/// of `dimension`; seeded with evenly spaced sample rows, so the result is deterministic.
pub fn train(sample: &[f32], dimension: usize, partitions: usize) -> Result<Vec<f32>, TchError> {
    let _guard = tch::no_grad_guard();
    let rows = (sample.len() / dimension) as i64;
    let partitions = (partitions as i64).clamp(1, rows.max(1));
    let points = Tensor::from_slice(sample).f_view([rows, dimension as i64])?;
    let step = rows / partitions;
    let seeds =
        Tensor::f_arange_start_step(0, step * partitions, step, (Kind::Int64, Device::Cpu))?;
    let mut centroids = points.f_index_select(0, &seeds)?;
    for _ in 0..ROUNDS {
        let nearest = points.f_mm(&centroids.f_tr()?)?.f_argmax(1, false)?;
        let sums = Tensor::f_zeros([partitions, dimension as i64], (Kind::Float, Device::Cpu))?
            .f_index_add(0, &nearest, &points)?;
        let norms = sums.f_norm_scalaropt_dim(2, [1], true)?;
        let empty = norms.f_eq(0.0)?;
        let moved = sums.f_div(&norms.f_clamp_min(1e-12)?)?;
        centroids = centroids.f_where_self(&empty, &moved)?;
    }
    to_vec(&centroids)
}

/// The nearest of `centroids` (unit rows) to each row of `rows`, both row-major of `dimension`.
pub fn nearest_all(
    rows: &[f32],
    dimension: usize,
    centroids: &[f32],
) -> Result<Vec<u32>, TchError> {
    let _guard = tch::no_grad_guard();
    let centroids = Tensor::from_slice(centroids)
        .f_view([(centroids.len() / dimension) as i64, dimension as i64])?
        .f_tr()?;
    let mut nearest = Vec::with_capacity(rows.len() / dimension);
    for batch in rows.chunks(ASSIGN_BATCH * dimension) {
        let points = Tensor::from_slice(batch)
            .f_view([(batch.len() / dimension) as i64, dimension as i64])?;
        let best: Vec<i64> = to_vec(&points.f_mm(&centroids)?.f_argmax(1, false)?)?;
        nearest.extend(best.into_iter().map(|p| p as u32));
    }
    Ok(nearest)
}

fn to_vec<T: tch::kind::Element + Copy>(tensor: &Tensor) -> Result<Vec<T>, TchError> {
    Vec::<T>::try_from(&tensor.f_flatten(0, -1)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / norm).collect()
    }

    #[test]
    fn training_separates_well_separated_clusters() {
        let axes = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let mut sample = Vec::new();
        for i in 0..60 {
            let axis = axes[i % 3];
            let jitter = (i as f32 * 0.37).sin() * 0.05;
            sample.extend(unit(vec![
                axis[0] + jitter,
                axis[1] + jitter,
                axis[2] - jitter,
            ]));
        }
        let centroids = train(&sample, 3, 3).expect("train");
        let assigned = nearest_all(&sample, 3, &centroids).expect("assign");
        for cluster in 0..3 {
            let labels: Vec<u32> = assigned.iter().skip(cluster).step_by(3).copied().collect();
            assert!(
                labels.iter().all(|l| *l == labels[0]),
                "cluster {cluster}: {labels:?}"
            );
        }
        let distinct: std::collections::HashSet<u32> = assigned.iter().copied().collect();
        assert_eq!(distinct.len(), 3);
        for centroid in centroids.chunks_exact(3) {
            let norm: f32 = centroid.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn placing_moving_and_removing_keep_memberships_consistent() {
        let centroids = vec![1.0, 0.0, 0.0, 1.0];
        let mut partitions = Partitions::new(2, centroids, 4);
        partitions.assign(0, &[0.9, 0.1]);
        partitions.assign(1, &[0.2, 0.9]);
        partitions.assign(2, &[0.8, -0.1]);
        assert_eq!(partitions.members(0), &[0, 2]);
        assert_eq!(partitions.members(1), &[1]);
        partitions.assign(0, &[0.0, 1.0]);
        assert_eq!(partitions.members(0), &[2]);
        assert_eq!(partitions.members(1), &[1, 0]);
        partitions.remove(1);
        partitions.remove(7);
        assert_eq!(partitions.members(1), &[0]);
        assert_eq!(partitions.ranked(&[0.1, 0.9], 2), vec![1, 0]);
    }
}
