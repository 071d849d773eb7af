//! Whether the selected sources can back an answer: the question's subject must be in the
//! collection (every document, version and instrument it names, every section it cites) and
//! some source must be relevant enough.
//!
//! A number in the question is never a reason on its own: an amount, a year or a count of
//! employees is not a reference, and a cited section is found by the documents' structure,
//! not by the digits a passage happens to write.

use super::subjects::{self, CitedSection, Resolution};
use super::tiering::Candidate;

/// Why the sources cannot back an answer, or `None` when they may.
pub fn missing_grounds(resolution: &Resolution, sources: &[Candidate]) -> Option<String> {
    for unheld in &resolution.unheld {
        let spoken_of = !unheld.version_only
            && sources
                .iter()
                .any(|source| subjects::is_mentioned_in(unheld, &source.hit.text));
        if !spoken_of {
            return Some(format!("the collection holds no {}", unheld.written));
        }
    }
    // A section of a named document joins the candidates whenever the document has it.
    let held = |section: &&CitedSection| sources.iter().any(|source| section.holds(&source.hit));
    let (named, anywhere): (Vec<&CitedSection>, Vec<&CitedSection>) = resolution
        .sections
        .iter()
        .partition(|section| !section.subjects.is_empty());
    if let Some(section) = named.iter().find(|section| !held(section)) {
        let owner = &section.subjects[0].name;
        return Some(format!("{owner} has no {}", section.reference.text));
    }
    if sources.is_empty() {
        return Some("no source is relevant enough to the question".into());
    }
    anywhere
        .iter()
        .find(|section| !held(section))
        .map(|section| format!("no source is {}", section.reference.text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SearchHit;
    use crate::pipeline::retrieve::Tier;
    use crate::pipeline::rewrite::Abbreviations;
    use crate::pipeline::subjects::{DocumentText, Subject, resolve, subjects_of};
    use crate::pipeline::tiering::ReferenceMatch;

    /// The opening and section 4 of the Apache License as its files lay them out.
    const APACHE: &str = "\n                                 Apache License\n                           Version 2.0, January 2004\n                        http://www.apache.org/licenses/\n\n   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION\n\n   1. Definitions.\n\n      \"License\" shall mean the terms and conditions for use, reproduction,\n      and distribution as defined by Sections 1 through 9 of this document.\n\n   4. Redistribution. You may reproduce and distribute copies of the\n      Work or Derivative Works thereof in any medium, with or without\n      modifications, and in Source or Object form, provided that You\n      meet the following conditions:\n";

    fn apache() -> Vec<Subject> {
        subjects_of(
            &DocumentText {
                id: "apache",
                collection: "licences",
                title: "LICENSE",
                text: APACHE,
            },
            &Abbreviations::builtin(),
        )
    }

    fn source(text: &str, path: &str, char_start: u64) -> Candidate {
        Candidate {
            hit: SearchHit {
                chunk_id: format!("{path}@{char_start}"),
                document_id: "apache".into(),
                path: path.into(),
                char_start,
                text: text.into(),
                ..SearchHit::default()
            },
            tier: Tier::Primary,
            scores: crate::pipeline::types::SourceScores::default(),
            reference: ReferenceMatch::NotAsked,
            across_languages: false,
        }
    }

    fn grounds(question: &str, sources: &[Candidate]) -> Option<String> {
        let subjects = apache();
        let subjects: Vec<&Subject> = subjects.iter().collect();
        missing_grounds(&resolve(question, &subjects), sources)
    }

    fn section_four() -> Candidate {
        let start = APACHE.find("   4. Redistribution").unwrap();
        source(
            &APACHE[start..],
            "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION > 4. Redistribution.",
            APACHE[..start].chars().count() as u64,
        )
    }

    fn definitions() -> Candidate {
        let start = APACHE.find("   1. Definitions").unwrap();
        let end = APACHE.find("   4. Redistribution").unwrap();
        source(
            &APACHE[start..end],
            "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION > 1. Definitions.",
            APACHE[..start].chars().count() as u64,
        )
    }

    #[test]
    fn numbers_that_are_no_references_never_refuse() {
        let sources = [section_four()];
        for question in [
            "May I charge 500 euros for distributing the Apache License work?",
            "Does a company with 250 employees have to keep the NOTICE file?",
            "Which terms did the Apache License of 2004 set for redistribution?",
            "What is \"Version 2.0, January 2004\" about redistribution?",
            "What does section 4 of the Apache License say?",
            "what does SECTION 4 of the apache license say?",
        ] {
            assert_eq!(grounds(question, &sources), None, "{question}");
        }
    }

    #[test]
    fn a_cross_reference_is_not_the_section() {
        // The definitions mention "Sections 1 through 9" but are section 1 only.
        assert_eq!(
            grounds(
                "What does section 9 of the Apache License say?",
                &[definitions()]
            ),
            Some("Apache License has no section 9".into())
        );
        assert_eq!(
            grounds("What does section 4 say?", &[definitions()]),
            Some("no source is section 4".into())
        );
        assert_eq!(grounds("What does section 4 say?", &[section_four()]), None);
    }

    #[test]
    fn missing_documents_and_versions_refuse_by_name() {
        let sources = [section_four()];
        assert_eq!(
            grounds(
                "What does the Eclipse Public License say about redistribution?",
                &sources
            ),
            Some("the collection holds no Eclipse Public License".into())
        );
        assert_eq!(
            grounds(
                "What does section 4 of the Apache License 3.0 say?",
                &sources
            ),
            Some("the collection holds no Apache License 3.0".into())
        );
        assert_eq!(
            grounds("What does the Apache License say?", &[]),
            Some("no source is relevant enough to the question".into())
        );
    }
}
