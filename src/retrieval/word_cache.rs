//! Slots of words in the small per-thread direct-mapped caches of the analyzer (stems)
//! and the decompounder (splits).

/// Number of entries of each per-thread word cache (a power of two).
pub(super) const CACHE_ENTRIES: usize = 4096;

/// Cache entry index of `word` (multiplicative hash over 8-byte chunks), below
/// [`CACHE_ENTRIES`].
pub(super) fn cache_index(word: &str) -> usize {
    let mut hash = word.len() as u64;
    for chunk in word.as_bytes().chunks(8) {
        let mut bytes = [0u8; 8];
        bytes[..chunk.len()].copy_from_slice(chunk);
        hash =
            (hash.rotate_left(26) ^ u64::from_le_bytes(bytes)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    (hash >> (64 - CACHE_ENTRIES.trailing_zeros())) as usize
}
