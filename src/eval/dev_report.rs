//! Scores of a development-set run: per kind, the ranking of the answer's sources (hit@1,
//! hit@5, MRR@10: a source matches when it contains the quote), how often the answer itself
//! contains the quote, and refusals; refusal precision and recall over the whole set; the same
//! ranking numbers for every search mode with and without reranking; p50 latencies. When the
//! questions are asked in more than one language, the answers and searches are also split by
//! the question's language.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::dev_set::{DevSet, QuestionKind, TextLanguage};
use super::outcome::{DEPTH, QuestionOutcome, SEARCHES};
use super::{mean_reciprocal_rank, median, share_within};
use crate::service::SearchMode;

/// hit@1, hit@5 and MRR@10 of a group of positive questions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ranking {
    /// Share with a match at rank 1.
    pub hit_at_1: f64,
    /// Share with a match within the first 5.
    pub hit_at_5: f64,
    /// Mean reciprocal rank of the first match within the first 10.
    pub mrr_at_10: f64,
}

impl Ranking {
    fn of(found_at: &[Option<usize>]) -> Self {
        Self {
            hit_at_1: share_within(found_at, 1),
            hit_at_5: share_within(found_at, 5),
            mrr_at_10: mean_reciprocal_rank(found_at, DEPTH),
        }
    }
}

/// The answers of one kind of question (or of all positives).
#[derive(Debug, Clone, Serialize)]
pub struct AnswerRow {
    /// A kind's name (`lookup`, …, `negative`) or `positive` for all positive kinds
    /// together; prefixed with the question language (`sv lookup`) in the language split.
    pub group: String,
    /// Questions in the group.
    pub questions: usize,
    /// Ranking of the answer's sources (positive groups only).
    pub sources: Option<Ranking>,
    /// Share of answers whose text contains the quote (positive groups only).
    pub quote_in_answer: Option<f64>,
    /// Share of answers that refused.
    pub refused: f64,
}

/// Refusals over the whole set: negatives should be refused, positives answered.
#[derive(Debug, Clone, Serialize)]
pub struct RefusalScores {
    /// Refused negatives / all refusals (`None` when nothing was refused).
    pub precision: Option<f64>,
    /// Refused negatives / negatives.
    pub recall: f64,
    /// Refused positives / positives.
    pub false_refusal_rate: f64,
    /// Refused negatives.
    pub refused_negatives: usize,
    /// Negatives.
    pub negatives: usize,
    /// Refused positives.
    pub refused_positives: usize,
    /// Positives.
    pub positives: usize,
}

/// One search configuration over the positive questions.
#[derive(Debug, Clone, Serialize)]
pub struct SearchRow {
    /// Signal.
    pub mode: SearchMode,
    /// Whether candidates were reranked.
    pub rerank: bool,
    /// Over all positives.
    pub all: Ranking,
    /// Per positive kind that has questions.
    pub by_kind: BTreeMap<QuestionKind, Ranking>,
    /// Per question language, when the questions come in more than one.
    pub by_language: BTreeMap<TextLanguage, Ranking>,
    /// Median latency in milliseconds.
    pub p50_ms: f64,
}

/// The scored run.
#[derive(Debug, Clone, Serialize)]
pub struct DevReport {
    /// Documents ingested.
    pub documents: usize,
    /// Questions asked.
    pub questions: usize,
    /// Time to ingest the corpus, in milliseconds.
    pub ingest_ms: f64,
    /// Answers per kind that has questions, then all positives.
    pub answers: Vec<AnswerRow>,
    /// The same rows per question language, when the questions come in more than one.
    pub answers_by_language: Vec<AnswerRow>,
    /// Refusal precision and recall.
    pub refusal: RefusalScores,
    /// Median answer latency in milliseconds.
    pub answer_p50_ms: f64,
    /// One row per search configuration.
    pub searches: Vec<SearchRow>,
    /// Every question's observations.
    pub outcomes: Vec<QuestionOutcome>,
}

const POSITIVE: [QuestionKind; 4] = [
    QuestionKind::Lookup,
    QuestionKind::Paraphrase,
    QuestionKind::CrossDocument,
    QuestionKind::CrossReference,
];

