//! Whether the selected sources can back an answer at all: a question naming a statute
//! reference, a year or a number that no source mentions cannot be answered from them.

use super::references;
use super::tiering::Candidate;

/// Why the sources cannot back an answer, or `None` when they may.
pub fn missing_grounds(question: &str, sources: &[Candidate]) -> Option<String> {
    if sources.is_empty() {
        return Some("no source is relevant enough to the question".into());
    }
    for reference in references::find(question) {
        let mentioned = sources
            .iter()
            .any(|s| references::is_mentioned(&reference, &s.hit.text, &s.hit.path));
        if !mentioned {
            return Some(format!("no source contains {}", reference.text));
        }
    }
    identifiers(question)
        .into_iter()
        .find(|number| !sources.iter().any(|s| mentions_number(s, number)))
        .map(|number| format!("no source mentions {number}"))
}

/// Numbers of three or more digits (years, case and statute numbers) in `text`.
fn identifiers(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() >= 3)
        .collect()
}

fn mentions_number(source: &Candidate, number: &str) -> bool {
    [&source.hit.text, &source.hit.path, &source.hit.title]
        .iter()
        .any(|field| identifiers(field).contains(&number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_long_numbers_only() {
        assert_eq!(
            identifiers("Vem vann valet 2030? RF 2 kap. 1 §, SFS 1974:152"),
            ["2030", "1974", "152"]
        );
    }
}
