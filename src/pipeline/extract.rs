//! Extractive evidence answers: the whole sentences (or enumerated sub-clauses) of the
//! sources that best match the question, quoted with their structural path, source number
//! and place in the document. Evidence mode never says anything the sources do not contain.

use std::collections::{HashMap, HashSet};

use super::types::Quote;
use super::{references, terms};
use crate::retrieval::analyzer::{AnalyzerLanguage, analyze};
use crate::text::sentences::{self, Sentence};

/// Sentences with fewer words are not quoted.
const MIN_SENTENCE_WORDS: usize = 4;
/// Sentences this long are quoted even without closing punctuation (a list item without a
/// final period); shorter ones without it are headings.
const MIN_UNPUNCTUATED_WORDS: usize = 10;
/// Quotes scoring below this share of the best quote are left out.
const MIN_SHARE_OF_BEST: f32 = 0.3;
/// Most quotes from one passage.
const MAX_PER_PASSAGE: usize = 2;
/// Weight of a question term that a passage's structural path has but the sentence lacks:
/// a question naming a section's heading is answered by that section's sentences.
const PATH_TERM_WEIGHT: f32 = 0.5;

/// A passage the answer may quote: a chunk of a document.
pub struct Passage<'a> {
    /// Its source number (the `n` of `[n]`).
    pub source: u32,
    /// Its whole text.
    pub text: &'a str,
    /// Its structural path, e.g. `2 kap. 1 §`.
    pub path: &'a str,
    /// Where `text` starts in its document, in characters.
    pub char_start: u64,
}

/// A sentence of a passage that may be quoted.
struct Candidate {
    passage: usize,
    sentence: Sentence,
    terms: HashSet<String>,
}

