//! Dot products of the dense index: int8 (approximate scoring) and f32 (exact rescoring and
//! centroid ranking), with AVX2/FMA versions picked at run time on x86-64 CPUs that have
//! them and portable fixed-lane loops elsewhere, which compute bit-identical results.

/// Integer dot product of two equally long slices.
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { x86::dot_i8(a, b) };
    }
    portable::dot_i8(a, b)
}

/// f32 dot product of two equally long slices.
#[inline]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        return unsafe { x86::dot_f32(a, b) };
    }
    portable::dot_f32(a, b)
}

mod portable {
    /// Integer dot product in fixed lanes.
    pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
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

    /// f32 dot product with the very operations of the AVX2 kernel — 16 lanes of fused
    /// multiply-adds, folded 16→8→4→2→1 in the same order, then the tail — so that every
    /// machine computes bit-identical scores (servers on different CPUs rank alike).
    pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
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
                acc[lane] = ca[lane].mul_add(cb[lane], acc[lane]);
            }
        }
        let mut width = LANES;
        while width > 1 {
            width /= 2;
            for lane in 0..width {
                acc[lane] += acc[lane + width];
            }
        }
        acc[0] + tail
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        _mm_add_epi32, _mm_add_ps, _mm_add_ss, _mm_cvtsi128_si32, _mm_cvtss_f32, _mm_loadu_si128,
        _mm_movehl_ps, _mm_shuffle_epi32, _mm_shuffle_ps, _mm_unpackhi_epi64, _mm256_add_epi32,
        _mm256_add_ps, _mm256_castps256_ps128, _mm256_castsi256_si128, _mm256_cvtepi8_epi16,
        _mm256_extractf128_ps, _mm256_extracti128_si256, _mm256_fmadd_ps, _mm256_loadu_ps,
        _mm256_madd_epi16, _mm256_setzero_ps, _mm256_setzero_si256,
    };

    /// Sign-extends 16 bytes at a time to 16-bit lanes and multiply-adds pairs into 32-bit
    /// lanes (`vpmaddwd`), which cannot overflow for int8 inputs.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
        const STEP: usize = 16;
        let blocks = a.len() / STEP;
        let mut acc = _mm256_setzero_si256();
        for i in 0..blocks {
            // SAFETY: block `i` lies within both slices (i < len / 16); loads are unaligned.
            let (x, y) = unsafe {
                (
                    _mm_loadu_si128(a.as_ptr().add(i * STEP).cast()),
                    _mm_loadu_si128(b.as_ptr().add(i * STEP).cast()),
                )
            };
            let products = _mm256_madd_epi16(_mm256_cvtepi8_epi16(x), _mm256_cvtepi8_epi16(y));
            acc = _mm256_add_epi32(acc, products);
        }
        let halves = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256(acc, 1),
        );
        let pairs = _mm_add_epi32(halves, _mm_unpackhi_epi64(halves, halves));
        let sum = _mm_add_epi32(pairs, _mm_shuffle_epi32(pairs, 0b01));
        let tail: i32 = a[blocks * STEP..]
            .iter()
            .zip(&b[blocks * STEP..])
            .map(|(x, y)| i32::from(*x) * i32::from(*y))
            .sum();
        _mm_cvtsi128_si32(sum) + tail
    }

    /// Two independent 8-lane FMA accumulators.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
        const STEP: usize = 16;
        let blocks = a.len() / STEP;
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        for i in 0..blocks {
            // SAFETY: block `i` lies within both slices (i < len / 16); loads are unaligned.
            unsafe {
                let (pa, pb) = (a.as_ptr().add(i * STEP), b.as_ptr().add(i * STEP));
                acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa), _mm256_loadu_ps(pb), acc0);
                acc1 =
                    _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(8)), _mm256_loadu_ps(pb.add(8)), acc1);
            }
        }
        // Folded in halves (lane i + lane i + width), as the portable kernel does.
        let acc = _mm256_add_ps(acc0, acc1);
        let halves = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        let pairs = _mm_add_ps(halves, _mm_movehl_ps(halves, halves));
        let sum = _mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 0b01));
        let tail: f32 = a[blocks * STEP..]
            .iter()
            .zip(&b[blocks * STEP..])
            .map(|(x, y)| x * y)
            .sum();
        _mm_cvtss_f32(sum) + tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern_i8(len: usize, modulus: i32, offset: i32) -> Vec<i8> {
        (0..len as i32)
            .map(|i| ((i * 37) % modulus - offset) as i8)
            .collect()
    }

    #[test]
    fn integer_dots_agree_with_the_definition_at_every_length() {
        for len in [0, 1, 15, 16, 17, 70, 384, 1_000] {
            let a = pattern_i8(len, 255, 127);
            let b = pattern_i8(len, 253, 126);
            let expected: i32 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| i32::from(*x) * i32::from(*y))
                .sum();
            assert_eq!(dot_i8(&a, &b), expected, "len {len}");
            assert_eq!(portable::dot_i8(&a, &b), expected, "len {len}");
        }
        let extreme = vec![-128i8; 384];
        assert_eq!(dot_i8(&extreme, &extreme), 384 * 128 * 128);
    }

    #[test]
    fn float_dots_agree_with_the_definition_at_every_length() {
        for len in [0, 1, 15, 16, 17, 70, 384] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let expected: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            assert!(
                (f64::from(dot_f32(&a, &b)) - expected).abs() < 1e-4,
                "len {len}"
            );
            assert!(
                (f64::from(portable::dot_f32(&a, &b)) - expected).abs() < 1e-4,
                "len {len}"
            );
        }
    }

    #[test]
    fn float_dots_are_bit_identical_on_every_kernel() {
        for len in [0, 1, 15, 16, 17, 70, 384, 768, 1_000] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin() * 1e3).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos() / 7.0).collect();
            assert_eq!(
                dot_f32(&a, &b).to_bits(),
                portable::dot_f32(&a, &b).to_bits(),
                "len {len}"
            );
        }
    }
}
