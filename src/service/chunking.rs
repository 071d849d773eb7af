//! How a document is chunked for the loaded encoder, and what each chunk is embedded as.

use crate::config::IngestConfig;
use crate::inference::tokenizer::TextTokenizer;
use crate::ingest::chunker::{TokenBudget, chunk_document, estimate_tokens};
use crate::model::Chunk;

/// Fewest tokens a chunk may hold however long its context header is.
const MIN_CHUNK_BUDGET: usize = 16;

/// The chunker's budget for one document: tokens counted with the encoder's tokenizer, and
/// each chunk's text, with its context header, within the encoder's sequence length
/// (`ingest.max_chunk_tokens`, when set, is the budget of the text instead).
pub struct EncoderBudget<'a> {
    tokenizer: &'a TextTokenizer,
    settings: &'a IngestConfig,
    title: &'a str,
}

impl<'a> EncoderBudget<'a> {
    /// The budget for a document titled `title`.
    pub fn new(tokenizer: &'a TextTokenizer, settings: &'a IngestConfig, title: &'a str) -> Self {
        Self {
            tokenizer,
            settings,
            title,
        }
    }
}

impl TokenBudget for EncoderBudget<'_> {
    fn count(&self, text: &str) -> usize {
        self.tokenizer
            .count_tokens(text)
            .unwrap_or_else(|_| estimate_tokens(text))
    }

    fn max_tokens(&self, path: &str) -> usize {
        if self.settings.max_chunk_tokens > 0 {
            return self.settings.max_chunk_tokens;
        }
        let header = if self.settings.context_header {
            self.count(&embedding_text(true, self.title, path, ""))
        } else {
            0
        };
        self.tokenizer
            .text_budget()
            .saturating_sub(header)
            .max(MIN_CHUNK_BUDGET)
    }

    fn min_tokens(&self) -> usize {
        self.settings.min_chunk_tokens
    }
}

/// Chunks the text of a document titled `title` for the encoder `tokenizer` belongs to.
pub fn chunk_for_encoder(
    text: &str,
    title: &str,
    settings: &IngestConfig,
    tokenizer: &TextTokenizer,
) -> Vec<Chunk> {
    chunk_document(text, &EncoderBudget::new(tokenizer, settings, title))
}

/// The text a chunk is embedded as: with `context_header`, a first line with its document
/// title and structural path, so a passage that never names its document or section can
/// still be found by them; else the chunk alone.
pub fn embedding_text(context_header: bool, title: &str, path: &str, text: &str) -> String {
    if !context_header {
        return text.to_string();
    }
    match (title.is_empty(), path.is_empty()) {
        (true, true) => text.to_string(),
        (false, true) => format!("{title}\n{text}"),
        (true, false) => format!("{path}\n{text}"),
        (false, false) => format!("{title}, {path}\n{text}"),
    }
}
