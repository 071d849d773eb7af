//! Extractive evidence answers: the sentences of the sources that best answer a question,
//! quoted verbatim.
//!
//! Every quote is an exact substring of its passage (`passage.text`, characters
//! `char_start..char_end`), so an evidence answer never contains text the sources do not.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::references::{self, StatuteReference};
use super::terms;
use crate::retrieval::analyzer::{AnalyzerLanguage, analyze};

/// A retrieved passage that may be quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passage<'a> {
    /// The source number cited as `[n]`.
    pub source: u32,
    /// The passage's text.
    pub text: &'a str,
    /// Its structural path, e.g. `RF 2 kap. 1 §`; may be empty.
    pub path: &'a str,
}

/// A verbatim quote of one sentence or legal unit of a passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// The source number cited as `[n]`.
    pub source: u32,
    /// Exactly the passage's characters `char_start..char_end`.
    pub text: String,
    /// Start in the passage text, in characters (inclusive).
    pub char_start: usize,
    /// End in the passage text, in characters (exclusive).
    pub char_end: usize,
    /// The passage's structural path.
    pub path: String,
    /// Relevance: the IDF-weighted share of the question's terms in the unit, plus
    /// [`REFERENCE_BONUS`] when the unit or its path holds a statute reference of the question.
    pub score: f32,
}

/// Score added to a unit that holds (or whose passage path holds) a reference of the question.
pub const REFERENCE_BONUS: f32 = 1.0;

/// Quotes per passage, unless fewer passages cannot fill `max_quotes` at that rate.
const QUOTES_PER_PASSAGE: usize = 2;

/// Words ending in a period that do not end a sentence (lowercase).
const ABBREVIATIONS: &str = "kap. prop. t.ex. bl.a. nr. art. e.g. i.e. m.m. s.k. jfr. sec. \
    no. st. p. s. dvs. d.v.s. resp. ca. f.d. fr.o.m. t.o.m. o.d. bet. rskr. dir. mr. mrs. \
    dr. prof. vs. cf. ff. jfr resp. avd. pkt. mom. kl. tel.";

/// One sentence or legal unit of a passage.
struct Unit {
    /// Index of its passage.
    passage: usize,
    /// Byte range in the passage text, trimmed of whitespace.
    range: Range<usize>,
    /// Its analyzed terms.
    terms: HashSet<String>,
}

