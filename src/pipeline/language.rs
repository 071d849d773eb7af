//! Question language detection: Swedish or English, from letters and function words.
//!
//! Each word that is a common Swedish function word, or that contains `å`, `ä` or `ö`,
//! counts for Swedish; each common English function word counts for English. The text is
//! Swedish when the Swedish count is higher, so an English question naming a Swedish statute
//! ("What does tryckfrihetsförordningen say about …") stays English.

use crate::retrieval::analyzer::AnalyzerLanguage;

/// Common Swedish function and question words (lowercase).
const SWEDISH_WORDS: &str = "\
    och att som vad är för hur enligt lagen kap det den inte av på om vilka vilken vilket \
    varför när säger finns ska skall får eller detta denna dessa jag du mig hej tack gäller \
    också även vem från kapitel kapitlet myndighet måste";

/// Common English function and question words (lowercase).
const ENGLISH_WORDS: &str = "\
    the what which does do is are how who why when of and to in say says about according law \
    act section article chapter can you hello thanks thank please under with for it its this \
    that there my me your not hi where should";

/// The language of `text`: Swedish when Swedish cues outweigh English ones, else English.
pub fn detect(text: &str) -> AnalyzerLanguage {
    detect_or(text, AnalyzerLanguage::English)
}

/// Like [`detect`], but `fallback` when the text has no cue of either language
/// (e.g. "Penalties?" or "RF 2:1").
pub fn detect_or(text: &str, fallback: AnalyzerLanguage) -> AnalyzerLanguage {
    let (swedish, english) = cue_counts(text);
    if swedish == 0 && english == 0 {
        fallback
    } else if swedish > english {
        AnalyzerLanguage::Swedish
    } else {
        AnalyzerLanguage::English
    }
}

/// Number of Swedish and of English cues among the words of `text`.
fn cue_counts(text: &str) -> (usize, usize) {
    let mut swedish = 0;
    let mut english = 0;
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let word = word.to_lowercase();
        if is_listed(SWEDISH_WORDS, &word) || word.contains(['å', 'ä', 'ö']) {
            swedish += 1;
        }
        if is_listed(ENGLISH_WORDS, &word) {
            english += 1;
        }
    }
    (swedish, english)
}

/// Whether `word` is one of the whitespace-separated words of `list`.
fn is_listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|listed| listed == word)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SV: AnalyzerLanguage = AnalyzerLanguage::Swedish;
    const EN: AnalyzerLanguage = AnalyzerLanguage::English;

    #[test]
    fn swedish_questions() {
        for text in [
            "Vad säger RF 2 kap. 1 § om yttrandefrihet?",
            "Hur överklagar jag ett beslut?",
            "Och 2 kap. 2 §?",
            "vad med tryckfriheten?",
            "Hej",
            "Är det lagligt?",
            "Åklagare",
        ] {
            assert_eq!(detect(text), SV, "{text}");
        }
    }

    #[test]
    fn english_questions() {
        for text in [
            "What does the Data Protection Act section 4 say about consent?",
            "And what about section 5?",
            "What does tryckfrihetsförordningen say about the press?",
            "How do I apply for a permit?",
            "thanks!",
        ] {
            assert_eq!(detect(text), EN, "{text}");
        }
    }

    #[test]
    fn no_cues_give_the_fallback() {
        assert_eq!(detect("RF 2:1"), EN);
        assert_eq!(detect(""), EN);
        assert_eq!(detect_or("Penalties?", SV), SV);
        assert_eq!(detect_or("Penalties?", EN), EN);
    }
}
