//! The storage formats of GGUF tensor data and their dequantisation to f32, vectorised on
//! libtorch: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1. 4-bit blocks can also be
//! handed over unexpanded ([`Q4Blocks`]) for the packed int4 matrix kernel.

use tch::{Kind, Tensor};

use super::{Result, malformed};
use crate::inference::InferenceError;

/// Elements per block of the 32-element quantisation formats.
pub const BLOCK: usize = 32;

/// How a tensor's elements are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    BF16,
    /// Blocks of 32: f16 scale, 32 signed bytes.
    Q8_0,
    /// Blocks of 32: f16 scale, 32 nibbles offset by 8.
    Q4_0,
    /// Blocks of 32: f16 scale and minimum, 32 nibbles.
    Q4_1,
    /// Blocks of 32: f16 scale, 32 five-bit values offset by 16.
    Q5_0,
    /// Blocks of 32: f16 scale and minimum, 32 five-bit values.
    Q5_1,
    /// A type this module does not dequantise (its ggml id).
    Other(u32),
}

impl GgmlType {
    /// Bytes per block and elements per block, for the types this module reads.
    pub(super) fn layout(self) -> Option<(usize, usize)> {
        match self {
            GgmlType::F32 => Some((4, 1)),
            GgmlType::F16 | GgmlType::BF16 => Some((2, 1)),
            GgmlType::Q8_0 => Some((2 + BLOCK, BLOCK)),
            GgmlType::Q4_0 => Some((2 + BLOCK / 2, BLOCK)),
            GgmlType::Q4_1 => Some((4 + BLOCK / 2, BLOCK)),
            GgmlType::Q5_0 => Some((6 + BLOCK / 2, BLOCK)),
            GgmlType::Q5_1 => Some((8 + BLOCK / 2, BLOCK)),
            GgmlType::Other(_) => None,
        }
    }
}
/// The 4-bit blocks of a Q4_0 / Q4_1 matrix, unexpanded: `value = (nibble - 8) * scale + zero`.
pub struct Q4Blocks {
    /// `[rows, cols]` nibbles (0..=15) as int32, in element order.
    pub nibbles: Tensor,
    /// `[rows, cols / 32]` f32 scales.
    pub scales: Tensor,
    /// `[rows, cols / 32]` f32 zero points (the value of nibble 8).
    pub zeros: Tensor,
}

/// Dequantises `bytes` of type `dtype` into an f32 CPU tensor of `shape`.
pub fn dequantize(dtype: GgmlType, bytes: &[u8], shape: &[i64]) -> Result<Tensor> {
    let flat = match dtype {
        GgmlType::F32 => raw(bytes, Kind::Float)?,
        GgmlType::F16 => raw(bytes, Kind::Half)?.to_kind(Kind::Float),
        GgmlType::BF16 => raw(bytes, Kind::BFloat16)?.to_kind(Kind::Float),
        GgmlType::Q8_0 => {
            let table = block_table(dtype, bytes)?;
            let scale = half_column(&table, 0);
            let values = table.narrow(1, 2, BLOCK as i64).view_dtype(Kind::Int8);
            values.to_kind(Kind::Float) * scale
        }
        GgmlType::Q4_0 | GgmlType::Q4_1 => {
            let parts = q4_parts(dtype, &block_table(dtype, bytes)?);
            (parts.nibbles.to_kind(Kind::Float) - 8.0) * parts.scale + parts.zero
        }
        GgmlType::Q5_0 | GgmlType::Q5_1 => {
            let table = block_table(dtype, bytes)?;
            let scale = half_column(&table, 0);
            let (high_at, zero) = if dtype == GgmlType::Q5_0 {
                (2, scale.shallow_clone() * -16.0)
            } else {
                (4, half_column(&table, 2))
            };
            // Bit j of the little-endian u32 `qh` is the fifth bit of element j.
            let shifts = Tensor::arange(BLOCK as i64, (Kind::Int64, tch::Device::Cpu)).remainder(8);
            let fifth = table
                .narrow(1, high_at, 4)
                .to_kind(Kind::Int64)
                .repeat_interleave_self_int(8, 1, None)
                .bitwise_right_shift(&shifts)
                .bitwise_and(1);
            let low = nibbles(&table.narrow(1, high_at + 4, BLOCK as i64 / 2));
            let values = low.to_kind(Kind::Int64) + fifth * 16;
            values.to_kind(Kind::Float) * scale + zero
        }
        GgmlType::Other(id) => {
            return Err(InferenceError::Unsupported(format!("ggml type {id}")));
        }
    };
    Ok(flat.reshape(shape))
}

