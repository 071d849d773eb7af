//! Text analysis for the BM25 index: tokenisation, case and accent folding,
//! and Snowball stemming.
//!
//! A term is a maximal run of Unicode letters and digits (so `§`, punctuation
//! and whitespace separate terms). Every term is lowercased; combining marks
//! (U+0300–U+036F) and soft hyphens stay inside their word. English folds Latin accents to
//! ASCII (`é` → `e`, `ß` → `ss`); Swedish keeps `å`, `ä`, `ö` (mapping `æ` → `ä`
//! and `ø` → `ö`) and folds the other Latin accents. Words containing a letter
//! are stemmed with the language's Snowball stemmer; pure numbers are kept as
//! they are. Nothing is dropped: there is no stopword list. With a [`Decompounder`], a
//! Swedish compound also yields the stems of its parts, after the whole word's.

use std::cell::RefCell;

use rust_stemmers::{Algorithm, Stemmer};

use super::decompound::Decompounder;
use super::folding::{is_combining_mark, push_folded};
use super::word_cache::{CACHE_ENTRIES, cache_index};
use crate::model::Language;

/// Analyzer language (mirror of the collection's language).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnalyzerLanguage {
    /// English: ASCII folding and Snowball English stemming.
    English,
    /// Swedish: keeps å ä ö and uses Snowball Swedish stemming.
    Swedish,
}

impl From<Language> for AnalyzerLanguage {
    fn from(language: Language) -> Self {
        match language {
            Language::English => Self::English,
            Language::Swedish => Self::Swedish,
        }
    }
}

/// Splits `text` into normalised terms, in order of appearance.
pub fn analyze(language: AnalyzerLanguage, text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for_each_term(language, text, |term| terms.push(term.to_owned()));
    terms
}

/// Calls `emit` with every normalised term of `text`, in order, without
/// allocating per term (the same terms that [`analyze`] returns).
pub fn for_each_term(language: AnalyzerLanguage, text: &str, emit: impl FnMut(&str)) {
    for_each_term_with_parts(language, None, text, emit);
}

/// Like [`for_each_term`], and with a `decompounder` each Swedish compound's whole-word term
/// is followed by the terms of its parts (English ignores it).
pub fn for_each_term_with_parts(
    language: AnalyzerLanguage,
    decompounder: Option<&Decompounder>,
    text: &str,
    mut emit: impl FnMut(&str),
) {
    let decompounder = decompounder.filter(|_| language == AnalyzerLanguage::Swedish);
    let mut word = Word::new(language, decompounder);
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push_ascii(c);
        } else if c.is_ascii() {
            word.flush(&mut emit);
        } else if c.is_alphanumeric() {
            word.push_unicode(c);
        } else if is_combining_mark(c) {
            word.push_mark(c);
        } else if !is_ignorable(c) {
            word.flush(&mut emit);
        }
    }
    word.flush(&mut emit);
}

/// Invisible characters that do not end a word: soft hyphen (common in PDF
/// text), zero-width (non-)joiner and word joiner.
fn is_ignorable(c: char) -> bool {
    matches!(c, '\u{AD}' | '\u{200C}' | '\u{200D}' | '\u{2060}')
}

/// The word being built, with the state needed to finish it.
struct Word<'a> {
    language: AnalyzerLanguage,
    stemmer: Stemmer,
    decompounder: Option<&'a Decompounder>,
    text: String,
    has_letter: bool,
}

impl<'a> Word<'a> {
    fn new(language: AnalyzerLanguage, decompounder: Option<&'a Decompounder>) -> Self {
        let algorithm = match language {
            AnalyzerLanguage::English => Algorithm::English,
            AnalyzerLanguage::Swedish => Algorithm::Swedish,
        };
        Self {
            language,
            stemmer: Stemmer::create(algorithm),
            decompounder,
            text: String::with_capacity(32),
            has_letter: false,
        }
    }

    fn push_ascii(&mut self, c: char) {
        self.has_letter |= c.is_ascii_alphabetic();
        self.text.push(c.to_ascii_lowercase());
    }

    fn push_unicode(&mut self, c: char) {
        self.has_letter |= c.is_alphabetic();
        for lower in c.to_lowercase() {
            if is_combining_mark(lower) {
                self.push_mark(lower);
            } else {
                push_folded(
                    self.language == AnalyzerLanguage::Swedish,
                    lower,
                    &mut self.text,
                );
            }
        }
    }

    /// A combining mark: composes å/ä/ö in Swedish, otherwise is dropped.
    fn push_mark(&mut self, mark: char) {
        if self.language != AnalyzerLanguage::Swedish {
            return;
        }
        let composed = match (self.text.chars().next_back(), mark) {
            (Some('a'), '\u{30A}') => 'å',
            (Some('a'), '\u{308}') => 'ä',
            (Some('o'), '\u{308}') => 'ö',
            _ => return,
        };
        self.text.pop();
        self.text.push(composed);
    }

