//! Extractive evidence answers: the sentences (or legal units) of the sources that best
//! match the question, quoted verbatim with their structural path and source number. Evidence
//! mode never says anything the sources do not contain.

use std::collections::{HashMap, HashSet};

use super::{references, terms};
use crate::retrieval::analyzer::{AnalyzerLanguage, analyze};

/// Abbreviations whose period does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "kap", "prop", "t.ex", "bl.a", "m.m", "jfr", "nr", "art", "p", "st", "resp", "s", "e.g", "i.e",
    "etc", "no", "sec", "ch", "cf", "dvs", "ff", "f",
];
/// Units with fewer words are not quoted.
const MIN_UNIT_WORDS: usize = 4;
/// Units this long are quoted even without closing punctuation; shorter ones without it are
/// headings.
const MIN_UNPUNCTUATED_WORDS: usize = 10;
/// Quotes scoring below this share of the best quote are left out.
const MIN_SHARE_OF_BEST: f32 = 0.3;
/// Most quotes from one passage.
const MAX_PER_PASSAGE: usize = 2;

/// A passage the answer may quote.
pub struct Passage<'a> {
    /// Its source number (the `n` of `[n]`).
    pub source: u32,
    /// Its text.
    pub text: &'a str,
    /// Its structural path, e.g. `2 kap. 1 §`.
    pub path: &'a str,
}

/// A verbatim quote: `text` is exactly the passage's characters `char_start..char_end`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// Source number.
    pub source: u32,
    /// The quoted text.
    pub text: String,
    /// Start in the passage, in characters.
    pub char_start: usize,
    /// End (exclusive) in the passage, in characters.
    pub char_end: usize,
    /// The passage's structural path.
    pub path: String,
    /// Relevance to the question.
    pub score: f32,
}

/// A sentence-like unit of a passage, as byte offsets into its text.
struct Unit {
    passage: usize,
    start: usize,
    end: usize,
    terms: HashSet<String>,
}

/// The best `max_quotes` quotes for `question`, in source and reading order.
pub fn select_quotes(
    question: &str,
    passages: &[Passage<'_>],
    language: AnalyzerLanguage,
    max_quotes: usize,
) -> Vec<Quote> {
    let wanted = terms::content_terms(question, language);
    let cited = references::find(question);
    let units: Vec<Unit> = passages
        .iter()
        .enumerate()
        .flat_map(|(index, passage)| units_of(index, passage.text, language))
        .collect();
    let weights = idf(&wanted, &units);
    let mut scored: Vec<(f32, &Unit)> = units
        .iter()
        .map(|unit| {
            let passage = &passages[unit.passage];
            let lexical: f32 = wanted
                .iter()
                .filter(|t| unit.terms.contains(*t))
                .map(|t| weights[t])
                .sum();
            let referenced = cited.iter().any(|r| {
                references::is_mentioned(r, &passage.text[unit.start..unit.end], passage.path)
            });
            let bonus = if referenced {
                1.0 + lexical.max(0.5)
            } else {
                0.0
            };
            (lexical + bonus, unit)
        })
        .filter(|(score, _)| *score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.passage.cmp(&b.1.passage)));
    let best = scored.first().map_or(0.0, |s| s.0);
    let mut per_passage: HashMap<usize, usize> = HashMap::new();
    let mut chosen: Vec<(f32, &Unit)> = scored
        .into_iter()
        .filter(|(score, _)| *score >= best * MIN_SHARE_OF_BEST)
        .filter(|(_, unit)| {
            let count = per_passage.entry(unit.passage).or_default();
            *count += 1;
            *count <= MAX_PER_PASSAGE
        })
        .take(max_quotes)
        .collect();
    chosen.sort_by_key(|(_, unit)| (unit.passage, unit.start));
    chosen
        .into_iter()
        .map(|(score, unit)| quote(&passages[unit.passage], unit, score))
        .collect()
}

