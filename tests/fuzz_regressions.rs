//! Inputs that once crashed a fuzz target (or a reading of its code), kept so the fix stays:
//! each must now give an error or a value, never a panic, an overflow or a stack overflow.

use constitutional_rag::inference::gguf::GgufFile;

/// GGML type ids.
const F32: u32 = 0;
const Q4_0: u32 = 2;
/// GGUF metadata value types.
const ARRAY: u32 = 9;
const U8: u32 = 0;

/// The bytes of a GGUF v3 file: `metadata` (already encoded key/value pairs, `kv_count` of
/// them), one tensor `t` with `dims`, type `dtype` and `offset`, and `data` after the header
/// padded to 32 bytes.
fn gguf(
    kv_count: u64,
    metadata: &[u8],
    dims: &[u64],
    dtype: u32,
    offset: u64,
    data: &[u8],
) -> Vec<u8> {
    let mut bytes = b"GGUF".to_vec();
    bytes.extend(3u32.to_le_bytes());
    bytes.extend(1u64.to_le_bytes());
    bytes.extend(kv_count.to_le_bytes());
    bytes.extend(metadata);
    bytes.extend(1u64.to_le_bytes());
    bytes.push(b't');
    bytes.extend((dims.len() as u32).to_le_bytes());
    for dim in dims {
        bytes.extend(dim.to_le_bytes());
    }
    bytes.extend(dtype.to_le_bytes());
    bytes.extend(offset.to_le_bytes());
    bytes.resize(bytes.len().div_ceil(32) * 32, 0);
    bytes.extend(data);
    bytes
}

/// Parses `bytes` and takes every tensor every way the decoder does.
fn read_all(bytes: Vec<u8>) -> Result<(), String> {
    let file = GgufFile::parse(bytes).map_err(|e| e.to_string())?;
    for info in &file.tensors {
        file.dequantize(&info.name)
            .map(drop)
            .map_err(|e| e.to_string())?;
        file.q4_blocks(&info.name).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[test]
fn a_dimension_beyond_i64_is_an_error() {
    // Zero elements, so no data is needed; the shape would be negative in torch.
    let bytes = gguf(0, &[], &[1 << 63, 0], F32, 0, &[]);
    let err = read_all(bytes).unwrap_err();
    assert!(err.contains("too large"), "{err}");
}

#[test]
fn zero_elements_whose_other_dimensions_overflow_are_an_error() {
    // Torch multiplies the shape's dimensions before it meets the zero: 4 * 2^62 overflows.
    let bytes = gguf(0, &[], &[0, 1 << 62, 4], F32, 0, &[]);
    let err = read_all(bytes).unwrap_err();
    assert!(err.contains("too large"), "{err}");
}

#[test]
fn fuzz_crash_zero_element_tensor_with_overflowing_shape() {
    // Found by `just fuzz` (gguf target): torch's reshape panicked with "numel: integer
    // multiplication overflow".
    let bytes = include_bytes!("data/fuzz/gguf-zero-element-overflow").to_vec();
    assert!(read_all(bytes).is_err());
}

#[test]
fn an_element_count_beyond_u64_is_an_error() {
    let bytes = gguf(0, &[], &[1 << 32, 1 << 32], F32, 0, &[]);
    assert!(read_all(bytes).is_err());
}

#[test]
fn an_offset_near_u64_max_is_an_error() {
    let bytes = gguf(0, &[], &[1], F32, u64::MAX - 3, &[0; 4]);
    let err = read_all(bytes).unwrap_err();
    assert!(err.contains("past the file end"), "{err}");
}

#[test]
fn a_q4_matrix_whose_rows_are_not_whole_blocks_is_an_error() {
    // 16 columns x 2 rows: 32 elements, one block, but rows of half a block.
    let bytes = gguf(0, &[], &[16, 2], Q4_0, 0, &[0; 18]);
    let err = read_all(bytes).unwrap_err();
    assert!(err.contains("partial block"), "{err}");
}

#[test]
fn deeply_nested_metadata_arrays_are_an_error() {
    // key "k", then 100,000 arrays each holding one array, around one u8.
    let mut metadata = 1u64.to_le_bytes().to_vec();
    metadata.push(b'k');
    metadata.extend(ARRAY.to_le_bytes());
    for _ in 0..100_000 {
        metadata.extend(ARRAY.to_le_bytes());
        metadata.extend(1u64.to_le_bytes());
    }
    metadata.extend(U8.to_le_bytes());
    metadata.extend(1u64.to_le_bytes());
    metadata.push(7);
    let bytes = gguf(1, &metadata, &[1], F32, 0, &[0; 4]);
    let err = read_all(bytes).unwrap_err();
    assert!(err.contains("nested too deeply"), "{err}");
}
