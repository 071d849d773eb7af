//! Count questions ("How many employees …?", "Hur många dagar …?") are answered only by a
//! sentence that states a count: a number (digits or a number word), next to the counted
//! noun when the sentence is in the question's language. Quotes that merely share the
//! question's topic ("the Python Software Foundation …") do not answer how many.

use std::sync::LazyLock;

use regex::Regex;

use super::support;
use crate::retrieval::analyzer::{AnalyzerLanguage, analyze};

/// "how many" / "hur många" and the word after it.
static COUNT_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:how\s+many|hur\s+många)\s+(?P<noun>\p{L}+)")
        .expect("valid count question regex")
});

/// Words after "how many" that are no counted noun ("Hur många av medlemmarna …").
const NOT_NOUNS: &[&str] = &["of", "the", "av", "de", "det", "den", "i", "per"];

/// Most words between a number and the noun it counts ("30 calendar days", "högst tre
/// anställda arbetstagare").
const NOUN_REACH: usize = 3;

/// A count question: what it counts (the noun's stem, when it names one).
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    noun: Option<String>,
}

/// The count `question` (in `language`) asks for, if it asks one.
pub fn asked(question: &str, language: AnalyzerLanguage) -> Option<Count> {
    let captures = COUNT_QUESTION.captures(question)?;
    let word = captures.name("noun")?.as_str().to_lowercase();
    let noun = if NOT_NOUNS.contains(&word.as_str()) {
        None
    } else {
        analyze(language, &word).into_iter().next()
    };
    Some(Count { noun })
}

impl Count {
    /// What it counts, as written in the refusal ("employees"), or a placeholder.
    pub fn noun(&self) -> &str {
        self.noun.as_deref().unwrap_or("many")
    }

    /// Whether `sentence` states the count. In the question's `language` a number must come
    /// at most [`NOUN_REACH`] words before the counted noun; in another language (whose
    /// nouns the question's cannot be compared with) any number will do.
    pub fn is_stated_in(&self, sentence: &str, language: AnalyzerLanguage, same: bool) -> bool {
        // A number counts a noun of its own clause ("within 30 days, employees …" counts
        // days).
        sentence.split([',', ';', ':']).any(|clause| {
            let words: Vec<String> = clause
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect();
            let mut numbers = words
                .iter()
                .enumerate()
                .filter(|(_, word)| support::is_number(word));
            match (&self.noun, same) {
                (Some(noun), true) => numbers.any(|(at, _)| {
                    words[at + 1..]
                        .iter()
                        .take(NOUN_REACH + 1)
                        .any(|word| analyze(language, word).first() == Some(noun))
                }),
                _ => numbers.next().is_some(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN: AnalyzerLanguage = AnalyzerLanguage::English;
    const SV: AnalyzerLanguage = AnalyzerLanguage::Swedish;

    #[test]
    fn only_how_many_questions_ask_a_count() {
        assert!(asked("How many employees does the PSF have?", EN).is_some());
        assert!(asked("Hur många dagar gäller beslutet?", SV).is_some());
        assert!(asked("How much can they charge for the source?", EN).is_none());
        assert!(asked("What does section 4 say about 30 days?", EN).is_none());
        assert_eq!(
            asked("Hur många av medlemmarna krävs?", SV).unwrap().noun,
            None
        );
    }

    #[test]
    fn a_count_needs_a_number_next_to_the_counted_noun() {
        let employees = asked("How many employees does the PSF have?", EN).unwrap();
        assert!(!employees.is_stated_in(
            "PSF hereby grants Licensee a nonexclusive, royalty-free, world-wide license.",
            EN,
            true
        ));
        // A number about something else is no count of employees.
        assert!(!employees.is_stated_in("Within 30 days, employees may object.", EN, true));
        assert!(employees.is_stated_in("The Foundation has 12 paid employees.", EN, true));
        let days = asked("How many days do I have to cure a violation?", EN).unwrap();
        assert!(days.is_stated_in(
            "it is not fixed within thirty (30) days following notice",
            EN,
            true
        ));
        let workers = asked("Hur många arbetstagare får arbetsgivaren undanta?", SV).unwrap();
        assert!(workers.is_stated_in(
            "En arbetsgivare får från turordningen undanta högst tre arbetstagare.",
            SV,
            true
        ));
        let kronor = asked("Hur många kronor är vitet?", SV).unwrap();
        assert!(!kronor.is_stated_in("Ett föreläggande får förenas med vite.", SV, true));
    }

    #[test]
    fn across_languages_any_number_states_it() {
        let weeks = asked("How many weeks before the birth may she take leave?", EN).unwrap();
        let swedish = "Hon har rätt till hel ledighet minst sju veckor före förlossningen.";
        assert!(weeks.is_stated_in(swedish, SV, false));
        assert!(!weeks.is_stated_in("Hon har rätt till hel ledighet.", SV, false));
    }
}