/// The sentences of `passages` that best answer `question`, best first (ties in passage
/// order), at most `max_quotes` and at most two per passage unless fewer passages could not
/// fill `max_quotes`; only units with a score above 0.
pub fn select_quotes(
    question: &str,
    passages: &[Passage<'_>],
    language: AnalyzerLanguage,
    max_quotes: usize,
) -> Vec<Quote> {
    let question_references = references::find(question);
    let question_terms = topic_terms(question, &question_references, language);
    if max_quotes == 0 || (question_terms.is_empty() && question_references.is_empty()) {
        return Vec::new();
    }
    let units = split_passages(passages, language);
    let idf = inverse_document_frequencies(&question_terms, &units);
    let mut scored: Vec<(f32, &Unit)> = units
        .iter()
        .map(|unit| {
            let passage = &passages[unit.passage];
            let text = &passage.text[unit.range.clone()];
            let mut score = term_score(&question_terms, &idf, unit);
            if question_references
                .iter()
                .any(|reference| references::is_mentioned(reference, text, passage.path))
            {
                score += REFERENCE_BONUS;
            }
            (score, unit)
        })
        .filter(|(score, _)| *score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    pick(scored, passages, max_quotes)
}

/// One line a quote: `{path}: "{text}" [{source}]`, or `"{text}" [{source}]` without a path.
pub fn render(quotes: &[Quote]) -> String {
    quotes
        .iter()
        .map(|quote| {
            if quote.path.is_empty() {
                format!("\"{}\" [{}]", quote.text, quote.source)
            } else {
                format!("{}: \"{}\" [{}]", quote.path, quote.text, quote.source)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The content terms of `question` outside its statute references (those are scored by the
/// reference bonus, and their numbers would match unrelated sentences).
fn topic_terms(
    question: &str,
    question_references: &[StatuteReference],
    language: AnalyzerLanguage,
) -> Vec<String> {
    let mut rest = question.to_owned();
    for reference in question_references {
        rest = rest.replace(&reference.text, " ");
    }
    terms::content_terms(&rest, language)
}

/// Takes the best units in order, at most `max_quotes`, capped per passage, skipping a text
/// already quoted from another passage.
fn pick(scored: Vec<(f32, &Unit)>, passages: &[Passage<'_>], max_quotes: usize) -> Vec<Quote> {
    let per_passage = QUOTES_PER_PASSAGE.max(max_quotes.div_ceil(passages.len().max(1)));
    let mut taken = vec![0usize; passages.len()];
    let mut quotes: Vec<Quote> = Vec::new();
    for (score, unit) in scored {
        if quotes.len() == max_quotes {
            break;
        }
        let passage = &passages[unit.passage];
        let text = &passage.text[unit.range.clone()];
        if taken[unit.passage] == per_passage || quotes.iter().any(|quote| quote.text == text) {
            continue;
        }
        taken[unit.passage] += 1;
        quotes.push(quote(passage, &unit.range, score));
    }
    quotes
}

/// The quote of `passage`'s bytes `range`, with character offsets.
fn quote(passage: &Passage<'_>, range: &Range<usize>, score: f32) -> Quote {
    let text = &passage.text[range.clone()];
    let char_start = passage.text[..range.start].chars().count();
    Quote {
        source: passage.source,
        text: text.to_owned(),
        char_start,
        char_end: char_start + text.chars().count(),
        path: passage.path.to_owned(),
        score,
    }
}

/// The units of every passage, in passage order, then text order.
fn split_passages(passages: &[Passage<'_>], language: AnalyzerLanguage) -> Vec<Unit> {
    passages
        .iter()
        .enumerate()
        .flat_map(|(index, passage)| {
            split_units(passage.text)
                .into_iter()
                .map(move |range| Unit {
                    passage: index,
                    terms: analyze(language, &passage.text[range.clone()])
                        .into_iter()
                        .collect(),
                    range,
                })
        })
        .collect()
}

/// IDF of each question term over `units`: `ln(1 + (N - df + 0.5) / (df + 0.5))`.
fn inverse_document_frequencies<'t>(
    question_terms: &'t [String],
    units: &[Unit],
) -> HashMap<&'t str, f32> {
    let count = units.len() as f32;
    question_terms
        .iter()
        .map(|term| {
            let df = units
                .iter()
                .filter(|unit| unit.terms.contains(term))
                .count() as f32;
            (term.as_str(), (1.0 + (count - df + 0.5) / (df + 0.5)).ln())
        })
        .collect()
}

/// The IDF-weighted share of `question_terms` that `unit` contains, in [0, 1].
fn term_score(question_terms: &[String], idf: &HashMap<&str, f32>, unit: &Unit) -> f32 {
    let total: f32 = idf.values().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let found: f32 = question_terms
        .iter()
        .filter(|term| unit.terms.contains(*term))
        .map(|term| idf[term.as_str()])
        .sum();
    found / total
}

/// Byte ranges of the sentences and lines of `text`, trimmed, each with a letter or digit.
fn split_units(text: &str) -> Vec<Range<usize>> {
    let mut units = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let mut start = line_start;
        for end in sentence_ends(line) {
            push_trimmed(text, start..line_start + end, &mut units);
            start = line_start + end;
        }
        push_trimmed(text, start..line_start + line.len(), &mut units);
        line_start += line.len();
    }
    units
}

/// Appends `range` of `text`, trimmed of whitespace, when it has a letter or digit.
fn push_trimmed(text: &str, range: Range<usize>, units: &mut Vec<Range<usize>>) {
    let slice = &text[range.clone()];
    let leading = slice.len() - slice.trim_start().len();
    let trimmed = slice.trim();
    if trimmed.chars().any(char::is_alphanumeric) {
        let start = range.start + leading;
        units.push(start..start + trimmed.len());
    }
}

/// Byte offsets in `line` just after each sentence end: `.`, `?` or `!` (and any closing
/// quotes or brackets) followed by whitespace and a capital letter, except after an
/// abbreviation, an initial or a list number.
fn sentence_ends(line: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    for (index, c) in line.char_indices() {
        if !matches!(c, '.' | '?' | '!') {
            continue;
        }
        let after_mark = index + c.len_utf8();
        let end = after_mark + closing_len(&line[after_mark..]);
        let rest = &line[end..];
        let next = rest.trim_start();
        let spaced = next.len() < rest.len();
        let capital = next.chars().next().is_some_and(char::is_uppercase);
        if spaced && capital && !(c == '.' && is_abbreviation(&line[..after_mark])) {
            ends.push(end);
        }
    }
    ends
}

/// Byte length of the closing quotes and brackets at the start of `rest`.
fn closing_len(rest: &str) -> usize {
    rest.chars()
        .take_while(|c| matches!(c, '"' | '\'' | ')' | ']' | '”' | '’' | '»'))
        .map(char::len_utf8)
        .sum()
}

/// Whether the word ending in a period at the end of `before` is an abbreviation, an
/// initial (`J.`) or a list number (`1.`).
fn is_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or_default()
        .trim_start_matches(['(', '"', '\'', '[', '“', '‘', '«']);
    let stem = &word[..word.len() - 1];
    let lowercase = word.to_lowercase();
    let initial = stem.chars().count() == 1 && stem.chars().all(char::is_alphabetic);
    let list_number =
        !stem.is_empty() && stem.len() <= 3 && stem.chars().all(|c| c.is_ascii_digit());
    initial
        || list_number
        || ABBREVIATIONS
            .split_whitespace()
            .any(|abbreviation| abbreviation == lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SV: AnalyzerLanguage = AnalyzerLanguage::Swedish;
    const EN: AnalyzerLanguage = AnalyzerLanguage::English;

    const RF_2_1: &str = "1 § Var och en är gentemot det allmänna tillförsäkrad \
        yttrandefrihet: frihet att i tal, skrift eller bild meddela upplysningar. \
        Informationsfrihet: frihet att inhämta och ta emot upplysningar.\n\
        2. Mötesfrihet: frihet att anordna och delta i sammankomster.";
    const TF_1_1: &str = "Med tryckfrihet förstås varje svensk medborgares rätt att, \
        utan några av en myndighet i förväg lagda hinder, ge ut skrifter. Även \
        utlänningar har tryckfrihet, enligt 14 kap. 5 § TF.";

    fn passages() -> Vec<Passage<'static>> {
        vec![
            Passage {
                source: 1,
                text: RF_2_1,
                path: "RF 2 kap. 1 §",
            },
            Passage {
                source: 2,
                text: TF_1_1,
                path: "TF 1 kap. 1 §",
            },
        ]
    }

    fn assert_exact(quotes: &[Quote], passages: &[Passage<'_>]) {
        for quote in quotes {
            let passage = passages.iter().find(|p| p.source == quote.source).unwrap();
            let substring: String = passage
                .text
                .chars()
                .skip(quote.char_start)
                .take(quote.char_end - quote.char_start)
                .collect();
            assert_eq!(substring, quote.text);
            assert_eq!(quote.text, quote.text.trim());
            assert_eq!(quote.path, passage.path);
        }
    }

    #[test]
    fn quotes_are_exact_substrings_of_multibyte_text() {
        let passages = passages();
        let quotes = select_quotes(
            "Vad gäller för mötesfrihet och tryckfrihet?",
            &passages,
            SV,
            5,
        );
        assert!(!quotes.is_empty());
        assert_exact(&quotes, &passages);
        let quotes = select_quotes("Vad är informationsfrihet?", &passages, SV, 1);
        assert_eq!(quotes.len(), 1);
        assert_eq!(
            quotes[0].text,
            "Informationsfrihet: frihet att inhämta och ta emot upplysningar."
        );
        assert_eq!(quotes[0].source, 1);
        assert_exact(&quotes, &passages);
    }

    #[test]
    fn relevant_sentence_is_chosen() {
        let passages = passages();
        let quotes = select_quotes("Vad innebär mötesfrihet?", &passages, SV, 1);
        assert_eq!(
            quotes[0].text,
            "2. Mötesfrihet: frihet att anordna och delta i sammankomster."
        );
        let quotes = select_quotes("Har utlänningar tryckfrihet?", &passages, SV, 3);
        assert_eq!(quotes[0].source, 2);
        assert!(quotes[0].text.starts_with("Även utlänningar"), "{quotes:?}");
        assert_exact(&quotes, &passages);
    }

    #[test]
    fn abbreviations_and_sections_do_not_split() {
        let text = "Enligt 2 kap. 1 § RF och prop. 1975/76:209 s. 5 gäller detta t.ex. för \
            pressen. Se även bl.a. Art. 10 EKMR. Nästa mening handlar om annat.";
        let units: Vec<&str> = split_units(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            units,
            [
                "Enligt 2 kap. 1 § RF och prop. 1975/76:209 s. 5 gäller detta t.ex. för pressen.",
                "Se även bl.a. Art. 10 EKMR.",
                "Nästa mening handlar om annat.",
            ]
        );
        let english = "Processing is lawful, e.g. with consent. See Art. 6 GDPR, i.e. The Rule.";
        let units: Vec<&str> = split_units(english)
            .into_iter()
            .map(|r| &english[r])
            .collect();
        assert_eq!(
            units,
            [
                "Processing is lawful, e.g. with consent.",
                "See Art. 6 GDPR, i.e. The Rule."
            ]
        );
    }

    #[test]
    fn lines_and_questions_split() {
        let text = "  Rubrik\n\n1. Första punkten\n2. Andra punkten? Ja! Tredje \"citat.\" Fjärde";
        let units: Vec<&str> = split_units(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            units,
            [
                "Rubrik",
                "1. Första punkten",
                "2. Andra punkten?",
                "Ja!",
                "Tredje \"citat.\"",
                "Fjärde"
            ]
        );
    }

    #[test]
    fn nothing_overlapping_gives_no_quotes() {
        let passages = passages();
        assert!(select_quotes("Hur ansöker jag om bygglov?", &passages, SV, 3).is_empty());
        assert!(select_quotes("Vad säger den?", &passages, SV, 3).is_empty());
        assert!(select_quotes("mötesfrihet", &passages, SV, 0).is_empty());
        assert!(select_quotes("mötesfrihet", &[], SV, 3).is_empty());
    }

    #[test]
    fn referenced_passage_is_quoted_without_term_overlap() {
        let passages = passages();
        let quotes = select_quotes("Citera TF 1 kap. 1 §", &passages, SV, 5);
        assert!(!quotes.is_empty());
        assert!(quotes.iter().all(|quote| quote.source == 2), "{quotes:?}");
        assert!(quotes[0].score >= REFERENCE_BONUS);
        assert!(select_quotes("Citera SFS 2099:999 3 kap. 7 §", &passages, SV, 5).is_empty());
    }

    #[test]
    fn at_most_two_quotes_per_passage_unless_fewer_passages() {
        let text = "Frihet ett. Frihet två. Frihet tre. Frihet fyra.";
        let other = "Frihet fem.";
        let many = [
            Passage {
                source: 1,
                text,
                path: "",
            },
            Passage {
                source: 2,
                text: other,
                path: "",
            },
        ];
        let quotes = select_quotes("frihet", &many, SV, 4);
        assert_eq!(quotes.iter().filter(|q| q.source == 1).count(), 2);
        assert_eq!(quotes.len(), 3);
        let single = [Passage {
            source: 1,
            text,
            path: "",
        }];
        let quotes = select_quotes("frihet", &single, SV, 3);
        assert_eq!(quotes.len(), 3);
        assert_exact(&quotes, &single);
    }

    #[test]
    fn ties_follow_passage_order() {
        let passages = [
            Passage {
                source: 7,
                text: "Consent is required.",
                path: "",
            },
            Passage {
                source: 3,
                text: "Consent is required.",
                path: "Section 2",
            },
            Passage {
                source: 5,
                text: "Consent is always required.",
                path: "",
            },
        ];
        let quotes = select_quotes("What about consent?", &passages, EN, 3);
        let sources: Vec<u32> = quotes.iter().map(|q| q.source).collect();
        assert_eq!(sources, [7, 5], "duplicate text is quoted once");
    }

    #[test]
    fn generated_passages_keep_every_invariant() {
        const WORDS: &[&str] = &[
            "frihet",
            "Åsikt",
            "yttrandefrihet.",
            "§",
            "2 kap.",
            "t.ex.",
            "Öppen?",
            "ärende!",
            "\n",
            "  ",
            "1.",
            "Lag",
            "\"citat.\"",
            "e.g.",
            "Ände",
            "…",
            "\u{301}a",
            "—",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..100 {
            let texts: Vec<String> = (0..3)
                .map(|_| {
                    (0..30)
                        .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            let passages: Vec<Passage<'_>> = texts
                .iter()
                .enumerate()
                .map(|(index, text)| Passage {
                    source: index as u32 + 1,
                    text,
                    path: "2 kap. 1 §",
                })
                .collect();
            let quotes = select_quotes(
                "Vad säger 2 kap. 1 § om frihet och åsikt?",
                &passages,
                SV,
                4,
            );
            assert!(quotes.len() <= 4);
            assert!(
                quotes
                    .iter()
                    .all(|quote| !quote.text.is_empty() && quote.score > 0.0)
            );
            assert_exact(&quotes, &passages);
        }
    }

    #[test]
    fn render_lines() {
        let quotes = [
            Quote {
                source: 1,
                text: "Var och en är …".to_owned(),
                char_start: 4,
                char_end: 19,
                path: "RF 2 kap. 1 §".to_owned(),
                score: 1.0,
            },
            Quote {
                source: 2,
                text: "Consent is required.".to_owned(),
                char_start: 0,
                char_end: 20,
                path: String::new(),
                score: 0.5,
            },
        ];
        assert_eq!(
            render(&quotes),
            "RF 2 kap. 1 §: \"Var och en är …\" [1]\n\"Consent is required.\" [2]"
        );
        assert_eq!(render(&[]), "");
    }
}
