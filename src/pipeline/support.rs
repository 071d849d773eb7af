//! The support check of a generated answer: every sentence must be backed by a sentence of
//! the sources it cites (of all the answer's sources when it cites none).
//!
//! A sentence is supported when
//! * the source sentence it restates (the closest by cosine of the sentence encoder's
//!   embeddings plus the share of its words it contains) is close enough in meaning,
//! * contains enough of its content terms (terms that only name the source, from its title
//!   or path, do not count: "The Mozilla Public License allows X" needs the X),
//! * says it with the same polarity (an even or odd count of negations: "may" against "may
//!   not", "utan" against "med"), and
//! * contains every number the sentence states ("30 days" against "60 days"; numbers in the
//!   source's title or path count too).
//!
//! Sentences with fewer than two content terms ("Yes.", "In short:") or that only name their
//! source ("The Apache License 2.0.") state nothing to check and are kept without a verdict.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::terms;
use crate::config::SupportConfig;
use crate::error::AppResult;
use crate::guard::citations;
use crate::inference::batcher::Priority;
use crate::inference::cosine_scale::CosineScale;
use crate::inference::embedder::Embedder;
use crate::inference::tokenizer::TextRole;
use crate::retrieval::analyzer::{AnalyzerLanguage, analyze};
use crate::text::sentences;

/// Sentences with fewer content terms are not judged.
const MIN_TERMS: usize = 2;
/// Source sentences longer than this many words are also compared clause by clause (split
/// at `;`), so a short answer sentence can match the clause it paraphrases.
const LONG_SENTENCE_WORDS: usize = 30;
/// Most source sentences compared (the first of each source come first).
const MAX_SOURCE_SENTENCES: usize = 256;
/// Words that talk about the sources and their structure rather than state a claim; not
/// counted as content.
const META_WORDS: &str = "source sources passage passages document documents text texts \
    section sections clause clauses paragraph article states stated state mentions mentioned \
    provides provided according answer question källa källan källorna texten dokumentet \
    avsnitt paragraf anger enligt svar frågan";

/// English words that negate a clause (words ending in `n't` negate too).
const ENGLISH_NEGATIONS: &[&str] = &[
    "not", "no", "never", "nor", "neither", "none", "nothing", "nobody", "nowhere", "without",
    "cannot",
];
/// A negation word and the word after it that together do not negate ("no more than").
const NOT_NEGATING: &[(&str, &str)] = &[
    ("no", "more"),
    ("no", "less"),
    ("no", "later"),
    ("no", "earlier"),
    ("no", "fewer"),
    ("not", "only"),
    ("inte", "bara"),
    ("inte", "endast"),
    ("inte", "mer"),
    ("inte", "senare"),
];
/// Swedish words that negate a clause.
const SWEDISH_NEGATIONS: &[&str] = &[
    "inte",
    "ej",
    "icke",
    "aldrig",
    "ingen",
    "inget",
    "inga",
    "utan",
    "varken",
    "ingenting",
];
/// English number words and their digits.
const ENGLISH_NUMBERS: &[(&str, &str)] = &[
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("eleven", "11"),
    ("twelve", "12"),
    ("fifteen", "15"),
    ("twenty", "20"),
    ("thirty", "30"),
    ("forty", "40"),
    ("fifty", "50"),
    ("sixty", "60"),
    ("ninety", "90"),
    ("hundred", "100"),
];
/// Swedish number words and their digits.
const SWEDISH_NUMBERS: &[(&str, &str)] = &[
    ("två", "2"),
    ("tre", "3"),
    ("fyra", "4"),
    ("fem", "5"),
    ("sju", "7"),
    ("åtta", "8"),
    ("nio", "9"),
    ("tio", "10"),
    ("elva", "11"),
    ("tolv", "12"),
    ("femton", "15"),
    ("tjugo", "20"),
    ("trettio", "30"),
    ("fyrtio", "40"),
    ("femtio", "50"),
    ("sextio", "60"),
    ("nittio", "90"),
    ("hundra", "100"),
];

