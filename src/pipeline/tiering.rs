//! Tiering: calibrated scores for every retrieved chunk, at most a few chunks per document,
//! a relevance floor, best first (primary before support at equal relevance).

use std::collections::{HashMap, HashSet};

use super::calibrate;
use super::references::{self, StatuteReference};
use super::retrieve::{Retrieved, Tier};
use super::terms;
use super::types::SourceScores;
use crate::inference::cosine_scale::CosineScale;
use crate::model::SearchHit;
use crate::retrieval::analyzer::AnalyzerLanguage;

/// A candidate source with its scores.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The chunk.
    pub hit: SearchHit,
    /// Routing tier.
    pub tier: Tier,
    /// Every signal's score and the calibrated relevance.
    pub scores: SourceScores,
    /// Whether it is the section or document the question points at.
    pub reference: ReferenceMatch,
    /// Whether the passage is in another language than the question: its cosine is read on
    /// the encoder's scale across languages and the question's words are not looked for.
    pub across_languages: bool,
}

impl Candidate {
    /// Recomputes `scores.relevance` from the signals now known, reading cosines on the
    /// encoder's `scale`.
    pub fn recalibrate(&mut self, scale: &CosineScale) {
        let (scale, coverage) = if self.across_languages {
            (scale.across_languages(), None)
        } else {
            (*scale, Some(self.scores.lexical))
        };
        let dense = self.scores.dense.map(|cosine| scale.calibrate(cosine));
        let relevance = calibrate::relevance(dense, coverage, self.scores.rerank);
        self.scores.relevance = match self.reference {
            ReferenceMatch::NotAsked => relevance,
            ReferenceMatch::Hit => relevance.max(REFERENCE_HIT_FLOOR),
            ReferenceMatch::Miss => relevance * REFERENCE_MISS_FACTOR,
        };
    }
}

/// Whether a passage is the text a question points at: a section it cites, or a document it
/// names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceMatch {
    /// The question names none.
    NotAsked,
    /// The passage mentions one of them: it is the text asked about.
    Hit,
    /// The passage is none of them (e.g. `4 kap. 1 §` for a question about `2 kap. 1 §`, or a
    /// passage of the MPL for a question about the GPL).
    Miss,
}

/// Relevance at least given to the passage a question cites by reference.
const REFERENCE_HIT_FLOOR: f64 = 0.6;
/// Relevance kept by a passage that misses every reference the question names.
const REFERENCE_MISS_FACTOR: f64 = 0.6;

/// Scores every retrieved chunk against the question's content `terms` (in `language`) and
/// the statute `cited` by it, reading cosines on the encoder's `scale`; `language_of` tells a
/// chunk's language.
pub fn score(
    retrieved: Vec<Retrieved>,
    terms: &[String],
    cited: &[StatuteReference],
    language: AnalyzerLanguage,
    language_of: impl Fn(&SearchHit) -> AnalyzerLanguage,
    scale: &CosineScale,
) -> Vec<Candidate> {
    retrieved
        .into_iter()
        .map(|Retrieved { hit, tier }| {
            let reference = if cited.is_empty() {
                ReferenceMatch::NotAsked
            } else if cited
                .iter()
                .any(|r| references::is_mentioned(r, &hit.text, &hit.path))
            {
                ReferenceMatch::Hit
            } else {
                ReferenceMatch::Miss
            };
            let mut candidate = Candidate {
                reference,
                across_languages: language_of(&hit) != language,
                scores: SourceScores {
                    relevance: 0.0,
                    dense: hit.dense.map(|s| s.score),
                    bm25: hit.bm25.map(|s| s.score),
                    fused: hit.fused,
                    rerank: None,
                    lexical: f64::from(terms::coverage(terms, &hit.text, language)),
                },
                hit,
                tier,
            };
            candidate.recalibrate(scale);
            candidate
        })
        .collect()
}

/// The best `keep` candidates with relevance at least `floor`, no chunk twice and at most
/// `per_document` chunks of one document.
pub fn select(
    mut candidates: Vec<Candidate>,
    per_document: usize,
    floor: f64,
    keep: usize,
) -> Vec<Candidate> {
    candidates.sort_by(|a, b| {
        b.scores
            .relevance
            .total_cmp(&a.scores.relevance)
            .then((a.tier == Tier::Support).cmp(&(b.tier == Tier::Support)))
    });
    let mut seen_chunks = HashSet::new();
    let mut per_doc: HashMap<String, usize> = HashMap::new();
    candidates
        .into_iter()
        .filter(|c| c.scores.relevance >= floor)
        .filter(|c| seen_chunks.insert(c.hit.chunk_id.clone()))
        .filter(|c| {
            let count = per_doc.entry(c.hit.document_id.clone()).or_default();
            *count += 1;
            *count <= per_document
        })
        .take(keep)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(chunk: &str, document: &str, relevance: f64, tier: Tier) -> Candidate {
        Candidate {
            hit: SearchHit {
                chunk_id: chunk.into(),
                document_id: document.into(),
                collection: "c".into(),
                ..SearchHit::default()
            },
            tier,
            scores: SourceScores {
                relevance,
                ..Default::default()
            },
            reference: ReferenceMatch::NotAsked,
            across_languages: false,
        }
    }

    #[test]
    fn keeps_the_best_per_document_above_the_floor() {
        let picked = select(
            vec![
                candidate("a1", "a", 0.9, Tier::Primary),
                candidate("a2", "a", 0.8, Tier::Primary),
                candidate("a3", "a", 0.7, Tier::Primary),
                candidate("b1", "b", 0.8, Tier::Support),
                candidate("c1", "c", 0.1, Tier::Primary),
                candidate("a1", "a", 0.9, Tier::Primary),
            ],
            2,
            0.3,
            10,
        );
        let ids: Vec<&str> = picked.iter().map(|c| c.hit.chunk_id.as_str()).collect();
        assert_eq!(ids, ["a1", "a2", "b1"]);
    }

    #[test]
    fn a_passage_in_another_language_is_judged_by_meaning_alone() {
        // multilingual-e5-small's scale; an English question and the Swedish section that
        // answers it, at a cosine typical across the two languages.
        let scale = CosineScale {
            unrelated: 0.78,
            on_topic: 0.89,
            language_drop: (0.05, 0.08),
        };
        let hit = SearchHit {
            chunk_id: "sfs#1".into(),
            collection: "sfs".into(),
            text: "Uppsägningstiden är minst en månad.".into(),
            dense: Some(crate::model::SignalScore {
                score: 0.83,
                rank: 1,
            }),
            ..SearchHit::default()
        };
        let retrieved = || {
            vec![Retrieved {
                hit: hit.clone(),
                tier: Tier::Primary,
            }]
        };
        let terms = ["minimum".to_string(), "notice".into(), "period".into()];
        let english = AnalyzerLanguage::English;
        let across = score(
            retrieved(),
            &terms,
            &[],
            english,
            |_| AnalyzerLanguage::Swedish,
            &scale,
        );
        let alike = score(retrieved(), &terms, &[], english, |_| english, &scale);
        assert!(across[0].across_languages && !alike[0].across_languages);
        assert!(
            across[0].scores.relevance > 0.8,
            "{}",
            across[0].scores.relevance
        );
        assert!(
            alike[0].scores.relevance < 0.35,
            "{}",
            alike[0].scores.relevance
        );
    }
}