/// Bytes as a 1-D tensor of `kind` (copied, so alignment does not matter).
fn raw(bytes: &[u8], kind: Kind) -> Result<Tensor> {
    let size = kind.elt_size_in_bytes();
    if !bytes.len().is_multiple_of(size) {
        return Err(malformed("tensor data is not whole elements"));
    }
    Ok(Tensor::f_from_data_size(
        bytes,
        &[(bytes.len() / size) as i64],
        kind,
    )?)
}

/// The blocks as a `[blocks, block_bytes]` uint8 tensor.
fn block_table(dtype: GgmlType, bytes: &[u8]) -> Result<Tensor> {
    let (block_bytes, _) = dtype.layout().expect("a block type");
    if !bytes.len().is_multiple_of(block_bytes) {
        return Err(malformed("tensor data is not whole blocks"));
    }
    Ok(raw(bytes, Kind::Uint8)?.view([-1, block_bytes as i64]))
}

/// The f16 at byte `at` of every block, as a `[blocks, 1]` f32 column.
fn half_column(table: &Tensor, at: i64) -> Tensor {
    table
        .narrow(1, at, 2)
        .contiguous()
        .view_dtype(Kind::Half)
        .to_kind(Kind::Float)
}

/// The 32 nibbles of `[blocks, 16]` packed bytes in element order: low nibbles are elements
/// 0..16, high nibbles 16..32.
fn nibbles(packed: &Tensor) -> Tensor {
    Tensor::cat(
        &[
            packed.bitwise_and(0x0F),
            packed.bitwise_right_shift_tensor_scalar(4),
        ],
        1,
    )
}

/// Per-block parts of Q4_0 / Q4_1 in the `(nibble - 8) * scale + zero` form.
struct Q4Parts {
    nibbles: Tensor,
    scale: Tensor,
    zero: Tensor,
}

fn q4_parts(dtype: GgmlType, table: &Tensor) -> Q4Parts {
    let scale = half_column(table, 0);
    let (zero, packed_at) = if dtype == GgmlType::Q4_0 {
        (scale.zeros_like(), 2)
    } else {
        // Q4_1 stores `nibble * scale + min`; in the centred form the zero is `min + 8 scale`.
        (half_column(table, 2) + scale.shallow_clone() * 8.0, 4)
    };
    Q4Parts {
        nibbles: nibbles(&table.narrow(1, packed_at, BLOCK as i64 / 2)),
        scale,
        zero,
    }
}

