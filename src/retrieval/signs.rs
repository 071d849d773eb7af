//! One-bit sign codes of a collection's vectors, for a cheap first pass over all of them.
//!
//! A vector is coded as the signs of its difference from the collection's centre (the mean
//! vector: sentence embeddings share a large common component, so the signs of the raw
//! values would say little). The Hamming distance between two codes tracks the angle
//! between the centred vectors, so the rows nearest to a query's code form a shortlist that
//! holds its nearest neighbours with high probability; [`super::vectors`] rescores the
//! shortlist exactly. A code is 1/32 of the f32 vector, so scanning every code reads less
//! memory than anything else that looks at every row. The centre is recomputed, and every
//! code with it, whenever the collection has doubled since; that costs O(dimension) per
//! insert, amortised.

use super::Slot;
use super::snapshot::{Decoder, Encoder, corrupt};

/// Sign codes of one collection's vectors, addressed by slot.
#[derive(Debug, Clone)]
pub struct SignCodes {
    dimension: usize,
    words: usize,
    codes: Vec<u64>,
    centre: Vec<f32>,
    centred_for: usize,
}

impl SignCodes {
    /// No codes yet, for vectors of `dimension`.
    pub fn new(dimension: usize) -> Self {
        Self {
            dimension,
            words: dimension.div_ceil(64),
            codes: Vec::new(),
            centre: vec![0.0; dimension],
            centred_for: 0,
        }
    }

    /// Codes `vector` as the code of `slot`.
    pub fn set(&mut self, slot: Slot, vector: &[f32]) {
        let start = slot as usize * self.words;
        if self.codes.len() < start + self.words {
            self.codes.resize(start + self.words, 0);
        }
        encode(
            vector,
            &self.centre,
            &mut self.codes[start..start + self.words],
        );
    }

    /// Whether a collection of `count` vectors has doubled since the centre was computed.
    pub fn needs_recentring(&self, count: usize) -> bool {
        count >= 2 * self.centred_for.max(1)
    }

    /// Makes the mean of `rows` (every live slot and its vector) the centre and recodes them.
    pub fn recentre<'a>(&mut self, rows: impl Iterator<Item = (Slot, &'a [f32])> + Clone) {
        let mut sum = vec![0f64; self.dimension];
        let mut count = 0;
        for (_, vector) in rows.clone() {
            for (total, value) in sum.iter_mut().zip(vector) {
                *total += f64::from(*value);
            }
            count += 1;
        }
        if count == 0 {
            return;
        }
        self.centre = sum
            .iter()
            .map(|total| (total / count as f64) as f32)
            .collect();
        self.centred_for = count;
        for (slot, vector) in rows {
            self.set(slot, vector);
        }
    }

    /// The (at most) `size` slots among `slots` whose codes are nearest to the code of
    /// `query`; ties at the cut are taken in slot order.
    pub fn shortlist(
        &self,
        query: &[f32],
        size: usize,
        slots: impl Iterator<Item = Slot>,
    ) -> Vec<Slot> {
        let mut code = vec![0u64; self.words];
        encode(query, &self.centre, &mut code);
        let (distances, histogram) = self.distances(&code, slots);
        let (mut cut, mut below) = (0, 0);
        while cut < self.dimension && below + histogram[cut] < size {
            below += histogram[cut];
            cut += 1;
        }
        let mut at_cut = size.saturating_sub(below);
        distances
            .into_iter()
            .filter(|&(_, distance)| {
                let distance = distance as usize;
                let keep = distance < cut || (distance == cut && at_cut > 0);
                if distance == cut && keep {
                    at_cut -= 1;
                }
                keep
            })
            .map(|(slot, _)| slot)
            .collect()
    }

    /// The Hamming distance of each of `slots` to `code`, and how many rows are at each
    /// distance; with the CPU's popcount instruction where it has one.
    fn distances(&self, code: &[u64], slots: impl Iterator<Item = Slot>) -> Distances {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports POPCNT, checked just above.
            return unsafe { self.distances_popcnt(code, slots) };
        }
        self.distances_portable(code, slots)
    }

    /// [`Self::distances_portable`] compiled with POPCNT.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn distances_popcnt(
        &self,
        code: &[u64],
        slots: impl Iterator<Item = Slot>,
    ) -> Distances {
        self.distances_portable(code, slots)
    }

    /// Dispatches to a loop unrolled for the code width of common embedding sizes.
    #[inline(always)]
    fn distances_portable(&self, code: &[u64], slots: impl Iterator<Item = Slot>) -> Distances {
        match self.words {
            6 => self.distances_of::<6>(code, slots),
            12 => self.distances_of::<12>(code, slots),
            16 => self.distances_of::<16>(code, slots),
            _ => self.distances_of::<0>(code, slots),
        }
    }

    /// A plain loop, so that the popcounts are compiled with the caller's features; `WORDS`
    /// is the code width when known at compile time, 0 when not.
    #[inline(always)]
    fn distances_of<const WORDS: usize>(
        &self,
        code: &[u64],
        slots: impl Iterator<Item = Slot>,
    ) -> Distances {
        let words = if WORDS == 0 { self.words } else { WORDS };
        let code = &code[..words];
        let mut distances = Vec::with_capacity(self.codes.len() / words.max(1));
        let mut histogram = vec![0usize; self.dimension + 1];
        for slot in slots {
            let start = slot as usize * words;
            let row = &self.codes[start..start + words];
            let mut distance = 0;
            for i in 0..words {
                distance += (row[i] ^ code[i]).count_ones();
            }
            histogram[distance as usize] += 1;
            distances.push((slot, distance as u16));
        }
        (distances, histogram)
    }
}

