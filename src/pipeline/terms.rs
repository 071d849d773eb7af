//! Content terms of a question and their lexical coverage of a passage.
//!
//! A content term is an analyzed (lowercased, stemmed) term that is not a stopword,
//! question word or pronoun of English or Swedish; numbers are always content.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::retrieval::analyzer::{AnalyzerLanguage, analyze};

/// English words that carry no content in a question.
const ENGLISH_STOPWORDS: &str = "\
    a an the and or but if of to in on at by for with from about as into than then is are \
    was were be been being am do does did done have has had can could may might must shall \
    should will would what which who whom whose when where why how that this these those \
    there here it its they them their i me my we us our you your he she his her him say says \
    said tell explain describe please law laws any some all not no yes also just only very \
    such regarding according under quote exact exactly wording verbatim word words mean \
    means";

/// Swedish words that carry no content in a question.
const SWEDISH_STOPWORDS: &str = "\
    och att som vad vilken vilket vilka vem vems när var varför hur är vara varit blir bli \
    har hade ha kan kunna kunde ska skall skulle får måste bör vill gör göra säger säga står \
    det den de dem deras dess denna detta dessa där här jag mig min mitt mina du dig din \
    ditt vi oss ni han hon hans hennes sig sin sitt sina en ett i på av för till från med om \
    vid enligt hos eller men också även så inte ej alla något någon några lag lagen lagar \
    citera ordagrant ordalydelse ordalydelsen lydelse lydelsen exakta finns gäller handlar \
    innebär betyder snälla";

/// Stems of every stopword, as analyzed in each language.
static STOPWORD_STEMS: LazyLock<[HashSet<String>; 2]> = LazyLock::new(|| {
    [AnalyzerLanguage::English, AnalyzerLanguage::Swedish].map(|language| {
        ENGLISH_STOPWORDS
            .split_whitespace()
            .chain(SWEDISH_STOPWORDS.split_whitespace())
            .flat_map(|word| analyze(language, word))
            .collect()
    })
});

/// Whether the analyzed term `term` is a stopword in `language`.
fn is_stopword(term: &str, language: AnalyzerLanguage) -> bool {
    let index = match language {
        AnalyzerLanguage::English => 0,
        AnalyzerLanguage::Swedish => 1,
    };
    STOPWORD_STEMS[index].contains(term)
}

/// The analyzed content terms of `text`: stopwords dropped, numbers kept, each term once,
/// in order of first appearance.
pub fn content_terms(text: &str, language: AnalyzerLanguage) -> Vec<String> {
    let mut seen = HashSet::new();
    analyze(language, text)
        .into_iter()
        .filter(|term| !is_stopword(term, language))
        .filter(|term| seen.insert(term.clone()))
        .collect()
}

/// Whether the written word `word` (e.g. `yttrandefriheten`, `2`, `kap.`) has a content term.
pub fn is_content_word(word: &str, language: AnalyzerLanguage) -> bool {
    analyze(language, word)
        .iter()
        .any(|term| !is_stopword(term, language))
}

/// The whitespace-separated words of `text` that carry content, in their written form,
/// trimmed of surrounding punctuation (a trailing `.` is kept, as in `kap.`, except at the
/// end of the text); `§` signs are kept as words.
pub fn content_words(text: &str, language: AnalyzerLanguage) -> Vec<&str> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(index, word)| trim_word(word, index == last))
        .filter(|word| *word == "§" || is_content_word(word, language))
        .collect()
}

/// `word` without surrounding quotes, brackets and punctuation; a trailing `.` stays unless
/// `at_end`.
fn trim_word(word: &str, at_end: bool) -> &str {
    const EDGES: &[char] = &[
        '"', '\'', '«', '»', '“', '”', '‘', '’', '(', ')', '[', ']', '{', '}', '?', '!', ',', ';',
        ':',
    ];
    let word = word.trim_matches(EDGES);
    if at_end {
        word.trim_end_matches(['.', '…']).trim_end_matches(EDGES)
    } else {
        word
    }
}

/// Share of `terms` found among the analyzed terms of `passage`, in [0, 1]; 0 without terms.
pub fn coverage(terms: &[String], passage: &str, language: AnalyzerLanguage) -> f32 {
    if terms.is_empty() {
        return 0.0;
    }
    let passage_terms: HashSet<String> = analyze(language, passage).into_iter().collect();
    let found = terms
        .iter()
        .filter(|term| passage_terms.contains(*term))
        .count();
    found as f32 / terms.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    const SV: AnalyzerLanguage = AnalyzerLanguage::Swedish;
    const EN: AnalyzerLanguage = AnalyzerLanguage::English;

    #[test]
    fn drops_question_words_and_keeps_numbers() {
        let terms = content_terms("What does the law say about consent in section 4?", EN);
        assert_eq!(terms, ["consent", "section", "4"]);
        let terms = content_terms("Vad säger lagen om yttrandefrihet i 2 kap. 1 §?", SV);
        assert_eq!(terms, ["yttrandefri", "2", "kap", "1"]);
    }

    #[test]
    fn terms_are_deduplicated_in_order() {
        let terms = content_terms("consent, consents and CONSENT of data", EN);
        assert_eq!(terms, ["consent", "data"]);
    }

    #[test]
    fn only_stopwords_give_no_terms() {
        assert!(content_terms("What does it say?", EN).is_empty());
        assert!(content_terms("Vad säger den?", SV).is_empty());
    }

    #[test]
    fn coverage_is_the_share_of_terms_present() {
        let terms = content_terms("yttrandefrihet och tryckfrihet", SV);
        let passage = "Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet.";
        assert_eq!(coverage(&terms, passage, SV), 0.5);
        assert_eq!(
            coverage(&terms, "tryckfriheten och yttrandefriheten", SV),
            1.0
        );
        assert_eq!(coverage(&terms, "", SV), 0.0);
        assert_eq!(coverage(&[], passage, SV), 0.0);
    }

    #[test]
    fn content_words_keep_written_forms() {
        let words = content_words("Vad säger RF 2 kap. 1 § om yttrandefriheten?", SV);
        assert_eq!(words, ["RF", "2", "kap.", "1", "§", "yttrandefriheten"]);
        let words = content_words("What are its penalties for (illegal) dumping.", EN);
        assert_eq!(words, ["penalties", "illegal", "dumping"]);
    }
}