/// A sentence end: closing punctuation, closing quotes or brackets, then the citation groups
/// that belong to the sentence (`… permission. [1]`).
static SENTENCE_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"[.!?…][)"'”’»]*(?:[ \t]*\[\d+(?:[ \t]*,[ \t]*\d+)*\])*"#)
        .expect("valid sentence end regex")
});
/// Citation groups (`[1]`, `[1, 2]`) with the spaces before them.
static CITATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[ \t]*\[\d+(?:\s*,\s*\d+)*\]").expect("valid citation regex"));
/// Stems of [`META_WORDS`] in each language.
static META_STEMS: LazyLock<[HashSet<String>; 2]> = LazyLock::new(|| {
    [AnalyzerLanguage::English, AnalyzerLanguage::Swedish]
        .map(|language| analyze(language, META_WORDS).into_iter().collect())
});
/// The start of a list item: a bullet, or a number or letter with `.` or `)`.
static LIST_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:[-*•]\s|\(?(?:\d+|[a-z])[.)]\s)").expect("valid list item regex")
});
/// A leading answer particle ("No, …", "Yes: …"), which is not part of the claim.
static ANSWER_PARTICLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:yes|no|nej|ja)\s*[,:;]\s*").expect("valid answer particle regex")
});
/// Numbers as written: `30`, `2.0`, `3.2.1`, `1974:152`, `1,000`.
static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+(?:[.,:]\d+)*").expect("valid number regex"));

/// A source as the check reads it.
pub struct Evidence<'a> {
    /// Its number, the `n` of `[n]`.
    pub source: u32,
    /// Its text.
    pub text: &'a str,
    /// Its title and structural path, which count for terms and numbers.
    pub label: &'a str,
}

/// When a sentence counts as supported.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Least cosine similarity to a source sentence.
    pub min_similarity: f32,
    /// Least share of the sentence's content terms found in the source sentence it
    /// restates (terms of the source's title and path aside).
    pub min_coverage: f32,
}

impl Thresholds {
    /// The thresholds `config` sets for an encoder of cosine `scale`: a `min_similarity` of 0
    /// follows the encoder (its on-topic cosine).
    pub fn new(config: &SupportConfig, scale: &CosineScale) -> Self {
        let min_similarity = if config.min_similarity > 0.0 {
            config.min_similarity
        } else {
            scale.on_topic
        };
        Self {
            min_similarity: min_similarity as f32,
            min_coverage: config.min_coverage as f32,
        }
    }
}

/// The verdict on one sentence.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A sentence of source `source` says it, with this cosine similarity.
    Supported {
        /// The source.
        source: u32,
        /// Similarity to that source's closest sentence.
        similarity: f32,
    },
    /// The sources do not say it; why.
    Unsupported(String),
    /// Too few content terms to judge; kept.
    Unjudged,
}

/// One sentence of the answer and its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    /// The sentence as written, citations included.
    pub text: String,
    /// Its byte range in the answer.
    pub range: Range<usize>,
    /// Whether the sources support it.
    pub verdict: Verdict,
}

/// The verdicts on every sentence of an answer.
#[derive(Debug, Clone)]
pub struct Support {
    answer: String,
    /// The answer's sentences in order.
    pub sentences: Vec<Sentence>,
}

