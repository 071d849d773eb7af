//! Questions that ask for a measure are answered only by a sentence that states one. A count
//! ("How many employees …?", "Hur många dagar …?") needs a number next to the counted noun; a
//! length of time ("How long …?", "What is the statute of limitations …?", "Inom vilken tid
//! …?") needs a number next to a unit of time ("thirty (30) days", "det sjätte året"). Quotes
//! that merely share the question's topic ("the Python Software Foundation …", the courts of
//! California) do not answer how many or how long.

use std::sync::LazyLock;

use regex::Regex;

use super::support;
use crate::retrieval::analyzer::{AnalyzerLanguage, analyze};

/// "how many" / "hur många" and the word after it.
static COUNT_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:how\s+many|hur\s+många)\s+(?P<noun>\p{L}+)")
        .expect("valid count question regex")
});

/// Questions after a length of time: "how long", "how soon", "by when", a time limit,
/// deadline, statute of limitations or notice period; "hur länge", "hur lång tid", "inom
/// vilken tid", a "-frist" or "preskriptionstid", "vilken uppsägningstid".
static DURATION_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)\b(?:
            how\s+(?:long|soon) | by\s+when | within\s+what\s+(?:time|period)
            | statutes?\s+of\s+limitations? | limitation\s+periods? | time\s+limits? | deadlines?
            | (?:notice|cure|grace|waiting|retention)\s+periods? | periods?\s+of\s+(?:notice|limitation)
            | hur\s+(?:länge|lång\s+tid|snart) | inom\s+vilken\s+tid | \p{L}*frist\p{L}*
            | preskriptionstid\p{L}* | vilken\s+\p{L}*tid
        )\b",
    )
    .expect("valid duration question regex")
});

/// Words after "how many" that are no counted noun ("Hur många av medlemmarna …").
const NOT_NOUNS: &[&str] = &["of", "the", "av", "de", "det", "den", "i", "per"];

/// Most words between a number and the noun it counts ("30 calendar days", "högst tre
/// anställda arbetstagare").
const NOUN_REACH: usize = 3;

/// Units of time, in both languages and their inflected forms.
const TIME_UNITS: &[&str] = &[
    "second", "seconds", "minute", "minutes", "hour", "hours", "day", "days", "week", "weeks",
    "month", "months", "year", "years", "sekund", "sekunder", "minut", "minuter", "timme",
    "timmar", "dag", "dagar", "dagen", "dagarna", "vecka", "veckor", "veckan", "månad", "månader",
    "månaden", "år", "året", "åren",
];

/// Words that count one unit of time ("one month", "ett år", "a year") or order them ("the
/// sixth year", "det sjätte året"), besides the numbers [`support::is_number`] knows.
const TIME_COUNTERS: &[&str] = &[
    "a", "an", "one", "en", "ett", "sex", "first", "second", "third", "fourth", "fifth", "sixth",
    "seventh", "eighth", "ninth", "tenth", "första", "andra", "tredje", "fjärde", "femte",
    "sjätte", "sjunde", "åttonde", "nionde", "tionde",
];

/// Words that state a length or point of time without a number next to a unit: how long
/// something lasts ("perpetual", "for the maximum duration", "until …", "tills vidare") or
/// when it happens ("immediately", "klockan 01.00").
const TIME_WORDS: &[&str] = &[
    "perpetual",
    "perpetuity",
    "permanent",
    "permanently",
    "forever",
    "indefinitely",
    "duration",
    "until",
    "immediately",
    "midnight",
    "omedelbart",
    "tills",
    "varaktigt",
    "klockan",
    "midnatt",
];

/// What a question asks to be measured.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// How many, and of what when the question names it.
    Count(Option<Counted>),
    /// How long.
    Duration,
}

/// The noun a count question counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Counted {
    /// As the question writes it ("employees").
    word: String,
    /// Its stem, compared with a sentence's stems.
    stem: String,
}

/// The measure `question` (in `language`) asks for, if it asks one.
pub fn asked(question: &str, language: AnalyzerLanguage) -> Option<Measure> {
    if let Some(captures) = COUNT_QUESTION.captures(question) {
        let word = captures.name("noun")?.as_str().to_lowercase();
        let counted = (!NOT_NOUNS.contains(&word.as_str()))
            .then(|| analyze(language, &word).into_iter().next())
            .flatten()
            .map(|stem| Counted { word, stem });
        return Some(Measure::Count(counted));
    }
    DURATION_QUESTION
        .is_match(question)
        .then_some(Measure::Duration)
}

impl Measure {
    /// Why an answer whose quotes state no such measure is refused.
    pub fn refusal(&self) -> String {
        match self {
            Self::Count(Some(counted)) => format!("no source states how many {}", counted.word),
            Self::Count(None) => "no source states how many".into(),
            Self::Duration => "no source states how long".into(),
        }
    }

