//! Query rewrites for corrective retrieval (CRAG): when the graded candidates are too weak,
//! retry 1 spells out abbreviations and retry 2 keeps only the content words.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{language, terms};

/// The built-in abbreviation table.
const BUILTIN: &str = include_str!("../../assets/abbreviations.toml");

/// The abbreviation table as written in TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AbbreviationsFile {
    abbreviations: BTreeMap<String, String>,
}

/// Abbreviations and what they stand for (`RF` → `regeringsformen`).
#[derive(Debug, Clone)]
pub struct Abbreviations {
    /// `(abbreviation, expansion)`, longest abbreviation first.
    entries: Vec<(String, String)>,
}

impl Abbreviations {
    /// Parses and checks an abbreviation table written in TOML.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: AbbreviationsFile =
            toml::from_str(text).map_err(|err| format!("invalid abbreviation table: {err}"))?;
        let mut entries = Vec::with_capacity(file.abbreviations.len());
        for (abbreviation, expansion) in file.abbreviations {
            let (abbreviation, expansion) = (abbreviation.trim(), expansion.trim());
            if abbreviation.is_empty() || expansion.is_empty() {
                return Err(format!(
                    "invalid abbreviation table: blank entry {abbreviation:?} = {expansion:?}"
                ));
            }
            entries.push((abbreviation.to_owned(), expansion.to_owned()));
        }
        entries.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Ok(Self { entries })
    }

    /// Reads an abbreviation table from a TOML file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        Self::from_toml(&text).map_err(|err| format!("{}: {err}", path.display()))
    }

    /// The abbreviation of the law a document `title` names (`Regeringsformen (1974:152)` →
    /// `RF`): the title, without a parenthesised number, must be exactly one expansion.
    pub fn abbreviation_of(&self, title: &str) -> Option<&str> {
        let name = title.split('(').next().unwrap_or("").trim().to_lowercase();
        self.entries
            .iter()
            .find(|(_, expansion)| expansion.to_lowercase() == name)
            .map(|(abbreviation, _)| abbreviation.as_str())
    }

    /// The built-in table (`assets/abbreviations.toml`).
    pub fn builtin() -> Self {
        Self::from_toml(BUILTIN).expect("the built-in abbreviation table is valid")
    }

    /// `text` with the first whole-word occurrence of each abbreviation followed by its
    /// expansion in parentheses (`RF 2 kap.` → `RF (regeringsformen) 2 kap.`); an
    /// abbreviation whose expansion the text already contains is left alone, so expanding
    /// twice changes nothing.
    pub fn expand(&self, text: &str) -> String {
        let mut expanded = text.to_owned();
        for (abbreviation, expansion) in &self.entries {
            if expanded.to_lowercase().contains(&expansion.to_lowercase()) {
                continue;
            }
            if let Some(end) = whole_word_end(&expanded, abbreviation) {
                expanded.insert_str(end, &format!(" ({expansion})"));
            }
        }
        expanded
    }
}

/// Byte offset just after the first whole-word occurrence of `word` in `text`, past a
/// Swedish genitive ending such as `:s` (`RF:s`).
fn whole_word_end(text: &str, word: &str) -> Option<usize> {
    let needs_start = word.starts_with(char::is_alphanumeric);
    let needs_end = word.ends_with(char::is_alphanumeric);
    text.match_indices(word).find_map(|(start, found)| {
        let end = start + found.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let glued_before = needs_start && before.is_some_and(char::is_alphanumeric);
        let glued_after = needs_end && after.is_some_and(char::is_alphanumeric);
        (!glued_before && !glued_after).then(|| end + genitive_len(&text[end..]))
    })
}

/// Byte length of a `:s`-style genitive ending at the start of `rest`, or 0.
fn genitive_len(rest: &str) -> usize {
    let Some(after_colon) = rest.strip_prefix(':') else {
        return 0;
    };
    let letters: usize = after_colon
        .chars()
        .take_while(|c| c.is_alphabetic())
        .map(char::len_utf8)
        .sum();
    if letters == 0 { 0 } else { 1 + letters }
}

