//! The response's view of what the pipeline found: candidates as numbered sources, the
//! sources that are a section the question cites, the evidence level, generation usage.

use super::tiering::{Candidate, ReferenceMatch};
use super::types::{AnswerUsage, EvidenceLevel, Source};
use crate::llm::Usage;

/// The response's view of candidate number `index`.
pub(super) fn to_source(index: usize, candidate: &Candidate) -> Source {
    let hit = &candidate.hit;
    Source {
        index: index as u32,
        chunk_id: hit.chunk_id.clone(),
        document_id: hit.document_id.clone(),
        title: hit.title.clone(),
        collection: hit.collection.clone(),
        path: hit.path.clone(),
        char_start: hit.char_start,
        char_end: hit.char_end,
        snippet: hit.text.clone(),
        tier: candidate.tier.as_str().into(),
        scores: candidate.scores.clone(),
    }
}

/// The response's sources that are a section the question cites (1-based indexes).
pub(super) fn cited_sections(candidates: &[Candidate]) -> Vec<u32> {
    candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.reference == ReferenceMatch::Hit)
        .map(|(index, _)| index as u32 + 1)
        .collect()
}

/// `high` when the answer cites a source that is a section the question cites (found by the
/// documents' structure, never a passage that only mentions it) and that reaches
/// `high_relevance`; `low` with any source; else `none`.
pub(super) fn evidence_level(
    sources: &[Source],
    sections: &[u32],
    cited: impl IntoIterator<Item = u32>,
    high_relevance: f64,
) -> EvidenceLevel {
    if sources.is_empty() {
        return EvidenceLevel::None;
    }
    let strong = |index: u32| {
        sections.contains(&index)
            && sources
                .iter()
                .any(|s| s.index == index && s.scores.relevance >= high_relevance)
    };
    if cited.into_iter().any(strong) {
        EvidenceLevel::High
    } else {
        EvidenceLevel::Low
    }
}

/// Generation usage in the response's shape.
pub(super) fn answer_usage(usage: Usage) -> AnswerUsage {
    AnswerUsage {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        total_tokens: usage.prompt_tokens + usage.completion_tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SearchHit;
    use crate::pipeline::retrieve::Tier;
    use crate::pipeline::types::SourceScores;

    fn source(index: u32, relevance: f64) -> Source {
        let candidate = Candidate {
            hit: SearchHit::default(),
            tier: Tier::Primary,
            scores: SourceScores {
                relevance,
                ..Default::default()
            },
            reference: ReferenceMatch::NotAsked,
            across_languages: false,
        };
        to_source(index as usize, &candidate)
    }

    #[test]
    fn high_evidence_needs_a_cited_section_the_question_cites() {
        let sources = [source(1, 0.9), source(2, 0.65)];
        // Source 2 is the section the question cites; the answer cites it.
        assert_eq!(
            evidence_level(&sources, &[2], [2], 0.6),
            EvidenceLevel::High
        );
        // A strong source that is no cited section (a cross-reference) is not enough.
        assert_eq!(evidence_level(&sources, &[2], [1], 0.6), EvidenceLevel::Low);
        assert_eq!(
            evidence_level(&sources, &[], [1, 2], 0.6),
            EvidenceLevel::Low
        );
        assert_eq!(evidence_level(&sources, &[2], [2], 0.7), EvidenceLevel::Low);
        assert_eq!(evidence_level(&[], &[], [], 0.6), EvidenceLevel::None);
    }
}