/// The best `max_quotes` quotes for `question`, in source and reading order, at most
/// [`MAX_PER_PASSAGE`] from one passage.
pub fn select_quotes(
    question: &str,
    passages: &[Passage<'_>],
    language: AnalyzerLanguage,
    max_quotes: usize,
) -> Vec<Quote> {
    let wanted = terms::content_terms(question, language);
    let cited = references::find(question);
    let candidates: Vec<Candidate> = passages
        .iter()
        .enumerate()
        .flat_map(|(index, passage)| candidates_of(index, passage, language))
        .collect();
    let weights = idf(&wanted, &candidates);
    let path_terms: Vec<HashSet<String>> = passages
        .iter()
        .map(|passage| analyze(language, passage.path).into_iter().collect())
        .collect();
    let scored: Vec<(f32, &Candidate)> = candidates
        .iter()
        .map(|candidate| {
            let passage = &passages[candidate.passage];
            let lexical: f32 = wanted
                .iter()
                .map(|t| {
                    if candidate.terms.contains(t) {
                        weights[t]
                    } else if path_terms[candidate.passage].contains(t) {
                        PATH_TERM_WEIGHT * weights[t]
                    } else {
                        0.0
                    }
                })
                .sum();
            let sentence = &passage.text[candidate.sentence.start()..candidate.sentence.end()];
            let referenced = cited
                .iter()
                .any(|r| references::is_mentioned(r, sentence, passage.path));
            let bonus = if referenced {
                1.0 + lexical.max(0.5)
            } else {
                0.0
            };
            (lexical + bonus, candidate)
        })
        .filter(|(score, _)| *score > 0.0)
        .collect();
    choose(passages, scored, max_quotes)
}

/// The sentences of `passages` that may be quoted, in order, as (passage index, text with
/// its line wraps joined): what [`select_by_meaning`] wants one relevance for each.
pub fn quotable_sentences(passages: &[Passage<'_>]) -> Vec<(usize, String)> {
    passages
        .iter()
        .enumerate()
        .flat_map(|(index, passage)| candidates_of(index, passage, AnalyzerLanguage::English))
        .map(|candidate| {
            let text = candidate.sentence.flat(passages[candidate.passage].text);
            (candidate.passage, text)
        })
        .collect()
}

/// The best `max_quotes` quotes by meaning: `relevance` holds one calibrated similarity to
/// the question for each of [`quotable_sentences`]; sentences below `min` are never quoted.
/// For a question whose words no sentence shares (another language, a paraphrase).
pub fn select_by_meaning(
    passages: &[Passage<'_>],
    relevance: &[f64],
    min: f64,
    max_quotes: usize,
) -> Vec<Quote> {
    let candidates: Vec<Candidate> = passages
        .iter()
        .enumerate()
        .flat_map(|(index, passage)| candidates_of(index, passage, AnalyzerLanguage::English))
        .collect();
    let scored = candidates
        .iter()
        .zip(relevance)
        .filter(|(_, relevance)| **relevance >= min)
        .map(|(candidate, relevance)| (*relevance as f32, candidate))
        .collect();
    choose(passages, scored, max_quotes)
}

/// The quotes of the best `scored` sentences, in source and reading order: those within
/// [`MIN_SHARE_OF_BEST`] of the best, at most [`MAX_PER_PASSAGE`] from one passage.
fn choose(
    passages: &[Passage<'_>],
    mut scored: Vec<(f32, &Candidate)>,
    max_quotes: usize,
) -> Vec<Quote> {
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.passage.cmp(&b.1.passage))
            .then(a.1.sentence.start().cmp(&b.1.sentence.start()))
    });
    let best = scored.first().map_or(0.0, |s| s.0);
    let mut per_passage: HashMap<usize, usize> = HashMap::new();
    let mut chosen: Vec<&Candidate> = scored
        .into_iter()
        .filter(|(score, _)| *score >= best * MIN_SHARE_OF_BEST)
        .filter(|(_, candidate)| {
            let count = per_passage.entry(candidate.passage).or_default();
            *count += 1;
            *count <= MAX_PER_PASSAGE
        })
        .take(max_quotes)
        .map(|(_, candidate)| candidate)
        .collect();
    chosen.sort_by_key(|candidate| (candidate.passage, candidate.sentence.start()));
    chosen
        .into_iter()
        .map(|candidate| quote(&passages[candidate.passage], &candidate.sentence))
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

/// `sentence` of `passage` as a quote, with document offsets.
fn quote(passage: &Passage<'_>, sentence: &Sentence) -> Quote {
    let start = passage.text[..sentence.start()].chars().count() as u64;
    let length = passage.text[sentence.start()..sentence.end()]
        .chars()
        .count() as u64;
    Quote {
        source: passage.source,
        path: passage.path.to_string(),
        text: sentence.flat(passage.text),
        char_start: passage.char_start + start,
        char_end: passage.char_start + start + length,
    }
}

/// Inverse document frequency of each wanted term over the candidate sentences.
fn idf(wanted: &[String], candidates: &[Candidate]) -> HashMap<String, f32> {
    let count = candidates.len() as f32;
    wanted
        .iter()
        .map(|term| {
            let df = candidates.iter().filter(|c| c.terms.contains(term)).count() as f32;
            (term.clone(), (1.0 + count / (1.0 + df)).ln())
        })
        .collect()
}

/// The sentences of passage `index` worth quoting: whole ones (not the cut end of a
/// longer sentence at the passage's start), with enough words, not headings (by their shape,
/// or because they are the heading the chunker named the passage's section by), and closed
/// by punctuation unless long and not at the passage's end.
fn candidates_of(
    index: usize,
    passage: &Passage<'_>,
    language: AnalyzerLanguage,
) -> Vec<Candidate> {
    let text = passage.text;
    let heading = passage.path.rsplit(" > ").next().map(comparable);
    let sentences = sentences::split(text);
    let last = sentences.len().saturating_sub(1);
    sentences
        .into_iter()
        .enumerate()
        .filter(|(n, sentence)| *n > 0 || !sentence.looks_cut(text))
        .filter_map(|(n, sentence)| {
            let flat = sentence.flat(text);
            let words = flat.split_whitespace().count();
            let closed = sentence.is_closed(text);
            let quotable = words >= MIN_SENTENCE_WORDS
                && !(closed && sentence.is_heading(text))
                && heading.as_deref() != Some(comparable(&flat).as_str())
                && (closed || (words >= MIN_UNPUNCTUATED_WORDS && n < last));
            quotable.then(|| Candidate {
                passage: index,
                terms: analyze(language, &flat).into_iter().collect(),
                sentence,
            })
        })
        .collect()
}

/// `text` lower-cased with its words joined by single spaces and its closing punctuation
/// dropped, so that a heading line compares equal to the path segment made from it.
fn comparable(text: &str) -> String {
    text.trim_end_matches(['.', ':', ';', ' '])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RF: &str = "2 kap. Grundläggande fri- och rättigheter\n\n1 § Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet: frihet att i tal, skrift eller bild meddela upplysningar. Var och en är också tillförsäkrad informationsfrihet: frihet att inhämta upplysningar.\n";
    const WEATHER: &str = "Vädret i Sverige är ofta växlande under våren och hösten i hela landet.";
    /// A section of a hard-wrapped licence, as a chunk starting at character 5210 of its
    /// document.
    const MPL_SECTION: &str = crate::text::sentences::WRAPPED_SECTION;

    fn passages() -> Vec<Passage<'static>> {
        vec![
            Passage {
                source: 1,
                text: WEATHER,
                path: "",
                char_start: 0,
            },
            Passage {
                source: 2,
                text: RF,
                path: "2 kap. 1 §",
                char_start: 120,
            },
        ]
    }

    /// The characters `quote.char_start..quote.char_end` of a document whose characters from
    /// `passage.char_start` on are the passage's.
    fn at_offsets(passage: &Passage<'_>, quote: &Quote) -> String {
        passage
            .text
            .chars()
            .skip((quote.char_start - passage.char_start) as usize)
            .take((quote.char_end - quote.char_start) as usize)
            .collect()
    }

    fn squeeze(text: &str) -> String {
        text.split_whitespace().collect()
    }

    #[test]
    fn quotes_are_whole_sentences_at_their_document_offsets() {
        let passages = passages();
        let quotes = select_quotes(
            "Vad säger lagen om yttrandefrihet?",
            &passages,
            AnalyzerLanguage::Swedish,
            4,
        );
        assert_eq!(quotes.len(), 1, "{quotes:?}");
        let quote = &quotes[0];
        assert_eq!(quote.source, 2);
        assert_eq!(quote.path, "2 kap. 1 §");
        assert_eq!(
            quote.text,
            "1 § Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet: frihet att \
             i tal, skrift eller bild meddela upplysningar."
        );
        assert_eq!(quote.char_start, 120 + 43);
        assert_eq!(at_offsets(&passages[1], quote), quote.text);
    }

    #[test]
    fn a_wrapped_sub_clause_is_quoted_whole_and_flat() {
        let passage = Passage {
            source: 3,
            text: MPL_SECTION,
            path: "3.2",
            char_start: 5210,
        };
        let quotes = select_quotes(
            "How must recipients of the Executable Form be told how to obtain the Source Code \
             Form?",
            std::slice::from_ref(&passage),
            AnalyzerLanguage::English,
            1,
        );
        assert_eq!(quotes.len(), 1);
        let quote = &quotes[0];
        assert!(
            quote.text.starts_with("(a) such Covered Software must"),
            "{quote:?}"
        );
        assert!(quote.text.ends_with("to the recipient; and"), "{quote:?}");
        assert!(!quote.text.contains('\n') && !quote.text.contains("  "));
        let exact = at_offsets(&passage, quote);
        assert!(exact.contains("Source Code\n    Form, as described"));
        assert_eq!(squeeze(&exact), squeeze(&quote.text));
        assert_eq!(
            render(&quotes),
            format!("3.2: \"{}\" [3]", quote.text),
            "one line per quote, wraps as single spaces"
        );
    }

    /// The texts quoted (at most 3) for `question` from one passage `text` at `path`.
    fn quoted_from_one(question: &str, text: &str, path: &str) -> Vec<String> {
        let passage = Passage {
            source: 1,
            text,
            path,
            char_start: 0,
        };
        select_quotes(
            question,
            std::slice::from_ref(&passage),
            AnalyzerLanguage::English,
            3,
        )
        .into_iter()
        .map(|quote| quote.text)
        .collect()
    }

    #[test]
    fn the_cut_start_of_a_passage_and_headings_are_not_quoted() {
        let text = "than the cost of distribution to the recipient; and\n\n3.3. Distribution of a Larger Work\n\nYou may create \
                    and distribute a Larger Work under terms of Your choice.\n";
        assert_eq!(
            quoted_from_one(
                "May I distribute a Larger Work to the recipient?",
                text,
                "3.3"
            ),
            ["You may create and distribute a Larger Work under terms of Your choice."]
        );
    }

    #[test]
    fn the_heading_a_section_is_named_by_is_not_quoted() {
        let text = "APPENDIX: How to apply these terms to your program.\n\n   To apply these terms to \
                    your program, attach the notice below\n   to the start of each source file, \
                    with the fields in brackets\n   replaced by your own details.\n";
        let path = "Terms > APPENDIX: How to apply these terms to your program";
        assert_eq!(
            quoted_from_one("How do I apply these terms to my program?", text, path),
            [
                "To apply these terms to your program, attach the notice below to the start of \
                 each source file, with the fields in brackets replaced by your own details."
            ]
        );
    }

    #[test]
    fn a_section_named_by_its_heading_is_quoted_before_other_sections() {
        let gpl = "No covered work shall be deemed part of an effective technological\nmeasure \
                   under any applicable law fulfilling obligations under article\n11 of the WIPO \
                   copyright treaty adopted on 20 December 1996, or\nsimilar laws prohibiting or \
                   restricting circumvention of such\nmeasures.\n\n  When you convey a covered \
                   work, you waive any legal power to forbid\ncircumvention of technological \
                   measures to the extent such circumvention\nis effected by exercising rights \
                   under this License.\n";
        let passages = [
            Passage {
                source: 1,
                text: gpl,
                path: "3. Protecting Users' Legal Rights From Anti-Circumvention Law.",
                char_start: 0,
            },
            Passage {
                source: 2,
                text: "Nothing in this License limits your legal rights under applicable law.",
                path: "17. Interpretation of Sections 15 and 16.",
                char_start: 900,
            },
        ];
        let quotes = select_quotes(
            "What does the GPL say in Protecting Users' Legal Rights From Anti-Circumvention \
             Law?",
            &passages,
            AnalyzerLanguage::English,
            2,
        );
        assert_eq!(quotes.len(), 2, "{quotes:?}");
        assert!(quotes.iter().all(|q| q.source == 1), "{quotes:?}");
        assert!(
            quotes[0]
                .text
                .starts_with("No covered work shall be deemed part"),
            "{quotes:?}"
        );
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
    fn sentences_are_quoted_by_meaning_when_no_word_is_shared() {
        // An English question over Swedish text: no word in common.
        let question = "Who is guaranteed freedom of expression?";
        assert!(select_quotes(question, &passages(), AnalyzerLanguage::English, 4).is_empty());
        let sentences = quotable_sentences(&passages());
        let passages_of: Vec<usize> = sentences.iter().map(|(p, _)| *p).collect();
        assert_eq!(passages_of, [0, 1, 1], "{sentences:?}");
        // The calibrated similarity of each sentence to the question.
        let relevance = [0.1, 0.9, 0.6];
        let quotes = select_by_meaning(&passages(), &relevance, 0.5, 4);
        let texts: Vec<&str> = quotes.iter().map(|q| q.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "1 § Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet: frihet \
                 att i tal, skrift eller bild meddela upplysningar.",
                "Var och en är också tillförsäkrad informationsfrihet: frihet att inhämta \
                 upplysningar."
            ]
        );
        assert!(quotes.iter().all(|q| q.source == 2));
        assert!(select_by_meaning(&passages(), &relevance, 0.95, 4).is_empty());
    }

    #[test]
    fn renders_path_quote_and_source() {
        let quote = Quote {
            source: 3,
            path: "Section 4".into(),
            text: "Text.".into(),
            char_start: 0,
            char_end: 5,
        };
        assert_eq!(render(&[quote]), "Section 4: \"Text.\" [3]");
    }
}