impl SignCodes {
    /// Writes the centre to a snapshot; the codes follow from it and the vectors.
    pub(super) fn encode<W: std::io::Write>(&self, out: &mut Encoder<W>) -> std::io::Result<()> {
        out.array(&self.centre)?;
        out.len(self.centred_for)
    }

    /// No codes yet, around the centre written by [`SignCodes::encode`]: set every live
    /// vector's code with [`SignCodes::set`].
    pub(super) fn decode<R: std::io::Read>(
        input: &mut Decoder<R>,
        dimension: usize,
    ) -> std::io::Result<Self> {
        let centre: Vec<f32> = input.array()?;
        if centre.len() != dimension {
            return Err(corrupt("sign-code centre of the wrong size"));
        }
        let centred_for: u64 = input.number()?;
        Ok(Self {
            centre,
            centred_for: centred_for as usize,
            ..Self::new(dimension)
        })
    }
}

/// Each row's distance, and the number of rows at each distance.
type Distances = (Vec<(Slot, u16)>, Vec<usize>);

/// Sets bit `i` of `code` when `vector[i]` exceeds `centre[i]`.
fn encode(vector: &[f32], centre: &[f32], code: &mut [u64]) {
    code.fill(0);
    for (i, (value, mean)) in vector.iter().zip(centre).enumerate() {
        if value > mean {
            code[i / 64] |= 1 << (i % 64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortlists_the_nearest_codes_and_cuts_ties_in_slot_order() {
        let mut codes = SignCodes::new(4);
        let rows: Vec<[f32; 4]> = vec![
            [1.0, 1.0, 1.0, 1.0],
            [1.0, 1.0, 1.0, -1.0],
            [-1.0, -1.0, -1.0, -1.0],
            [1.0, 1.0, -1.0, -1.0],
            [1.0, 1.0, 1.0, -1.0],
        ];
        for (slot, row) in rows.iter().enumerate() {
            codes.set(slot as Slot, row);
        }
        let query = [1.0, 1.0, 1.0, 0.5];
        assert_eq!(codes.shortlist(&query, 1, 0..5), vec![0]);
        assert_eq!(codes.shortlist(&query, 2, 0..5), vec![0, 1]);
        assert_eq!(codes.shortlist(&query, 3, 0..5), vec![0, 1, 4]);
        assert_eq!(codes.shortlist(&query, 10, 0..5).len(), 5);
        assert_eq!(codes.shortlist(&query, 2, [2, 3].into_iter()), vec![2, 3]);
    }

    #[test]
    fn recentring_codes_the_signs_around_the_mean() {
        let mut codes = SignCodes::new(2);
        // Every vector leans to +x; only the centred signs tell them apart.
        let rows = [[0.9f32, 0.2], [0.8, -0.1], [1.0, 0.3]];
        assert!(codes.needs_recentring(3));
        codes.recentre(rows.iter().enumerate().map(|(i, r)| (i as Slot, &r[..])));
        assert!(!codes.needs_recentring(5));
        assert!(codes.needs_recentring(6));
        assert_eq!(codes.shortlist(&[1.0, 0.3], 1, 0..3), vec![2]);
        assert_eq!(codes.shortlist(&[0.8, -0.2], 1, 0..3), vec![1]);
    }
}
