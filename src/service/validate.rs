//! Checks on names and text that every entry point shares.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::error::{AppError, AppResult};
use crate::store::MetadataFilter;

static COLLECTION_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9_-]{0,63}$").expect("valid regex"));
static METADATA_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$").expect("valid regex"));

/// Most metadata conditions in one filter.
const MAX_FILTER_CONDITIONS: usize = 16;
/// Longest accepted external id or title, in characters.
const MAX_SHORT_TEXT: usize = 512;
/// Deepest nesting of arrays and objects in a document's metadata. Storing a value recurses
/// once per level with large frames (SurrealDB's value conversion): metadata nested 60 deep
/// overflowed the stack of a debug build and aborted the server.
pub const MAX_METADATA_DEPTH: usize = 16;

/// A collection name: lowercase ASCII letters, digits, `_`, `-`; 1–64 characters.
pub fn collection_name(name: &str) -> AppResult<()> {
    if COLLECTION_NAME.is_match(name) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "invalid_collection_name",
            format!(
                "collection name {name:?} is invalid: use 1-64 characters from a-z, 0-9, '_' and '-', starting with a letter or digit"
            ),
        ))
    }
}

/// A text field that must be non-blank, NUL-free and at most `max_chars` characters.
pub fn text(field: &str, value: &str, max_chars: usize) -> AppResult<()> {
    if value.trim().is_empty() {
        return Err(AppError::invalid(
            "empty_text",
            format!("{field} must not be empty"),
        ));
    }
    optional_text(field, value, max_chars)
}

/// Like [`text`] but blank is fine.
pub fn optional_text(field: &str, value: &str, max_chars: usize) -> AppResult<()> {
    if value.contains('\0') {
        return Err(AppError::invalid(
            "invalid_text",
            format!("{field} must not contain NUL characters"),
        ));
    }
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(AppError::invalid(
            "text_too_long",
            format!("{field} has {chars} characters; the limit is {max_chars}"),
        ));
    }
    Ok(())
}

/// A short identifier-like field (external id, title).
pub fn short_text(field: &str, value: &str) -> AppResult<()> {
    optional_text(field, value, MAX_SHORT_TEXT)
}

/// Document metadata: values nested at most [`MAX_METADATA_DEPTH`] levels (the object
/// itself is the first).
pub fn metadata(metadata: &std::collections::BTreeMap<String, Value>) -> AppResult<()> {
    // Depth first, without recursion: (value, its depth).
    let mut pending: Vec<(&Value, usize)> = metadata.values().map(|v| (v, 2)).collect();
    while let Some((value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(fields) => Box::new(fields.values()),
            _ => continue,
        };
        if depth > MAX_METADATA_DEPTH {
            return Err(AppError::invalid(
                "invalid_metadata",
                format!("metadata may nest at most {MAX_METADATA_DEPTH} levels deep"),
            ));
        }
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(())
}

/// Turns a JSON object of `key: value` (value a scalar or an array of scalars) into a filter.
pub fn metadata_filter(
    filter: Option<&std::collections::BTreeMap<String, Value>>,
) -> AppResult<MetadataFilter> {
    let Some(filter) = filter else {
        return Ok(MetadataFilter::default());
    };
    if filter.len() > MAX_FILTER_CONDITIONS {
        return Err(AppError::invalid(
            "invalid_filter",
            format!("at most {MAX_FILTER_CONDITIONS} filter conditions are allowed"),
        ));
    }
    let mut conditions = Vec::with_capacity(filter.len());
    for (key, value) in filter {
        if !METADATA_KEY.is_match(key) {
            return Err(AppError::invalid(
                "invalid_filter",
                format!(
                    "filter key {key:?} is invalid: use 1-64 characters from A-Z, a-z, 0-9, '_', '.', ':' and '-'"
                ),
            ));
        }
        let scalar = |v: &Value| !v.is_object() && !v.is_array();
        let valid = match value {
            Value::Array(items) => !items.is_empty() && items.iter().all(scalar),
            other => scalar(other),
        };
        if !valid {
            return Err(AppError::invalid(
                "invalid_filter",
                format!(
                    "filter value for {key:?} must be a scalar or a non-empty array of scalars"
                ),
            ));
        }
        conditions.push((key.clone(), value.clone()));
    }
    Ok(MetadataFilter::new(conditions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_nesting_is_bounded() {
        let nested = |depth: usize| -> std::collections::BTreeMap<String, Value> {
            let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            [("deep".to_string(), serde_json::from_str(&text).unwrap())].into()
        };
        assert!(metadata(&nested(MAX_METADATA_DEPTH - 1)).is_ok());
        let err = metadata(&nested(MAX_METADATA_DEPTH)).unwrap_err();
        assert_eq!(err.code(), "invalid_metadata");
        assert!(metadata(&nested(100)).is_err());
    }

    #[test]
    fn collection_names() {
        for good in ["laws", "sfs-1974_152", "a", "0x"] {
            assert!(collection_name(good).is_ok(), "{good}");
        }
        let too_long = "a".repeat(65);
        for bad in [
            "",
            "Laws",
            "-x",
            "a b",
            "../etc",
            "a;DROP",
            "ä",
            too_long.as_str(),
        ] {
            assert!(collection_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_limits() {
        assert!(text("text", "  ", 10).is_err());
        assert!(text("text", "a\0b", 10).is_err());
        assert!(text("text", "åäö", 3).is_ok());
        assert!(text("text", "åäöx", 3).is_err());
    }
}
