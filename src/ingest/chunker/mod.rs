//! Legal-structure-aware chunking.
//!
//! A document is first cut into *sections* at the headings real legal texts use
//! ([`headings`]): Swedish `N kap.` / `N §`, `Article N` / `Section N` / `§ N`, numbered
//! and dotted licence clauses (`3. Responsibilities`, `3.2.`, `1.0.1.`), headings inside
//! box decoration, named divisions (`Preamble`, `TERMS AND CONDITIONS`, `APPENDIX`,
//! `Exhibit A`), underlined and Markdown headings, and the members of bundled licence
//! compendia. The [`outline`] keeps the position in that hierarchy and gives every
//! section its structural path; lettered and roman sub-clauses stay inside their section.
//! Each section becomes one chunk when it fits the token budget; otherwise [`packing`]
//! splits it on paragraph, sentence ([`crate::text::sentences`]), word and finally character
//! boundaries, and every piece keeps the section's path.
//!
//! Tokens are counted by a [`TokenBudget`] the caller supplies (the encoder's tokenizer in
//! the server, [`estimate_tokens`] in [`ChunkerConfig`]), so this module knows no model.
//! All work is linear in the size of the document.

mod headings;
mod outline;
mod packing;

use crate::model::Chunk;

/// Limits for one chunk, measured with [`estimate_tokens`].
#[derive(Debug, Clone, Copy)]
pub struct ChunkerConfig {
    /// Upper bound on `estimate_tokens` of a chunk's text.
    pub max_tokens: usize,
    /// Pieces of a split section smaller than this are rebalanced with
    /// their predecessor when possible. Whole sections are never merged.
    pub min_tokens: usize,
}

impl Default for ChunkerConfig {
    fn default() -> Self {
        Self {
            max_tokens: 200,
            min_tokens: 20,
        }
    }
}

/// How the chunker measures text and how much one chunk may hold.
pub trait TokenBudget {
    /// Tokens of `text`, counted the way the chunks will be measured.
    fn count(&self, text: &str) -> usize;
    /// Most tokens one chunk of the section with structural path `path` may hold.
    fn max_tokens(&self, path: &str) -> usize;
    /// Pieces of a split section smaller than this are rebalanced with their predecessor.
    fn min_tokens(&self) -> usize;
}

impl TokenBudget for ChunkerConfig {
    fn count(&self, text: &str) -> usize {
        estimate_tokens(text)
    }

    fn max_tokens(&self, _path: &str) -> usize {
        self.max_tokens
    }

    fn min_tokens(&self) -> usize {
        self.min_tokens
    }
}

/// Cheap WordPiece-like token estimate.
///
/// Every run of alphanumeric characters counts `ceil(len / 6)` tokens and
/// every other non-whitespace character (punctuation, symbols, emoji)
/// counts one token.
pub fn estimate_tokens(text: &str) -> usize {
    let mut count = 0;
    let mut run = 0usize;
    for c in text.chars() {
        if c.is_alphanumeric() {
            count += usize::from(run.is_multiple_of(6));
            run += 1;
        } else {
            count += usize::from(!c.is_whitespace());
            run = 0;
        }
    }
    count
}

/// Splits `text` into chunks that follow its legal or Markdown structure, each within
/// `budget`.
pub fn chunk_document(text: &str, budget: &dyn TokenBudget) -> Vec<Chunk> {
    let mut pieces = Vec::new();
    for section in outline::sections(text) {
        let path = section.path_string();
        let limits = packing::Limits::new(budget.max_tokens(&path), budget.min_tokens());
        let mut ranges = Vec::new();
        packing::split_section(
            text,
            section.start,
            section.end,
            budget,
            &limits,
            &mut ranges,
        );
        pieces.extend(ranges.into_iter().map(|(s, e)| (s, e, path.clone())));
    }
    build_chunks(text, pieces)
}

/// Converts ordered byte ranges into chunks with char offsets.
fn build_chunks(text: &str, pieces: Vec<(usize, usize, String)>) -> Vec<Chunk> {
    let mut byte_cursor = 0;
    let mut char_cursor = 0;
    let mut to_chars = |byte: usize| {
        char_cursor += text[byte_cursor..byte].chars().count();
        byte_cursor = byte;
        char_cursor
    };
    pieces
        .into_iter()
        .enumerate()
        .map(|(position, (start, end, path))| {
            let char_start = to_chars(start);
            let char_end = to_chars(end);
            Chunk {
                text: text[start..end].to_string(),
                position,
                char_start,
                char_end,
                path,
            }
        })
        .collect()
}
