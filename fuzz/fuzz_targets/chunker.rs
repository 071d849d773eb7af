//! The legal-structure chunker over arbitrary text and token budgets: it must never panic,
//! and every chunk must be exactly its offsets' slice of the text, trimmed, non-blank, in
//! order, without overlap, and within the token budget.

#![no_main]

use constitutional_rag::ingest::chunker::{ChunkerConfig, chunk_document, estimate_tokens};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&[max, min], rest)) = input.split_first_chunk::<2>() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let config = ChunkerConfig {
        max_tokens: usize::from(max) + 1,
        min_tokens: usize::from(min),
    };
    let chunks = chunk_document(text, &config);
    let chars: Vec<char> = text.chars().collect();
    let mut previous_end = 0;
    for (i, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk.position, i);
        assert!(chunk.char_start < chunk.char_end, "empty chunk");
        assert!(chunk.char_start >= previous_end, "overlapping chunk");
        assert!(chunk.char_end <= chars.len(), "chunk past the end");
        let slice: String = chars[chunk.char_start..chunk.char_end].iter().collect();
        assert_eq!(slice, chunk.text, "text differs from its offsets");
        assert_eq!(chunk.text.trim(), chunk.text, "untrimmed chunk");
        assert!(!chunk.text.is_empty());
        assert!(
            estimate_tokens(&chunk.text) <= config.max_tokens,
            "over budget"
        );
        previous_end = chunk.char_end;
    }
    if !text.trim().is_empty() {
        assert!(!chunks.is_empty(), "text with content gave no chunk");
    }
});