impl Support {
    /// Judged sentences that are supported.
    pub fn supported(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Supported { .. }))
    }

    /// Sentences that were judged.
    pub fn judged(&self) -> usize {
        self.count(|v| !matches!(v, Verdict::Unjudged))
    }

    /// The share of judged sentences that are supported; 0 when none was judged (the answer
    /// states nothing its sources could support).
    pub fn share(&self) -> f64 {
        match self.judged() {
            0 => 0.0,
            judged => self.supported() as f64 / judged as f64,
        }
    }

    /// The unsupported sentences with the reason of each.
    pub fn unsupported(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sentences.iter().filter_map(|s| match &s.verdict {
            Verdict::Unsupported(reason) => Some((s.text.as_str(), reason.as_str())),
            _ => None,
        })
    }

    /// The answer without its unsupported sentences and without repetitions (small models
    /// loop); a sentence that followed a line break keeps it.
    pub fn kept(&self) -> String {
        let mut kept = String::new();
        let mut previous_end = 0;
        let mut seen = HashSet::new();
        for sentence in &self.sentences {
            let repeated = !seen.insert(sentence.text.split_whitespace().collect::<Vec<_>>());
            if repeated || matches!(sentence.verdict, Verdict::Unsupported(_)) {
                continue;
            }
            if !kept.is_empty() {
                let gap = &self.answer[previous_end..sentence.range.start];
                kept.push(if gap.contains('\n') { '\n' } else { ' ' });
            }
            kept.push_str(&sentence.text);
            previous_end = sentence.range.end;
        }
        kept
    }

    fn count(&self, wanted: impl Fn(&Verdict) -> bool) -> usize {
        self.sentences.iter().filter(|s| wanted(&s.verdict)).count()
    }
}

/// A sentence of a source, as compared.
struct SourceSentence {
    /// Index into the evidence.
    evidence: usize,
    text: String,
}

/// Checks every sentence of `answer` against `evidence`, embedding with `embedder`.
pub async fn check(
    embedder: &Embedder,
    answer: &str,
    evidence: &[Evidence<'_>],
    language: AnalyzerLanguage,
    thresholds: Thresholds,
) -> AppResult<Support> {
    let ranges = answer_sentences(answer);
    let claims: Vec<Option<Claim>> = ranges
        .iter()
        .map(|range| Claim::of(&answer[range.clone()], evidence, language))
        .collect();
    let source_sentences = source_sentences(evidence);
    let mut texts: Vec<String> = claims.iter().flatten().map(|c| c.plain.clone()).collect();
    let claim_count = texts.len();
    texts.extend(source_sentences.iter().map(|s| s.text.clone()));
    let vectors = if claim_count == 0 || source_sentences.is_empty() {
        Vec::new()
    } else {
        // Sentence against sentence is a symmetric comparison: e5 wants "query: " on both.
        embedder
            .embed(&texts, TextRole::Query, Priority::Interactive)
            .await?
            .vectors
    };
    let (claim_vectors, source_vectors) = vectors.split_at(claim_count.min(vectors.len()));
    let mut claim_vectors = claim_vectors.iter();
    let sentences = ranges
        .into_iter()
        .zip(claims)
        .map(|(range, claim)| {
            let verdict = match claim {
                None => Verdict::Unjudged,
                Some(claim) => {
                    let similar: Vec<Similar<'_>> = match claim_vectors.next() {
                        Some(vector) => source_sentences
                            .iter()
                            .zip(source_vectors)
                            .filter(|(s, _)| claim.sources.contains(&s.evidence))
                            .map(|(s, v)| Similar {
                                evidence: s.evidence,
                                text: &s.text,
                                similarity: cosine(vector, v),
                            })
                            .collect(),
                        None => Vec::new(),
                    };
                    judge(&claim, &similar, evidence, language, thresholds)
                }
            };
            Sentence {
                text: answer[range.clone()].to_string(),
                range,
                verdict,
            }
        })
        .collect();
    Ok(Support {
        answer: answer.to_string(),
        sentences,
    })
}

/// What one answer sentence claims.
struct Claim {
    /// The sentence without citation markers, list bullets or a leading "yes,"/"no,".
    plain: String,
    /// Its content terms.
    terms: Vec<String>,
    /// The evidence it is checked against (indexes): what it cites, else all.
    sources: Vec<usize>,
}