impl DevReport {
    /// Scores `outcomes` (one per question of `set`, in order).
    pub fn score(set: &DevSet, outcomes: Vec<QuestionOutcome>, ingest_ms: f64) -> Self {
        let all: Vec<&QuestionOutcome> = outcomes.iter().collect();
        let positives: Vec<&QuestionOutcome> = outcomes
            .iter()
            .filter(|o| o.kind != QuestionKind::Negative)
            .collect();
        let negatives: Vec<&QuestionOutcome> = outcomes
            .iter()
            .filter(|o| o.kind == QuestionKind::Negative)
            .collect();
        let languages = languages(&outcomes);
        let answers_by_language = if languages.len() > 1 {
            languages
                .iter()
                .flat_map(|&language| {
                    let asked: Vec<&QuestionOutcome> =
                        outcomes.iter().filter(|o| o.language == language).collect();
                    answer_rows(&format!("{} ", language.code()), &asked)
                })
                .collect()
        } else {
            Vec::new()
        };
        let refused = |group: &[&QuestionOutcome]| group.iter().filter(|o| o.refused).count();
        let (refused_negatives, refused_positives) = (refused(&negatives), refused(&positives));
        let refusal = RefusalScores {
            precision: (refused_negatives + refused_positives > 0)
                .then(|| refused_negatives as f64 / (refused_negatives + refused_positives) as f64),
            recall: ratio(refused_negatives, negatives.len()),
            false_refusal_rate: ratio(refused_positives, positives.len()),
            refused_negatives,
            negatives: negatives.len(),
            refused_positives,
            positives: positives.len(),
        };
        let searches = SEARCHES
            .iter()
            .filter(|&&(mode, rerank)| {
                outcomes
                    .iter()
                    .flat_map(|o| &o.searches)
                    .any(|s| s.mode == mode && s.rerank == rerank)
            })
            .map(|&(mode, rerank)| search_row(&positives, mode, rerank))
            .collect();
        let mut answer_ms: Vec<f64> = outcomes.iter().map(|o| o.answer_ms).collect();
        Self {
            documents: set.documents.len(),
            questions: outcomes.len(),
            ingest_ms,
            answers: answer_rows("", &all),
            answers_by_language,
            refusal,
            answer_p50_ms: median(&mut answer_ms),
            searches,
            outcomes,
        }
    }

    /// The answer row of `group`: a kind's name or `positive`, prefixed with a question
    /// language (`sv positive`) for the language split.
    pub fn answer_row(&self, group: &str) -> Option<&AnswerRow> {
        self.answers
            .iter()
            .chain(&self.answers_by_language)
            .find(|row| row.group == group)
    }

    /// The search row of `mode` with or without reranking.
    pub fn search_row(&self, mode: SearchMode, rerank: bool) -> Option<&SearchRow> {
        self.searches
            .iter()
            .find(|row| row.mode == mode && row.rerank == rerank)
    }

    /// The report as aligned text tables; `reranker` names the reranker used.
    pub fn format_table(&self, reranker: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} questions over {} documents (ingested in {:.0} ms)\n\nanswers (evidence mode), \
             sources ranked; a source matches when it contains the quote",
            self.questions, self.documents, self.ingest_ms
        );
        let _ = writeln!(
            out,
            "{:<18} {:>4} {:>7} {:>7} {:>7} {:>15} {:>8}",
            "kind", "n", "hit@1", "hit@5", "MRR@10", "quote-in-answer", "refused"
        );
        for (i, row) in self
            .answers
            .iter()
            .chain(&self.answers_by_language)
            .enumerate()
        {
            if i == self.answers.len() {
                let _ = writeln!(out, "by question language:");
            }
            let ranking = row.sources;
            let _ = writeln!(
                out,
                "{:<18} {:>4} {:>7} {:>7} {:>7} {:>15} {:>8.3}",
                row.group,
                row.questions,
                cell(ranking.map(|r| r.hit_at_1)),
                cell(ranking.map(|r| r.hit_at_5)),
                cell(ranking.map(|r| r.mrr_at_10)),
                cell(row.quote_in_answer),
                row.refused
            );
        }
        let r = &self.refusal;
        let _ = writeln!(
            out,
            "refusal precision {} recall {:.3} ({}/{} negatives); false refusals {:.3} ({}/{} \
             positives); answer p50 {:.1} ms\n",
            cell(r.precision),
            r.recall,
            r.refused_negatives,
            r.negatives,
            r.false_refusal_rate,
            r.refused_positives,
            r.positives,
            self.answer_p50_ms
        );
        let kinds: Vec<QuestionKind> = POSITIVE
            .into_iter()
            .filter(|kind| self.outcomes.iter().any(|o| o.kind == *kind))
            .collect();
        let languages = languages(&self.outcomes);
        let split = languages.len() > 1;
        let mut split_by: Vec<&str> = kinds.iter().map(|kind| kind.name()).collect();
        if split {
            split_by.extend(languages.iter().map(|language| language.code()));
        }
        let _ = writeln!(out, "searches (top {DEPTH}) over the positives");
        let _ = writeln!(
            out,
            "{:<7} {:<28} {:>7} {:>7} {:>7} {:>8}  hit@5 by {}",
            "mode",
            "rerank",
            "hit@1",
            "hit@5",
            "MRR@10",
            "p50 ms",
            split_by.join(" / ")
        );
        for row in &self.searches {
            let mut parts: Vec<String> = kinds
                .iter()
                .map(|kind| cell(row.by_kind.get(kind).map(|r| r.hit_at_5)))
                .collect();
            parts.extend(
                row.by_language
                    .values()
                    .map(|ranking| cell(Some(ranking.hit_at_5))),
            );
            let _ = writeln!(
                out,
                "{:<7} {:<28} {:>7.3} {:>7.3} {:>7.3} {:>8.1}  {}",
                format!("{:?}", row.mode).to_lowercase(),
                if row.rerank { reranker } else { "-" },
                row.all.hit_at_1,
                row.all.hit_at_5,
                row.all.mrr_at_10,
                row.p50_ms,
                parts.join(" / ")
            );
        }
        out
    }
}

