//! Key secrets: 32 bytes from the operating system's RNG, written as `crag_` + 64 hex digits,
//! and the digest under which a secret is stored and looked up.

use crate::error::{AppError, AppResult};

/// Start of every key, so that leaked keys are easy to recognise and scan for.
const PREFIX: &str = "crag_";

/// Random bytes in a key.
const SECRET_BYTES: usize = 32;

/// Domain separation of the digest (blake3 key derivation mode).
const DIGEST_CONTEXT: &str = "constitutional-rag 2025 api key digest v1";

/// A fresh key secret.
pub(super) fn generate() -> AppResult<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(format!("the OS random number generator failed: {e}")))?;
    let mut key = String::with_capacity(PREFIX.len() + 2 * SECRET_BYTES);
    key.push_str(PREFIX);
    for byte in bytes {
        key.push_str(&format!("{byte:02x}"));
    }
    Ok(key)
}

/// The digest under which a key's secret is stored and looked up. Equality is constant-time
/// (that of [`blake3::Hash`]), so deciding whether a presented key matches a stored digest
/// reveals nothing through timing about how much of it matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Digest(blake3::Hash);

impl Digest {
    /// The digest of `key`. Keys carry 256 random bits, so an unsalted (but
    /// domain-separated) hash is enough: there is no dictionary to try.
    pub(super) fn of(key: &str) -> Self {
        Self(
            blake3::Hasher::new_derive_key(DIGEST_CONTEXT)
                .update(key.as_bytes())
                .finalize(),
        )
    }

    /// A digest as stored (64 hex digits); `None` when `hex` is not one.
    pub(super) fn from_hex(hex: &str) -> Option<Self> {
        blake3::Hash::from_hex(hex).ok().map(Self)
    }

    /// The digest as stored: 64 lowercase hex digits.
    pub(super) fn to_hex(self) -> String {
        self.0.to_hex().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_hex() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        assert_ne!(a, b);
        let hex = a.strip_prefix(PREFIX).expect("prefix");
        assert_eq!(hex.len(), 64);
        assert!(hex.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn digests_are_stable_and_hide_the_key() {
        let key = generate().unwrap();
        assert_eq!(Digest::of(&key), Digest::of(&key));
        assert_ne!(Digest::of(&key), Digest::of(&generate().unwrap()));
        let hex = Digest::of(&key).to_hex();
        assert!(!hex.contains(&key[PREFIX.len()..]));
        assert_eq!(Digest::from_hex(&hex), Some(Digest::of(&key)));
        assert_eq!(Digest::from_hex("not hex"), None);
    }
}