impl Claim {
    /// The claim of `sentence`, or `None` when it has too few content terms to judge.
    fn of(sentence: &str, evidence: &[Evidence<'_>], language: AnalyzerLanguage) -> Option<Self> {
        let plain = CITATION.replace_all(sentence, "");
        let plain = plain
            .trim_start_matches(|c: char| matches!(c, '-' | '*' | '•' | '#') || c.is_whitespace())
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let plain = ANSWER_PARTICLE.replace(&plain, "").into_owned();
        let meta = &META_STEMS[match language {
            AnalyzerLanguage::English => 0,
            AnalyzerLanguage::Swedish => 1,
        }];
        let terms: Vec<String> = terms::content_terms(&plain, language)
            .into_iter()
            .filter(|t| !meta.contains(t))
            .collect();
        if terms.len() < MIN_TERMS {
            return None;
        }
        let cited: Vec<u32> = citations::check(sentence, u32::MAX as usize)
            .citations
            .iter()
            .map(|c| c.source)
            .collect();
        let mut sources: Vec<usize> = (0..evidence.len())
            .filter(|&i| cited.contains(&evidence[i].source))
            .collect();
        if sources.is_empty() {
            sources = (0..evidence.len()).collect();
        }
        Some(Claim {
            plain,
            terms,
            sources,
        })
    }
}

/// A source sentence and its similarity to the claim.
struct Similar<'a> {
    evidence: usize,
    text: &'a str,
    similarity: f32,
}

/// The verdict on `claim`, given its similarity to each sentence of its sources.
fn judge(
    claim: &Claim,
    similar: &[Similar<'_>],
    evidence: &[Evidence<'_>],
    language: AnalyzerLanguage,
    thresholds: Thresholds,
) -> Verdict {
    // Terms that only name the source (its title or section) are not evidence for a claim;
    // numbers are compared on their own below.
    let label_terms: Vec<HashSet<String>> = evidence
        .iter()
        .map(|e| analyze(language, e.label).into_iter().collect())
        .collect();
    // `None` when the claim only names the source.
    let coverage = |s: &Similar<'_>| -> Option<(f32, Vec<&str>)> {
        let words: Vec<String> = claim
            .terms
            .iter()
            .filter(|t| !t.chars().any(|c| c.is_ascii_digit()))
            .filter(|t| !label_terms[s.evidence].contains(*t))
            .cloned()
            .collect();
        if words.is_empty() {
            return None;
        }
        let found: HashSet<String> = analyze(language, s.text).into_iter().collect();
        let missing: Vec<&str> = claim
            .terms
            .iter()
            .filter(|t| words.contains(t) && !found.contains(*t))
            .map(String::as_str)
            .collect();
        Some((1.0 - missing.len() as f32 / words.len() as f32, missing))
    };
    // The sentence the claim restates: the closest in meaning and in words. Numbers do not
    // choose it, so "60 days" is compared with the sentence that says "30 days" in the same
    // words.
    let share = |c: &Option<(f32, Vec<&str>)>| c.as_ref().map_or(1.0, |(share, _)| *share);
    let Some((closest, covered)) =
        similar
            .iter()
            .map(|s| (s, coverage(s)))
            .max_by(|(a, ca), (b, cb)| {
                (a.similarity + share(ca)).total_cmp(&(b.similarity + share(cb)))
            })
    else {
        return Verdict::Unsupported("its sources have no sentence to compare".into());
    };
    // A sentence that only names its source ("The Apache License 2.0.") claims nothing.
    let Some((covered, missing)) = covered else {
        return Verdict::Unjudged;
    };
    if closest.similarity < thresholds.min_similarity {
        return Verdict::Unsupported(format!(
            "no source sentence says this (closest, at similarity {:.2}: {:?})",
            closest.similarity, closest.text
        ));
    }
    if covered < thresholds.min_coverage {
        return Verdict::Unsupported(format!(
            "the closest source sentence lacks {}: {:?}",
            missing.join(", "),
            closest.text
        ));
    }
    if is_negated(&claim.plain, language) != is_negated(closest.text, language) {
        return Verdict::Unsupported(format!(
            "negated unlike the closest source sentence: {:?}",
            closest.text
        ));
    }
    let mut known = numbers(closest.text, language);
    known.extend(numbers(evidence[closest.evidence].label, language));
    let mut missing: Vec<String> = numbers(&claim.plain, language)
        .difference(&known)
        .cloned()
        .collect();
    if !missing.is_empty() {
        missing.sort();
        return Verdict::Unsupported(format!(
            "states {} where the closest source sentence does not: {:?}",
            missing.join(", "),
            closest.text
        ));
    }
    Verdict::Supported {
        source: evidence[closest.evidence].source,
        similarity: closest.similarity,
    }
}

/// Cosine similarity of two unit vectors.
pub(super) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Whether `text` says something negated: an odd count of negations ("may not" is negated,
/// "may not … without" is not; "no-charge" is one word and "no more than" a comparison).
fn is_negated(text: &str, language: AnalyzerLanguage) -> bool {
    let cues = match language {
        AnalyzerLanguage::English => ENGLISH_NEGATIONS,
        AnalyzerLanguage::Swedish => SWEDISH_NEGATIONS,
    };
    let words: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '\'' | '’' | '-')))
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect();
    let count = words
        .iter()
        .enumerate()
        .filter(|(i, word)| {
            let negation =
                cues.contains(&word.as_str()) || word.ends_with("n't") || word.ends_with("n’t");
            let next = words.get(i + 1).map_or("", String::as_str);
            negation && !NOT_NEGATING.contains(&(word.as_str(), next))
        })
        .count();
    count % 2 == 1
}