/// One row per kind that has questions in `outcomes`, then one for all positives; each group
/// named with `prefix`.
fn answer_rows(prefix: &str, outcomes: &[&QuestionOutcome]) -> Vec<AnswerRow> {
    let mut rows: Vec<AnswerRow> = QuestionKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let asked: Vec<&QuestionOutcome> = outcomes
                .iter()
                .copied()
                .filter(|o| o.kind == kind)
                .collect();
            (!asked.is_empty()).then(|| {
                answer_row(
                    &format!("{prefix}{kind}"),
                    &asked,
                    kind != QuestionKind::Negative,
                )
            })
        })
        .collect();
    let positives: Vec<&QuestionOutcome> = outcomes
        .iter()
        .copied()
        .filter(|o| o.kind != QuestionKind::Negative)
        .collect();
    rows.push(answer_row(&format!("{prefix}positive"), &positives, true));
    rows
}

/// The languages the questions were asked in, in order.
fn languages<'a>(outcomes: impl IntoIterator<Item = &'a QuestionOutcome>) -> Vec<TextLanguage> {
    let mut languages: Vec<TextLanguage> = outcomes.into_iter().map(|o| o.language).collect();
    languages.sort();
    languages.dedup();
    languages
}

fn answer_row(group: &str, outcomes: &[&QuestionOutcome], positive: bool) -> AnswerRow {
    let found: Vec<Option<usize>> = outcomes.iter().map(|o| o.answer_found_at).collect();
    let quoted = outcomes.iter().filter(|o| o.answer_contains_quote).count();
    AnswerRow {
        group: group.into(),
        questions: outcomes.len(),
        sources: positive.then(|| Ranking::of(&found)),
        quote_in_answer: positive.then(|| ratio(quoted, outcomes.len())),
        refused: ratio(
            outcomes.iter().filter(|o| o.refused).count(),
            outcomes.len(),
        ),
    }
}