    /// Whether `sentence` (in `language`; `same` when that is the question's) states the
    /// measure. A count needs a number at most [`NOUN_REACH`] words before the counted noun
    /// in the question's language, and any number in another language (whose nouns the
    /// question's cannot be compared with); a length of time needs a number or counting word
    /// at most [`NOUN_REACH`] words before a unit of time, in either language, or a word such
    /// as "perpetual".
    pub fn is_stated_in(&self, sentence: &str, language: AnalyzerLanguage, same: bool) -> bool {
        // A number measures a noun of its own clause ("within 30 days, employees …" counts
        // days).
        sentence.split([',', ';', ':']).any(|clause| {
            let words: Vec<String> = clause
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect();
            match self {
                Self::Count(Some(counted)) if same => {
                    followed_by(&words, support::is_number, |word| {
                        analyze(language, word).first() == Some(&counted.stem)
                    })
                }
                Self::Count(_) => words.iter().any(|word| support::is_number(word)),
                Self::Duration => {
                    words.iter().any(|word| TIME_WORDS.contains(&word.as_str()))
                        || followed_by(
                            &words,
                            |word| support::is_number(word) || TIME_COUNTERS.contains(&word),
                            |word| TIME_UNITS.contains(&word),
                        )
                }
            }
        })
    }
}

/// Whether a word `number` accepts comes at most [`NOUN_REACH`] words before one `noun`
/// accepts.
fn followed_by(
    words: &[String],
    number: impl Fn(&str) -> bool,
    noun: impl Fn(&str) -> bool,
) -> bool {
    words.iter().enumerate().any(|(at, word)| {
        number(word)
            && words[at + 1..]
                .iter()
                .take(NOUN_REACH + 1)
                .any(|next| noun(next))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN: AnalyzerLanguage = AnalyzerLanguage::English;
    const SV: AnalyzerLanguage = AnalyzerLanguage::Swedish;

    #[test]
    fn only_how_many_questions_ask_a_count() {
        assert!(matches!(
            asked("How many employees does the PSF have?", EN),
            Some(Measure::Count(Some(_)))
        ));
        assert!(matches!(
            asked("Hur många dagar gäller beslutet?", SV),
            Some(Measure::Count(Some(_)))
        ));
        assert!(asked("How much can they charge for the source?", EN).is_none());
        assert!(asked("What does section 4 say about 30 days?", EN).is_none());
        assert_eq!(
            asked("Hur många av medlemmarna krävs?", SV),
            Some(Measure::Count(None))
        );
        assert_eq!(
            asked("How many employees does the PSF have?", EN)
                .unwrap()
                .refusal(),
            "no source states how many employees"
        );
    }

    #[test]
    fn questions_after_a_length_of_time_ask_a_duration() {
        for question in [
            "What is the statute of limitations for copyright claims in California?",
            "If I break the terms, how long do I have to fix it?",
            "What is the minimum period of notice under the act?",
            "Is there a deadline for asking the agency again?",
            "Hur länge gäller företrädesrätten till återanställning?",
            "Hur lång tid i förväg ska föräldraledighet anmälas?",
            "Inom vilken tid ska ett överklagande ha kommit in?",
            "Vilken uppsägningstid har en arbetstagare?",
            "Vilken tidsfrist gäller för begäran?",
        ] {
            assert_eq!(asked(question, EN), Some(Measure::Duration), "{question}");
        }
        for question in [
            "What are the terms of the licence?",
            "When may a Secondary License be used?",
            "Vilka tider gäller för servering?",
            "Vad säger lagen om tillstånd?",
        ] {
            assert_eq!(asked(question, EN), None, "{question}");
        }
    }

    #[test]
    fn a_duration_needs_a_number_next_to_a_unit_of_time() {
        let long = Measure::Duration;
        for stated in [
            "it is not fixed within thirty (30) days following notice from NVIDIA",
            "Ett tillstånd ska ges för viss tid, högst 25 år.",
            "ha kommit in till Skatteverket före utgången av det sjätte året efter utgången",
            "gäller en minsta uppsägningstid av en månad",
            "a perpetual, worldwide, non-exclusive, no-charge, royalty-free license",
            "for the maximum duration provided by applicable law or treaty",
            "reinstated provisionally, unless and until the copyright holder finally terminates",
            "Anställningen gäller tills vidare.",
        ] {
            assert!(long.is_stated_in(stated, EN, true), "{stated}");
        }
        for unstated in [
            "any action shall be brought in the courts of Santa Clara County, California",
            "Licensee agrees to be bound by the terms of 3 sections of this License.",
            "Det är förbjudet att utan tillstånd anlägga eller driva verksamheten.",
        ] {
            assert!(!long.is_stated_in(unstated, EN, true), "{unstated}");
        }
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