/// The numbers `text` states, as digits (number words included; trailing periods and
/// thousands separators are not part of a number).
fn numbers(text: &str, language: AnalyzerLanguage) -> HashSet<String> {
    let text = CITATION.replace_all(text, "");
    let mut found: HashSet<String> = NUMBER
        .find_iter(&text)
        .map(|m| m.as_str().replace(',', ""))
        .collect();
    let words = match language {
        AnalyzerLanguage::English => ENGLISH_NUMBERS,
        AnalyzerLanguage::Swedish => SWEDISH_NUMBERS,
    };
    for word in text.split(|c: char| !c.is_alphabetic()) {
        let word = word.to_lowercase();
        if let Some((_, digits)) = words.iter().find(|(w, _)| *w == word) {
            found.insert((*digits).to_string());
        }
    }
    found
}

/// Whether `word` (lower-case) is a number: digits, or a number word of either language.
pub(super) fn is_number(word: &str) -> bool {
    word.chars().next().is_some_and(|c| c.is_ascii_digit())
        || ENGLISH_NUMBERS
            .iter()
            .chain(SWEDISH_NUMBERS)
            .any(|(number, _)| *number == word)
}

/// Byte ranges of the sentences of a generated answer, each trimmed: its blocks (see
/// [`blocks`]) split at sentence ends.
fn answer_sentences(answer: &str) -> Vec<Range<usize>> {
    blocks(answer)
        .into_iter()
        .flat_map(|block| {
            sentences_of(&answer[block.clone()])
                .into_iter()
                .map(move |r| block.start + r.start..block.start + r.end)
        })
        .collect()
}

/// Byte ranges of the blocks of `text`: a line break ends a block after a blank line, a line
/// that ends a sentence (`.`, `!`, `?`, `:`) or a list item, and before a list item; other
/// line breaks only wrap a sentence (small models wrap lines mid-sentence).
fn blocks(text: &str) -> Vec<Range<usize>> {
    let lines: Vec<(usize, &str)> = text
        .split_inclusive('\n')
        .scan(0, |start, line| {
            let at = *start;
            *start += line.len();
            Some((at, line))
        })
        .collect();
    let mut blocks = Vec::new();
    let mut start = 0;
    for pair in lines.windows(2) {
        let ((_, line), (next_start, next)) = (pair[0], pair[1]);
        let ends = line.trim_end().ends_with(['.', '!', '?', ':', '…'])
            || line.trim().is_empty()
            || next.trim().is_empty()
            || LIST_ITEM.is_match(line)
            || LIST_ITEM.is_match(next);
        if ends {
            blocks.push(start..next_start);
            start = next_start;
        }
    }
    blocks.push(start..text.len());
    blocks
}

