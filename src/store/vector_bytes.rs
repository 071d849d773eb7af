//! A chunk's vector at rest is its little-endian `f32` bytes. Between this process and the
//! database it travels as base64 text (the queries' variables are JSON), which the queries
//! decode into bytes on write and encode on read. Rows stored before as arrays of numbers
//! still read.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde::{Deserialize, Deserializer};

use crate::model::{push_vector_bytes, vector_from_bytes};

/// The selected `embedding` field: base64 text of stored bytes, or a stored array as is.
pub(super) const EMBEDDING_FIELD: &str = "IF type::is_bytes(embedding) \
     THEN encoding::base64::encode(embedding) ELSE embedding END AS embedding";

/// `vector` as base64 text of its little-endian bytes.
pub(super) fn to_wire(vector: &[f32]) -> String {
    let mut bytes = Vec::with_capacity(vector.len() * 4);
    push_vector_bytes(vector, &mut bytes);
    STANDARD.encode(bytes)
}

/// A vector read back: base64 text of little-endian `f32` bytes (padded or not), or an
/// array of numbers (rows written before vectors were stored as bytes).
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Bytes(String),
    Numbers(Vec<f32>),
}

/// Reads an optional stored vector (for `#[serde(deserialize_with)]`).
pub(super) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<f32>>, D::Error> {
    match Option::<Stored>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Stored::Numbers(numbers)) => Ok(Some(numbers)),
        Some(Stored::Bytes(text)) => from_wire(&text).map(Some).map_err(serde::de::Error::custom),
    }
}

/// The vector of base64 text `text`.
fn from_wire(text: &str) -> Result<Vec<f32>, String> {
    let bytes = STANDARD_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| format!("a stored vector is not base64: {e}"))?;
    vector_from_bytes(&bytes).ok_or_else(|| {
        format!(
            "a stored vector has {} bytes, not a whole number of f32",
            bytes.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Row {
        #[serde(default, deserialize_with = "deserialize")]
        embedding: Option<Vec<f32>>,
    }

    fn read(json: &str) -> Result<Option<Vec<f32>>, serde_json::Error> {
        serde_json::from_str::<Row>(json).map(|row| row.embedding)
    }

    #[test]
    fn vectors_travel_as_base64_bytes_and_come_back_bit_for_bit() {
        let vector = [1.0_f32, -0.5, f32::MIN_POSITIVE, 0.123_456_79, -0.0];
        let wire = to_wire(&vector);
        assert_eq!(wire.len(), 28, "20 bytes in base64");
        let back = read(&format!(r#"{{"embedding": "{wire}"}}"#))
            .unwrap()
            .unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&vector));
        // The database's encoder leaves the padding off.
        let unpadded = wire.trim_end_matches('=');
        let back = read(&format!(r#"{{"embedding": "{unpadded}"}}"#))
            .unwrap()
            .unwrap();
        assert_eq!(bits(&back), bits(&vector));
    }

    #[test]
    fn arrays_stored_before_and_missing_vectors_still_read() {
        assert_eq!(
            read(r#"{"embedding": [0.25, -1, 2.5]}"#).unwrap(),
            Some(vec![0.25, -1.0, 2.5])
        );
        assert_eq!(read(r#"{"embedding": null}"#).unwrap(), None);
        assert_eq!(read("{}").unwrap(), None);
    }

    #[test]
    fn bytes_that_are_not_whole_floats_are_an_error() {
        // "AAAA" is three zero bytes.
        let err = read(r#"{"embedding": "AAAA"}"#).err().unwrap();
        assert!(err.to_string().contains("3 bytes"), "{err}");
        let err = read(r#"{"embedding": "not base64!"}"#).err().unwrap();
        assert!(err.to_string().contains("not base64"), "{err}");
    }
}
