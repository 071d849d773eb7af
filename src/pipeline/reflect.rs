//! Self-reflection: how much of a generated answer its sources support, sentence by sentence,
//! by the share of each sentence's content terms the sources contain.

use super::terms;
use crate::retrieval::analyzer::AnalyzerLanguage;

/// Coverage at which a sentence counts as supported.
const SUPPORTED_COVERAGE: f32 = 0.5;
/// Sentences with fewer content terms are not judged.
const MIN_TERMS: usize = 3;

/// The share of the answer's judged sentences that `sources` support (1 when none is
/// judged).
pub fn supported_share(answer: &str, sources: &str, language: AnalyzerLanguage) -> f64 {
    let judged: Vec<bool> = answer
        .split(['.', '!', '?', '\n'])
        .map(|sentence| terms::content_terms(sentence, language))
        .filter(|t| t.len() >= MIN_TERMS)
        .map(|t| terms::coverage(&t, sources, language) >= SUPPORTED_COVERAGE)
        .collect();
    if judged.is_empty() {
        return 1.0;
    }
    judged.iter().filter(|s| **s).count() as f64 / judged.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_sentences_lower_the_share() {
        let sources = "Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet.";
        let grounded = "Var och en är tillförsäkrad yttrandefrihet gentemot det allmänna [1].";
        let invented = "Månen består av grönmögelost enligt astronomerna i Uppsala.";
        let language = AnalyzerLanguage::Swedish;
        assert_eq!(supported_share(grounded, sources, language), 1.0);
        assert_eq!(supported_share(invented, sources, language), 0.0);
        assert_eq!(
            supported_share(&format!("{grounded} {invented}"), sources, language),
            0.5
        );
    }
}