/// The query of CRAG retry `attempt`: 1 expands abbreviations, 2 keeps only the content
/// words in their written forms (no pronouns, question words or stopwords). `None` for any
/// other attempt, or when the rewrite is empty or equals the query.
pub fn rewrite(query: &str, attempt: u32, abbreviations: &Abbreviations) -> Option<String> {
    let rewritten = match attempt {
        1 => abbreviations.expand(query),
        2 => terms::content_words(query, language::detect(query)).join(" "),
        _ => return None,
    };
    let rewritten = rewritten.trim();
    (!rewritten.is_empty() && rewritten != query.trim()).then(|| rewritten.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn law_titles_have_their_abbreviation() {
        let table = Abbreviations::builtin();
        assert_eq!(
            table.abbreviation_of("Regeringsformen (1974:152)"),
            Some("RF")
        );
        assert_eq!(table.abbreviation_of("Brottsbalken"), Some("BrB"));
        assert_eq!(table.abbreviation_of("Appeals guide"), None);
    }

    fn builtin() -> Abbreviations {
        Abbreviations::builtin()
    }

    #[test]
    fn expands_whole_word_abbreviations() {
        let table = builtin();
        assert_eq!(
            table.expand("Vad säger RF 2 kap. 1 §?"),
            "Vad säger RF (regeringsformen) 2 kap. 1 §?"
        );
        assert_eq!(
            table.expand("Se prop. 2016/17:180 och SOU 2020:1"),
            "Se prop. (proposition) 2016/17:180 och SOU (statens offentliga utredningar) 2020:1"
        );
        assert_eq!(table.expand("RF:s regler"), "RF:s (regeringsformen) regler");
    }

    #[test]
    fn abbreviations_are_case_sensitive_and_whole_words() {
        let table = builtin();
        for text in ["rf 2 kap.", "RFID-taggar", "SOUP", "the proposal"] {
            assert_eq!(table.expand(text), text);
        }
        assert_eq!(table.expand("BrB"), "BrB (brottsbalken)");
        assert_eq!(table.expand("BRB"), "BRB");
    }

    #[test]
    fn expansion_is_idempotent() {
        let table = builtin();
        for text in [
            "Vad säger RF och TF om censur?",
            "RF 2:1 och RF 2:2",
            "regeringsformen (RF)",
            "GDPR Article 6",
        ] {
            let once = table.expand(text);
            assert_eq!(table.expand(&once), once, "{text}");
        }
        assert_eq!(
            table.expand("RF 2:1 och RF 2:2"),
            "RF (regeringsformen) 2:1 och RF 2:2"
        );
        assert_eq!(table.expand("regeringsformen (RF)"), "regeringsformen (RF)");
    }

    #[test]
    fn first_rewrite_expands_abbreviations() {
        let table = builtin();
        assert_eq!(
            rewrite("Vad säger TF om censur?", 1, &table).as_deref(),
            Some("Vad säger TF (tryckfrihetsförordningen) om censur?")
        );
        assert_eq!(rewrite("Vad säger lagen om censur?", 1, &table), None);
    }

    #[test]
    fn second_rewrite_keeps_content_words() {
        let table = builtin();
        assert_eq!(
            rewrite("Vad säger RF 2 kap. 1 § om yttrandefriheten?", 2, &table).as_deref(),
            Some("RF 2 kap. 1 § yttrandefriheten")
        );
        assert_eq!(
            rewrite("What are its penalties for illegal dumping?", 2, &table).as_deref(),
            Some("penalties illegal dumping")
        );
        assert_eq!(rewrite("What does it say?", 2, &table), None);
        assert_eq!(rewrite("yttrandefrihet", 2, &table), None);
    }

    #[test]
    fn other_attempts_give_none() {
        let table = builtin();
        assert_eq!(rewrite("Vad säger RF?", 0, &table), None);
        assert_eq!(rewrite("Vad säger RF?", 3, &table), None);
    }

    #[test]
    fn custom_tables_and_errors() {
        let table =
            Abbreviations::from_toml("[abbreviations]\nGPL = \"GNU General Public License\"\n")
                .unwrap();
        assert_eq!(table.expand("GPL-3"), "GPL (GNU General Public License)-3");
        assert!(Abbreviations::from_toml("").is_err());
        assert!(Abbreviations::from_toml("[abbreviations]\nX = \" \"\n").is_err());
        assert!(Abbreviations::from_toml("[abbreviations]\n[other]\n").is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abbreviations.toml");
        std::fs::write(&path, BUILTIN).unwrap();
        assert!(Abbreviations::load(&path).is_ok());
        assert!(Abbreviations::load(&dir.path().join("missing.toml")).is_err());
    }
}
