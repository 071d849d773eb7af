//! The document parsers (text, Markdown, HTML, JSON, JSON Lines, PDF) over arbitrary bytes:
//! the first byte picks the format. A parser must return documents with non-blank text or
//! an error, never panic.

#![no_main]

use constitutional_rag::ingest::parse::{Format, parse};
use libfuzzer_sys::fuzz_target;

const FORMATS: [Format; 6] = [
    Format::Text,
    Format::Markdown,
    Format::Html,
    Format::Json,
    Format::JsonLines,
    Format::Pdf,
];

fuzz_target!(|input: &[u8]| {
    let Some((&selector, bytes)) = input.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(selector) % FORMATS.len()];
    if let Ok(documents) = parse(bytes, format) {
        assert!(!documents.is_empty(), "{format:?}: Ok without documents");
        for document in documents {
            assert!(!document.text.trim().is_empty(), "{format:?}: blank text");
        }
    }
});