/// The sentences of every source, hard-wrapped lines of a paragraph joined; long sentences
/// also clause by clause. At most [`MAX_SOURCE_SENTENCES`], taken from the sources in turn.
fn source_sentences(evidence: &[Evidence<'_>]) -> Vec<SourceSentence> {
    let per_source: Vec<Vec<String>> = evidence
        .iter()
        .map(|e| {
            e.text
                .split("\n\n")
                .map(|paragraph| paragraph.split_whitespace().collect::<Vec<_>>().join(" "))
                .flat_map(|paragraph| {
                    sentences_of(&paragraph)
                        .into_iter()
                        .map(|r| paragraph[r].to_string())
                        .collect::<Vec<_>>()
                })
                .flat_map(with_clauses)
                .collect()
        })
        .collect();
    let mut sentences = Vec::new();
    let longest = per_source.iter().map(Vec::len).max().unwrap_or(0);
    for position in 0..longest {
        for (evidence, list) in per_source.iter().enumerate() {
            if let Some(text) = list.get(position) {
                sentences.push(SourceSentence {
                    evidence,
                    text: text.clone(),
                });
            }
        }
    }
    sentences.truncate(MAX_SOURCE_SENTENCES);
    sentences
}

/// `sentence`, and when it is long its `;`-separated clauses as well.
fn with_clauses(sentence: String) -> Vec<String> {
    if sentence.split_whitespace().count() <= LONG_SENTENCE_WORDS || !sentence.contains(';') {
        return vec![sentence];
    }
    let clauses: Vec<String> = sentence
        .split(';')
        .map(str::trim)
        .filter(|c| c.split_whitespace().count() >= 3)
        .map(str::to_string)
        .collect();
    std::iter::once(sentence).chain(clauses).collect()
}

/// Byte ranges of the sentences of one line or paragraph, trimmed, empty ones left out. A
/// sentence ends at `.`, `!`, `?` or `…` (with its closing quotes and citations) followed by
/// the end or by a space and anything but a lower-case letter, unless the period closes an
/// abbreviation or an initial.
fn sentences_of(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for end in SENTENCE_END.find_iter(text) {
        let rest = &text[end.end()..];
        let next = rest.trim_start().chars().next();
        let ends = match next {
            None => true,
            Some(next) => {
                rest.starts_with(char::is_whitespace)
                    && !next.is_lowercase()
                    && !(end.as_str().starts_with('.')
                        && ends_with_abbreviation(&text[..end.start()]))
            }
        };
        if ends {
            push_trimmed(&mut ranges, text, start..end.end());
            start = end.end();
        }
    }
    push_trimmed(&mut ranges, text, start..text.len());
    ranges
}

fn push_trimmed(ranges: &mut Vec<Range<usize>>, text: &str, range: Range<usize>) {
    let raw = &text[range.clone()];
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return;
    }
    let start = range.start + (raw.len() - raw.trim_start().len());
    ranges.push(start..start + trimmed.len());
}