fn search_row(positives: &[&QuestionOutcome], mode: SearchMode, rerank: bool) -> SearchRow {
    let found = |keep: &dyn Fn(&QuestionOutcome) -> bool| -> Vec<Option<usize>> {
        positives
            .iter()
            .filter(|o| keep(o))
            .filter_map(|o| {
                o.searches
                    .iter()
                    .find(|s| s.mode == mode && s.rerank == rerank)
            })
            .map(|s| s.found_at)
            .collect()
    };
    let mut latencies: Vec<f64> = positives
        .iter()
        .flat_map(|o| &o.searches)
        .filter(|s| s.mode == mode && s.rerank == rerank)
        .map(|s| s.ms)
        .collect();
    let kinds = POSITIVE
        .into_iter()
        .filter(|kind| positives.iter().any(|o| o.kind == *kind));
    let mut languages = languages(positives.iter().copied());
    if languages.len() < 2 {
        languages.clear();
    }
    SearchRow {
        mode,
        rerank,
        all: Ranking::of(&found(&|_| true)),
        by_kind: kinds
            .map(|kind| (kind, Ranking::of(&found(&|o| o.kind == kind))))
            .collect(),
        by_language: languages
            .into_iter()
            .map(|language| (language, Ranking::of(&found(&|o| o.language == language))))
            .collect(),
        p50_ms: median(&mut latencies),
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}

fn cell(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::outcome::SearchOutcome;

    fn outcome(kind: QuestionKind, refused: bool, found: Option<usize>) -> QuestionOutcome {
        QuestionOutcome {
            id: format!("{kind}"),
            kind,
            language: TextLanguage::English,
            refused,
            refusal_reason: None,
            answer_found_at: found,
            answer_contains_quote: found == Some(0),
            answer_ms: 10.0,
            searches: SEARCHES
                .iter()
                .map(|&(mode, rerank)| SearchOutcome {
                    mode,
                    rerank,
                    found_at: found.map(|p| p + 1),
                    ms: 1.0,
                })
                .collect(),
        }
    }

    #[test]
    fn scores_answers_refusals_and_searches() {
        let set = DevSet {
            language: TextLanguage::English,
            documents: Vec::new(),
            questions: Vec::new(),
        };
        let outcomes = vec![
            outcome(QuestionKind::Lookup, false, Some(0)),
            outcome(QuestionKind::Lookup, false, Some(3)),
            outcome(QuestionKind::Paraphrase, true, None),
            outcome(QuestionKind::CrossDocument, false, None),
            outcome(QuestionKind::Negative, true, None),
            outcome(QuestionKind::Negative, false, None),
        ];
        let report = DevReport::score(&set, outcomes, 0.0);
        let lookup = report.answer_row("lookup").unwrap();
        assert_eq!(lookup.questions, 2);
        let sources = lookup.sources.unwrap();
        assert_eq!((sources.hit_at_1, sources.hit_at_5), (0.5, 1.0));
        assert!((sources.mrr_at_10 - f64::midpoint(1.0, 0.25)).abs() < 1e-12);
        assert_eq!(lookup.quote_in_answer, Some(0.5));
        let positive = report.answer_row("positive").unwrap();
        assert_eq!(positive.questions, 4);
        assert_eq!(positive.refused, 0.25);
        let negative = report.answer_row("negative").unwrap();
        assert!(negative.sources.is_none() && negative.quote_in_answer.is_none());
        assert_eq!(report.refusal.precision, Some(0.5));
        assert_eq!(report.refusal.recall, 0.5);
        assert_eq!(report.refusal.false_refusal_rate, 0.25);
        let bm25 = report.search_row(SearchMode::Bm25, false).unwrap();
        assert_eq!(bm25.all.hit_at_1, 0.0);
        assert_eq!(bm25.all.hit_at_5, 0.5);
        assert_eq!(bm25.by_kind[&QuestionKind::Lookup].hit_at_5, 1.0);
        assert_eq!(bm25.p50_ms, 1.0);
        assert!(report.answers_by_language.is_empty());
        assert!(bm25.by_language.is_empty());
        assert!(report.answer_row("cross_reference").is_none());
        let table = report.format_table("maxsim");
        assert!(table.contains("cross_document"), "{table}");
        assert!(table.contains("refusal precision 0.500"), "{table}");
    }

    #[test]
    fn splits_by_question_language_when_there_are_two() {
        let set = DevSet {
            language: TextLanguage::Swedish,
            documents: Vec::new(),
            questions: Vec::new(),
        };
        let asked = |kind, language, found| QuestionOutcome {
            language,
            ..outcome(kind, false, found)
        };
        let outcomes = vec![
            asked(QuestionKind::CrossReference, TextLanguage::Swedish, Some(0)),
            asked(QuestionKind::Lookup, TextLanguage::Swedish, Some(0)),
            asked(QuestionKind::Lookup, TextLanguage::English, None),
        ];
        let report = DevReport::score(&set, outcomes, 0.0);
        let groups: Vec<&str> = report
            .answers_by_language
            .iter()
            .map(|row| row.group.as_str())
            .collect();
        assert_eq!(
            groups,
            [
                "en lookup",
                "en positive",
                "sv lookup",
                "sv cross_reference",
                "sv positive"
            ]
        );
        let english = report.answer_row("en positive").unwrap();
        assert_eq!(english.sources.unwrap().hit_at_5, 0.0);
        assert_eq!(report.answer_row("lookup").unwrap().questions, 2);
        let bm25 = report.search_row(SearchMode::Bm25, false).unwrap();
        assert_eq!(bm25.by_language[&TextLanguage::Swedish].hit_at_5, 1.0);
        assert_eq!(bm25.by_language[&TextLanguage::English].hit_at_5, 0.0);
        let table = report.format_table("none");
        assert!(table.contains("by question language"), "{table}");
        assert!(table.contains("sv cross_reference"), "{table}");
    }
}
