//! A bound on the nesting of JSON request bodies, checked before they are parsed.
//!
//! Decoding into `serde_json::Value` (metadata, filters) recurses once per level, and the
//! body parser sets no depth limit of its own: a body of 100,000 `[` overflowed the stack of
//! the worker thread and aborted the whole server. The check here is a single pass over the
//! bytes that needs no stack.

/// Deepest nesting of arrays and objects a body may have (serde_json's own limit).
pub const MAX_DEPTH: usize = 128;

/// Whether `json` nests arrays and objects deeper than [`MAX_DEPTH`]. Brackets inside
/// strings do not count; the text need not be valid JSON (the parser judges that).
pub fn too_deep(json: &[u8]) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn depth_is_counted_outside_strings_only() {
        assert!(!too_deep(nested(MAX_DEPTH).as_bytes()));
        assert!(too_deep(nested(MAX_DEPTH + 1).as_bytes()));
        assert!(too_deep(nested(100_000).as_bytes()));
        let brackets_in_text =
            format!(r#"{{"text": "{}\" {}"}}"#, "[".repeat(500), "{".repeat(500));
        assert!(!too_deep(brackets_in_text.as_bytes()));
        assert!(!too_deep(br#"{"a": [1, {"b": "\\"}], "c": "]]]"}"#));
    }
}
