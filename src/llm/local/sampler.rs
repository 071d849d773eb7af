//! Choosing the next token from logits: greedy, or temperature + nucleus sampling with a
//! repetition penalty, from a seeded generator.

use crate::llm::Sampling;

/// Picks tokens for one sequence.
pub struct Sampler {
    temperature: f32,
    top_p: f32,
    repetition_penalty: f32,
    rng: SplitMix64,
}

impl Sampler {
    /// A sampler for `sampling`; `greedy` forces temperature 0.
    pub fn new(sampling: &Sampling, greedy: bool) -> Self {
        let seed = sampling.seed.unwrap_or_else(random_seed);
        Self {
            temperature: if greedy { 0.0 } else { sampling.temperature },
            top_p: sampling.top_p,
            repetition_penalty: sampling.repetition_penalty,
            rng: SplitMix64(seed),
        }
    }

    /// The next token after `context` (prompt and generated tokens) given its `logits`.
    pub fn next(&mut self, logits: &mut [f32], context: &[u32]) -> u32 {
        if self.repetition_penalty != 1.0 && self.repetition_penalty > 0.0 {
            penalise(logits, context, self.repetition_penalty);
        }
        if self.temperature <= 0.0 {
            return argmax(logits);
        }
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut candidates: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .map(|(id, &l)| (id as u32, ((l - max) / self.temperature).exp()))
            .collect();
        candidates.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
        let total: f32 = candidates.iter().map(|c| c.1).sum();
        let mut kept = 0.0;
        let cutoff = candidates
            .iter()
            .position(|c| {
                kept += c.1;
                kept >= self.top_p.clamp(0.0, 1.0) * total
            })
            .map_or(candidates.len(), |i| i + 1);
        candidates.truncate(cutoff);
        let mut target = self.rng.next_f32() * kept.min(total);
        for &(id, weight) in &candidates {
            if target < weight {
                return id;
            }
            target -= weight;
        }
        candidates.last().map_or(0, |c| c.0)
    }
}

/// The index of the largest logit (the first of ties).
fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// CTRL's repetition penalty: tokens already seen are made less likely.
fn penalise(logits: &mut [f32], context: &[u32], penalty: f32) {
    let mut seen = vec![false; logits.len()];
    for &id in context {
        if let Some(flag) = seen.get_mut(id as usize).filter(|f| !**f) {
            *flag = true;
            let l = &mut logits[id as usize];
            *l = if *l > 0.0 { *l / penalty } else { *l * penalty };
        }
    }
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// Steele et al.'s SplitMix64: small, fast and good enough for sampling.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampling(temperature: f32, top_p: f32, seed: u64) -> Sampling {
        Sampling {
            temperature,
            top_p,
            seed: Some(seed),
            ..Sampling::default()
        }
    }

    #[test]
    fn greedy_takes_the_best_and_penalises_repeats() {
        let mut logits = [1.0, 3.0, 2.0];
        assert_eq!(
            Sampler::new(&sampling(0.0, 1.0, 1), false).next(&mut logits, &[]),
            1
        );
        let mut penalised = Sampler::new(
            &Sampling {
                repetition_penalty: 2.0,
                ..sampling(0.0, 1.0, 1)
            },
            false,
        );
        assert_eq!(penalised.next(&mut [1.0, 3.0, 2.0], &[1, 1]), 2);
    }

    #[test]
    fn a_seed_reproduces_samples_and_top_p_cuts_the_tail() {
        let draw = |seed| {
            let mut sampler = Sampler::new(&sampling(1.0, 1.0, seed), false);
            (0..20)
                .map(|_| sampler.next(&mut [0.0, 0.1, 0.2, 0.3], &[]))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert!(
            draw(7)
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len()
                > 1
        );
        let mut narrow = Sampler::new(&sampling(1.0, 0.5, 3), false);
        for _ in 0..50 {
            assert_eq!(narrow.next(&mut [0.0, 5.0, 0.0], &[]), 1);
        }
        let mut forced = Sampler::new(&sampling(1.0, 1.0, 3), true);
        assert_eq!(forced.next(&mut [0.0, 0.1, 0.2], &[]), 2);
    }
}