    fn flush(&mut self, emit: &mut impl FnMut(&str)) {
        if self.text.is_empty() {
            return;
        }
        if self.has_letter {
            let mut whole = String::new();
            stem_cached(
                self.language,
                &self.stemmer,
                &self.text,
                &mut |stem: &str| {
                    if self.decompounder.is_some() {
                        stem.clone_into(&mut whole);
                    }
                    emit(stem);
                },
            );
            if let Some(decompounder) = self.decompounder {
                let mut stems: Vec<String> = vec![whole];
                decompounder.for_each_part(&self.text, |part| {
                    stem_cached(self.language, &self.stemmer, part, &mut |stem: &str| {
                        if !stems.iter().any(|s| s == stem) {
                            stems.push(stem.to_owned());
                            emit(stem);
                        }
                    });
                });
            }
        } else {
            emit(&self.text);
        }
        self.text.clear();
        self.has_letter = false;
    }
}

/// Longest word (in bytes) whose stem is cached.
const CACHED_LEN: usize = 24;

/// One direct-mapped cache entry: a word and its stem, stored inline.
#[derive(Clone, Copy)]
struct CacheEntry {
    /// 0 for an empty entry, else 1 + the language index.
    language: u8,
    word_len: u8,
    stem_len: u8,
    word: [u8; CACHED_LEN],
    stem: [u8; CACHED_LEN],
}

const EMPTY_ENTRY: CacheEntry = CacheEntry {
    language: 0,
    word_len: 0,
    stem_len: 0,
    word: [0; CACHED_LEN],
    stem: [0; CACHED_LEN],
};

impl CacheEntry {
    fn holds(&self, language: u8, word: &str) -> bool {
        self.language == language && self.word[..usize::from(self.word_len)] == *word.as_bytes()
    }

    fn stem(&self) -> &str {
        std::str::from_utf8(&self.stem[..usize::from(self.stem_len)]).unwrap_or_default()
    }

    /// Caches `stem` for `word` when both fit; returns whether it did.
    fn store(&mut self, language: u8, word: &str, stem: &str) -> bool {
        if word.len() > CACHED_LEN || stem.len() > CACHED_LEN {
            return false;
        }
        self.language = language;
        self.word_len = word.len() as u8;
        self.stem_len = stem.len() as u8;
        self.word[..word.len()].copy_from_slice(word.as_bytes());
        self.stem[..stem.len()].copy_from_slice(stem.as_bytes());
        true
    }
}

thread_local! {
    /// Stems of recently seen words: stemming costs far more than a lookup,
    /// and word frequencies are heavily skewed.
    static STEM_CACHE: RefCell<Vec<CacheEntry>> = const { RefCell::new(Vec::new()) };
}

/// Emits the stem of the lowercase word `word`, through the stem cache.
fn stem_cached(
    language: AnalyzerLanguage,
    stemmer: &Stemmer,
    word: &str,
    emit: &mut impl FnMut(&str),
) {
    let tag = language as u8 + 1;
    let cached = STEM_CACHE.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return false;
        };
        if word.len() > CACHED_LEN {
            return false;
        }
        if cache.is_empty() {
            cache.resize(CACHE_ENTRIES, EMPTY_ENTRY);
        }
        let entry = &mut cache[cache_index(word)];
        if !entry.holds(tag, word) && !entry.store(tag, word, &stemmer.stem(word)) {
            return false;
        }
        emit(entry.stem());
        true
    });
    if !cached {
        emit(&stemmer.stem(word));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_non_alphanumerics_and_keeps_numbers() {
        let terms = analyze(AnalyzerLanguage::Swedish, "SFS 1974:152, 2 kap. 1 §");
        assert_eq!(terms, ["sfs", "1974", "152", "2", "kap", "1"]);
    }

    #[test]
    fn decomposed_accents_match_precomposed() {
        let sv = AnalyzerLanguage::Swedish;
        assert_eq!(analyze(sv, "o\u{308}ra"), analyze(sv, "öra"));
        let en = AnalyzerLanguage::English;
        assert_eq!(analyze(en, "cafe\u{301}"), ["cafe"]);
    }

    #[test]
    fn soft_hyphen_does_not_split_words() {
        let sv = AnalyzerLanguage::Swedish;
        assert_eq!(
            analyze(sv, "yttrande\u{AD}frihet"),
            analyze(sv, "yttrandefrihet")
        );
    }

    #[test]
    fn arbitrary_text_yields_clean_terms() {
        const POOL: &[char] = &[
            'a',
            'e',
            'y',
            'S',
            '1',
            ' ',
            '-',
            '\'',
            'é',
            'Å',
            'ö',
            'ß',
            'İ',
            'Σ',
            'ж',
            '語',
            '\u{301}',
            '\u{30A}',
            '\u{AD}',
            '§',
            '\u{1F600}',
            '\n',
        ];
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        for _ in 0..2000 {
            let text: String = (0..24)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    POOL[(state % POOL.len() as u64) as usize]
                })
                .collect();
            for language in [AnalyzerLanguage::English, AnalyzerLanguage::Swedish] {
                for term in analyze(language, &text) {
                    assert!(
                        !term.is_empty() && !term.contains([' ', '\n', '§']),
                        "{text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn folds_ligatures_and_sharp_s_in_english() {
        let terms = analyze(AnalyzerLanguage::English, "Straße Œuvre");
        assert_eq!(terms, ["strass", "oeuvr"]);
    }
}