/// One line per quote: `{path}: "{text}" [{source}]`.
pub fn render(quotes: &[Quote]) -> String {
    quotes
        .iter()
        .map(|q| {
            if q.path.is_empty() {
                format!("\"{}\" [{}]", q.text, q.source)
            } else {
                format!("{}: \"{}\" [{}]", q.path, q.text, q.source)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn quote(passage: &Passage<'_>, unit: &Unit, score: f32) -> Quote {
    let char_start = passage.text[..unit.start].chars().count();
    let text = passage.text[unit.start..unit.end].to_string();
    Quote {
        source: passage.source,
        char_end: char_start + text.chars().count(),
        char_start,
        text,
        path: passage.path.to_string(),
        score,
    }
}

/// Inverse document frequency of each wanted term over the units.
fn idf(wanted: &[String], units: &[Unit]) -> HashMap<String, f32> {
    let count = units.len() as f32;
    wanted
        .iter()
        .map(|term| {
            let df = units.iter().filter(|u| u.terms.contains(term)).count() as f32;
            (term.clone(), (1.0 + count / (1.0 + df)).ln())
        })
        .collect()
}

/// The sentence-like units of `text`: lines, split further at sentence ends; each trimmed,
/// headings (short lines without closing punctuation) left out.
fn units_of(passage: usize, text: &str, language: AnalyzerLanguage) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let mut start = line_start;
        for end in sentence_ends(line) {
            push_unit(&mut units, passage, text, start, line_start + end, language);
            start = line_start + end;
        }
        push_unit(
            &mut units,
            passage,
            text,
            start,
            line_start + line.len(),
            language,
        );
        line_start += line.len();
    }
    units
}

fn push_unit(
    units: &mut Vec<Unit>,
    passage: usize,
    text: &str,
    start: usize,
    end: usize,
    language: AnalyzerLanguage,
) {
    let raw = &text[start..end];
    let trimmed = raw.trim();
    let words = trimmed.split_whitespace().count();
    let punctuated = trimmed.ends_with(['.', '?', '!', ':', ';']);
    if words < MIN_UNIT_WORDS || (!punctuated && words < MIN_UNPUNCTUATED_WORDS) {
        return;
    }
    let start = start + (raw.len() - raw.trim_start().len());
    let end = start + trimmed.len();
    units.push(Unit {
        passage,
        start,
        end,
        terms: analyze(language, trimmed).into_iter().collect(),
    });
}

/// Byte offsets just after each sentence-ending `.`, `?` or `!` of `line` that is followed by
/// whitespace and then an upper-case letter, and is not the period of an abbreviation.
fn sentence_ends(line: &str) -> Vec<usize> {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut ends = Vec::new();
    for (i, &(offset, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '?' | '!') {
            continue;
        }
        let next_is_space = chars.get(i + 1).is_some_and(|(_, n)| *n == ' ');
        let then_upper = chars.get(i + 2).is_some_and(|(_, n)| n.is_uppercase());
        if next_is_space && then_upper && !(c == '.' && ends_abbreviation(&line[..offset])) {
            ends.push(offset + c.len_utf8());
        }
    }
    ends
}

/// Whether `before` (the text before a period) ends with a known abbreviation.
fn ends_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
        .to_lowercase();
    ABBREVIATIONS.contains(&word.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RF: &str = "2 kap. Grundläggande fri- och rättigheter\n\n1 § Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet: frihet att i tal, skrift eller bild meddela upplysningar. Var och en är också tillförsäkrad informationsfrihet: frihet att inhämta upplysningar.\n";
    const WEATHER: &str = "Vädret i Sverige är ofta växlande under våren och hösten i hela landet.";

    fn passages() -> Vec<Passage<'static>> {
        vec![
            Passage {
                source: 1,
                text: WEATHER,
                path: "",
            },
            Passage {
                source: 2,
                text: RF,
                path: "2 kap. 1 §",
            },
        ]
    }

    #[test]
    fn quotes_are_verbatim_at_their_offsets() {
        let quotes = select_quotes(
            "Vad säger lagen om yttrandefrihet?",
            &passages(),
            AnalyzerLanguage::Swedish,
            4,
        );
        assert!(!quotes.is_empty());
        for quote in &quotes {
            let passage = passages()
                .into_iter()
                .find(|p| p.source == quote.source)
                .unwrap();
            let exact: String = passage
                .text
                .chars()
                .skip(quote.char_start)
                .take(quote.char_end - quote.char_start)
                .collect();
            assert_eq!(exact, quote.text);
        }
        assert_eq!(quotes[0].source, 2);
        assert!(
            quotes[0].text.starts_with("1 § Var och en"),
            "{:?}",
            quotes[0]
        );
        assert!(
            quotes.iter().all(|q| !q.text.contains("Grundläggande")),
            "a heading: {quotes:?}"
        );
        assert!(quotes[0].text.ends_with("upplysningar."), "{:?}", quotes[0]);
    }

    #[test]
    fn abbreviations_do_not_end_sentences() {
        let ends = sentence_ends("Se 2 kap. 1 § och prop. 1975/76:209. Därefter gäller RF.");
        assert_eq!(ends.len(), 1);
    }

    #[test]
    fn a_cited_section_is_quoted_even_without_topic_words() {
        let quotes = select_quotes(
            "Citera 2 kap. 1 §",
            &passages(),
            AnalyzerLanguage::Swedish,
            2,
        );
        assert!(quotes.iter().all(|q| q.source == 2) && !quotes.is_empty());
    }

    #[test]
    fn nothing_is_quoted_without_overlap() {
        let quotes = select_quotes(
            "Who won the football cup?",
            &passages(),
            AnalyzerLanguage::English,
            4,
        );
        assert!(quotes.is_empty());
    }

    #[test]
    fn renders_path_quote_and_source() {
        let quote = Quote {
            source: 3,
            text: "Text.".into(),
            char_start: 0,
            char_end: 5,
            path: "Section 4".into(),
            score: 1.0,
        };
        assert_eq!(render(&[quote]), "Section 4: \"Text.\" [3]");
    }
}