/// The blocks of a Q4_0 / Q4_1 matrix of torch shape `[rows, cols]` unexpanded.
pub(super) fn q4_blocks(dtype: GgmlType, bytes: &[u8], shape: [i64; 2]) -> Result<Q4Blocks> {
    let blocks = q4_parts(dtype, &block_table(dtype, bytes)?);
    let groups = [shape[0], shape[1] / BLOCK as i64];
    Ok(Q4Blocks {
        nibbles: blocks.nibbles.view(shape).to_kind(Kind::Int),
        scales: blocks.scale.view(groups),
        zeros: blocks.zero.view(groups),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f16 bits of a few exactly representable values.
    const HALF_ONE: [u8; 2] = [0x00, 0x3C];
    const HALF_HALF: [u8; 2] = [0x00, 0x38];
    const HALF_MINUS_TWO: [u8; 2] = [0x00, 0xC0];

    fn values(dtype: GgmlType, bytes: &[u8]) -> Vec<f32> {
        let count = (bytes.len() / dtype.layout().unwrap().0 * dtype.layout().unwrap().1) as i64;
        Vec::<f32>::try_from(dequantize(dtype, bytes, &[count]).unwrap()).unwrap()
    }

    /// 16 bytes whose low nibble is `j % 16` and high nibble `15 - j % 16`.
    fn packed_ramp() -> Vec<u8> {
        (0u8..16).map(|j| j | ((15 - j) << 4)).collect()
    }

    #[test]
    fn plain_floats() {
        let f32s: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(values(GgmlType::F32, &f32s), [1.5, -2.0]);
        let halves = [HALF_ONE, HALF_MINUS_TWO].concat();
        assert_eq!(values(GgmlType::F16, &halves), [1.0, -2.0]);
        // bf16 is the top half of an f32: 0x3FC0 = 1.5, 0xC000 = -2.
        assert_eq!(
            values(GgmlType::BF16, &[0xC0, 0x3F, 0x00, 0xC0]),
            [1.5, -2.0]
        );
    }

    #[test]
    fn q8_0_scales_signed_bytes() {
        let mut block = HALF_HALF.to_vec();
        block.extend((0..32).map(|j| (j as i8 - 16) as u8));
        let expected: Vec<f32> = (0..32).map(|j| (j - 16) as f32 * 0.5).collect();
        assert_eq!(values(GgmlType::Q8_0, &block), expected);
    }

    #[test]
    fn q4_0_centres_nibbles() {
        let block = [HALF_HALF.as_slice(), &packed_ramp()].concat();
        let expected: Vec<f32> = (0..32)
            .map(|j| {
                let nibble = if j < 16 { j } else { 15 - (j - 16) };
                (nibble - 8) as f32 * 0.5
            })
            .collect();
        assert_eq!(values(GgmlType::Q4_0, &block), expected);
    }

    #[test]
    fn q4_1_adds_the_minimum() {
        let block = [HALF_HALF.as_slice(), &HALF_MINUS_TWO, &packed_ramp()].concat();
        let expected: Vec<f32> = (0..32)
            .map(|j| {
                let nibble = if j < 16 { j } else { 15 - (j - 16) };
                nibble as f32 * 0.5 - 2.0
            })
            .collect();
        assert_eq!(values(GgmlType::Q4_1, &block), expected);
    }

    #[test]
    fn q5_formats_take_the_fifth_bit_from_qh() {
        // Fifth bit set for elements 0 and 17 only.
        let qh = (1u32 | (1 << 17)).to_le_bytes();
        let fives = |j: i32| {
            let nibble = if j < 16 { j } else { 15 - (j - 16) };
            nibble + if j == 0 || j == 17 { 16 } else { 0 }
        };
        let q5_0 = [HALF_HALF.as_slice(), &qh, &packed_ramp()].concat();
        let expected: Vec<f32> = (0..32).map(|j| (fives(j) - 16) as f32 * 0.5).collect();
        assert_eq!(values(GgmlType::Q5_0, &q5_0), expected);
        let q5_1 = [HALF_HALF.as_slice(), &HALF_MINUS_TWO, &qh, &packed_ramp()].concat();
        let expected: Vec<f32> = (0..32).map(|j| fives(j) as f32 * 0.5 - 2.0).collect();
        assert_eq!(values(GgmlType::Q5_1, &q5_1), expected);
    }

    #[test]
    fn q4_blocks_match_dequantisation() {
        let block = [HALF_HALF.as_slice(), &HALF_MINUS_TWO, &packed_ramp()].concat();
        let table = block_table(GgmlType::Q4_1, &block).unwrap();
        let parts = q4_parts(GgmlType::Q4_1, &table);
        let rebuilt = (parts.nibbles.to_kind(Kind::Float) - 8.0) * parts.scale + parts.zero;
        let direct = dequantize(GgmlType::Q4_1, &block, &[1, 32]).unwrap();
        assert!(rebuilt.view([1, 32]).equal(&direct));
    }
}