/// Whether `before` (the text before a period) ends with an abbreviation or an initial, as
/// the document sentence splitter reads them.
fn ends_with_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    sentences::is_abbreviation(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_similarity_threshold_follows_the_encoder_unless_set() {
        let e5 = CosineScale {
            unrelated: 0.78,
            on_topic: 0.89,
            language_drop: (0.05, 0.08),
        };
        let mut config = SupportConfig::default();
        assert!((Thresholds::new(&config, &e5).min_similarity - 0.89).abs() < 1e-6);
        config.min_similarity = 0.7;
        assert!((Thresholds::new(&config, &e5).min_similarity - 0.7).abs() < 1e-6);
    }

    const EN: AnalyzerLanguage = AnalyzerLanguage::English;
    const SV: AnalyzerLanguage = AnalyzerLanguage::Swedish;

    fn split(answer: &str) -> Vec<&str> {
        answer_sentences(answer)
            .into_iter()
            .map(|r| &answer[r])
            .collect()
    }

    #[test]
    fn sentences_keep_their_citations_and_split_at_lines() {
        let answer = "You may redistribute it [1]. You must keep the notice. [2] See e.g. Section 4.\n- Patent rights end on litigation [1]\nJ. Smith wrote it.";
        assert_eq!(
            split(answer),
            [
                "You may redistribute it [1].",
                "You must keep the notice. [2]",
                "See e.g. Section 4.",
                "- Patent rights end on litigation [1]",
                "J. Smith wrote it.",
            ]
        );
        assert_eq!(
            split("Enligt 2 kap. 1 § gäller det. Det är så."),
            ["Enligt 2 kap. 1 § gäller det.", "Det är så."]
        );
    }

    #[test]
    fn negation_is_counted_by_parity() {
        assert!(!is_negated("You may distribute the work.", EN));
        assert!(is_negated("You may not distribute the work.", EN));
        assert!(is_negated("You can't distribute the work.", EN));
        assert!(!is_negated(
            "You may not distribute it without permission.",
            EN
        ));
        assert!(is_negated("Du får inte sprida verket.", SV));
        assert!(!is_negated("a no-charge, royalty-free license", EN));
        assert!(!is_negated("at a charge no more than the cost", EN));
    }

    #[test]
    fn numbers_are_read_as_digits() {
        let found = numbers("within thirty days of Section 3.2. [1]", EN);
        assert_eq!(found, HashSet::from(["30".to_string(), "3.2".to_string()]));
        assert_eq!(
            numbers("1,000 euros and SFS 1974:152", EN),
            HashSet::from(["1000".to_string(), "1974:152".to_string()])
        );
        assert!(numbers("Someone may use it [2].", EN).is_empty());
    }

    #[test]
    fn kept_text_drops_unsupported_sentences_and_keeps_line_breaks() {
        let answer = "First claim [1]. Invented claim.\nSecond claim [2]. First  claim [1].";
        let verdicts = [
            Verdict::Unjudged,
            Verdict::Unsupported("invented".into()),
            Verdict::Unjudged,
            Verdict::Unjudged,
        ];
        let support = Support {
            answer: answer.into(),
            sentences: answer_sentences(answer)
                .into_iter()
                .zip(verdicts)
                .map(|(range, verdict)| Sentence {
                    text: answer[range.clone()].into(),
                    range,
                    verdict,
                })
                .collect(),
        };
        assert_eq!(support.kept(), "First claim [1].\nSecond claim [2].");
        assert_eq!(support.share(), 0.0);
        assert_eq!(
            support.unsupported().collect::<Vec<_>>(),
            [("Invented claim.", "invented")]
        );
    }

    #[test]
    fn a_claim_is_checked_against_what_it_cites() {
        let evidence = [
            Evidence {
                source: 1,
                text: "Apples are red.",
                label: "Fruit",
            },
            Evidence {
                source: 2,
                text: "Pears are green.",
                label: "Fruit",
            },
        ];
        let claim = Claim::of("Pears are usually green [2].", &evidence, EN).unwrap();
        assert_eq!(claim.sources, [1]);
        assert_eq!(claim.plain, "Pears are usually green.");
        let claim = Claim::of("- Pears and apples differ.", &evidence, EN).unwrap();
        assert_eq!(claim.sources, [0, 1]);
        assert!(Claim::of("Yes [1].", &evidence, EN).is_none());
        let claim = Claim::of("No, pears are not red [2].", &evidence, EN).unwrap();
        assert_eq!(claim.plain, "pears are not red.");
        assert!(Claim::of("According to the sources:", &evidence, EN).is_none());
    }
}
