//! Content hashes that do not depend on JSON key order.

use std::collections::BTreeMap;

use serde_json::Value;

/// BLAKE3 (hex) over the canonical form of a document's title, source, metadata and text.
pub(super) fn content_hash(
    title: &str,
    source: Option<&str>,
    metadata: &BTreeMap<String, Value>,
    text: &str,
) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in [title, source.unwrap_or(""), text] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let mut canonical = String::new();
    write_canonical(
        &serde_json::to_value(metadata).unwrap_or_default(),
        &mut canonical,
    );
    hasher.update(canonical.as_bytes());
    hasher.finalize().to_hex().to_string()
}

/// Writes `value` as JSON with object keys sorted at every level.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": null}});
        let b = json!({"a": {"x": null, "y": [1, 2]}, "b": 1});
        let a: BTreeMap<String, Value> = serde_json::from_value(a).unwrap();
        let b: BTreeMap<String, Value> = serde_json::from_value(b).unwrap();
        assert_eq!(
            content_hash("t", None, &a, "text"),
            content_hash("t", None, &b, "text")
        );
        assert_ne!(
            content_hash("t", None, &a, "text"),
            content_hash("t", Some(""), &a, "text2")
        );
    }

    #[test]
    fn field_boundaries_matter() {
        let empty = BTreeMap::new();
        assert_ne!(
            content_hash("ab", None, &empty, "c"),
            content_hash("a", None, &empty, "bc")
        );
    }
}
