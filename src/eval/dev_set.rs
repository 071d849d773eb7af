//! A real-text development set: a manifest of documents (`corpus.json`) and questions about
//! them (`questions.json`), each positive one with a quote that answers it. A document is
//! either a file that a pinned PyPI package ships (`package` + `path`, read from the directory
//! `just setup` installs them into: the English licence set) or a file inside the repository
//! (`file`, relative to the set's folder: the Swedish statute set). The manifest's `language`
//! is the collection's (`en` or `sv`, English when absent); a question's `language` is the one
//! it is asked in (the collection's when absent).
//!
//! Loading checks the set before anything runs: every document's package is installed at its
//! pinned version and its file exists, and every quote has 5–12 words and occurs exactly once
//! in the whole corpus (after whitespace normalisation), in the document the question expects.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::model::Language;

/// Fewest and most words a quote may have.
const QUOTE_WORDS: std::ops::RangeInclusive<usize> = 5..=12;

/// The kind of a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Asked in the text's own words.
    Lookup,
    /// Asked in plain words.
    Paraphrase,
    /// The licence is not named and must be inferred (from a package, a library, a context).
    CrossDocument,
    /// Asked by reference to a chapter and section of a named act (`3 kap. 2 § miljöbalken`).
    CrossReference,
    /// The collection cannot answer it; the answer should be a refusal.
    Negative,
}

impl QuestionKind {
    /// Every kind, in report order.
    pub const ALL: [QuestionKind; 5] = [
        QuestionKind::Lookup,
        QuestionKind::Paraphrase,
        QuestionKind::CrossDocument,
        QuestionKind::CrossReference,
        QuestionKind::Negative,
    ];

    /// The name used in the files and the report.
    pub fn name(self) -> &'static str {
        match self {
            QuestionKind::Lookup => "lookup",
            QuestionKind::Paraphrase => "paraphrase",
            QuestionKind::CrossDocument => "cross_document",
            QuestionKind::CrossReference => "cross_reference",
            QuestionKind::Negative => "negative",
        }
    }
}

impl fmt::Display for QuestionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The language of a set's texts or of a question, as the files write it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum TextLanguage {
    /// English.
    #[default]
    #[serde(rename = "en")]
    English,
    /// Swedish.
    #[serde(rename = "sv")]
    Swedish,
}

impl TextLanguage {
    /// The code used in the files and the report.
    pub fn code(self) -> &'static str {
        match self {
            TextLanguage::English => "en",
            TextLanguage::Swedish => "sv",
        }
    }

    /// The analyzer language of a collection holding texts in this language.
    pub fn analyzer(self) -> Language {
        match self {
            TextLanguage::English => Language::English,
            TextLanguage::Swedish => Language::Swedish,
        }
    }
}

/// A document of the corpus manifest: a file shipped by a pinned package (`package` and
/// `path`) or a file of the repository (`file`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusEntry {
    /// Label the questions use.
    pub external_id: String,
    /// Title as a user would name it.
    pub title: String,
    /// The pinned requirement that ships the file, `name==version`.
    #[serde(default)]
    pub package: Option<String>,
    /// The package's file, relative to the install directory.
    #[serde(default)]
    pub path: Option<String>,
    /// A file of the repository, relative to the set's folder.
    #[serde(default)]
    pub file: Option<String>,
    /// The document's language; must be the collection's when given.
    #[serde(default)]
    pub language: Option<TextLanguage>,
}

impl CorpusEntry {
    /// Where the text comes from, as stored in the document's `source`.
    pub fn source(&self) -> String {
        match (&self.package, &self.path, &self.file) {
            (Some(package), Some(path), _) => format!("{package} {path}"),
            (_, _, Some(file)) => file.clone(),
            _ => String::new(),
        }
    }
}

/// `corpus.json`; its `about` is for people.
#[derive(Deserialize)]
struct CorpusFile {
    #[serde(default)]
    language: TextLanguage,
    documents: Vec<CorpusEntry>,
}

/// A document with its text, as read from the install directory.
#[derive(Debug, Clone)]
pub struct DevDocument {
    /// Its manifest entry.
    pub entry: CorpusEntry,
    /// The file's text.
    pub text: String,
}

/// Where a positive question's answer is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedPassage {
    /// The document's `external_id`.
    pub external_id: String,
    /// The section, as a person would name it.
    pub section: String,
}

/// One question.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevQuestion {
    /// Stable identifier.
    pub id: String,
    /// Its kind.
    pub kind: QuestionKind,
    /// The question as a user asks it.
    pub question: String,
    /// Where the answer is (positives only).
    #[serde(default)]
    pub expected: Option<ExpectedPassage>,
    /// 5–12 words of the text that answer the question (positives only).
    #[serde(default)]
    pub quote: Option<String>,
    /// Why the collection cannot answer (negatives only).
    #[serde(default)]
    pub why: Option<String>,
    /// The language it is asked in; the collection's when absent (filled in on loading).
    #[serde(default)]
    pub language: Option<TextLanguage>,
}

impl DevQuestion {
    /// The quote, whitespace-normalised; `None` for negatives.
    pub fn normalised_quote(&self) -> Option<String> {
        self.quote.as_deref().map(normalise_whitespace)
    }
}

/// `questions.json`; its `about` is for people.
#[derive(Deserialize)]
struct QuestionsFile {
    questions: Vec<DevQuestion>,
}

/// The loaded and checked set.
#[derive(Debug, Clone)]
pub struct DevSet {
    /// The collection's language.
    pub language: TextLanguage,
    /// The corpus, in manifest order.
    pub documents: Vec<DevDocument>,
    /// The questions, in file order.
    pub questions: Vec<DevQuestion>,
}

/// Collapses every run of whitespace to one space and trims the ends, so that text
/// hard-wrapped at any width compares equal to the same text on one line.
pub fn normalise_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `text` contains `quote` (already normalised) once whitespace is normalised.
pub fn contains_quote(text: &str, normalised_quote: &str) -> bool {
    normalise_whitespace(text).contains(normalised_quote)
}

impl DevSet {
    /// Reads `corpus.json` and `questions.json` from `set_dir` and the texts from
    /// `corpus_dir` (packaged files, where `just setup` installs the packages) or `set_dir`
    /// (repository files), then checks the set. Fails naming every missing package or file
    /// and every bad question.
    pub fn load(set_dir: &Path, corpus_dir: &Path) -> AppResult<Self> {
        let manifest: CorpusFile = read_json(&set_dir.join("corpus.json"))?;
        let mut questions: QuestionsFile = read_json(&set_dir.join("questions.json"))?;
        let documents = read_corpus(manifest.documents, manifest.language, set_dir, corpus_dir)?;
        for question in &mut questions.questions {
            question.language.get_or_insert(manifest.language);
        }
        let set = DevSet {
            language: manifest.language,
            documents,
            questions: questions.questions,
        };
        let problems = set.problems();
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(invalid(format!(
                "{} problem(s) in {}:\n  {}",
                problems.len(),
                set_dir.display(),
                problems.join("\n  ")
            )))
        }
    }

    /// Every problem of the questions: duplicate ids, fields that do not fit the kind,
    /// unknown documents, quotes of the wrong length or that do not occur exactly once in the
    /// corpus, in the expected document.
    pub fn problems(&self) -> Vec<String> {
        let texts: Vec<(&str, String)> = self
            .documents
            .iter()
            .map(|d| (d.entry.external_id.as_str(), normalise_whitespace(&d.text)))
            .collect();
        let known: HashSet<&str> = texts.iter().map(|(id, _)| *id).collect();
        let mut ids = HashSet::new();
        let mut problems = Vec::new();
        for question in &self.questions {
            let id = &question.id;
            if !ids.insert(id.as_str()) {
                problems.push(format!("{id}: duplicate id"));
            }
            if question.question.trim().is_empty() {
                problems.push(format!("{id}: empty question"));
            }
            match (
                question.kind,
                &question.expected,
                question.normalised_quote(),
            ) {
                (QuestionKind::Negative, None, None) => {}
                (QuestionKind::Negative, _, _) => {
                    problems.push(format!("{id}: a negative has no expected passage or quote"));
                }
                (_, Some(expected), Some(quote)) => {
                    if !known.contains(expected.external_id.as_str()) {
                        problems.push(format!("{id}: unknown document {:?}", expected.external_id));
                    }
                    let words = quote.split(' ').count();
                    if !QUOTE_WORDS.contains(&words) {
                        problems.push(format!("{id}: the quote has {words} words, not 5–12"));
                    }
                    let found: Vec<(&str, usize)> = texts
                        .iter()
                        .map(|(doc, text)| (*doc, text.matches(quote.as_str()).count()))
                        .filter(|(_, n)| *n > 0)
                        .collect();
                    let total: usize = found.iter().map(|(_, n)| n).sum();
                    if total != 1 {
                        problems.push(format!(
                            "{id}: the quote {quote:?} occurs {total} times in the corpus {found:?}, not once"
                        ));
                    } else if found[0].0 != expected.external_id {
                        problems.push(format!(
                            "{id}: the quote occurs in {}, not in the expected {}",
                            found[0].0, expected.external_id
                        ));
                    }
                }
                _ => problems.push(format!(
                    "{id}: a positive question needs an expected passage and a quote"
                )),
            }
        }
        problems
    }

    /// The questions of `kind`.
    pub fn of_kind(&self, kind: QuestionKind) -> impl Iterator<Item = &DevQuestion> {
        self.questions.iter().filter(move |q| q.kind == kind)
    }
}

fn read_corpus(
    entries: Vec<CorpusEntry>,
    language: TextLanguage,
    set_dir: &Path,
    corpus_dir: &Path,
) -> AppResult<Vec<DevDocument>> {
    let mut documents = Vec::with_capacity(entries.len());
    let mut missing = Vec::new();
    for entry in entries {
        if entry.language.is_some_and(|l| l != language) {
            missing.push(format!(
                "{}: its language is not the collection's ({})",
                entry.external_id,
                language.code()
            ));
            continue;
        }
        let path = match (&entry.package, &entry.path, &entry.file) {
            (Some(package), Some(path), None) => match installed(package, corpus_dir) {
                Ok(()) => corpus_dir.join(path),
                Err(problem) => {
                    missing.push(format!("{}: {problem}", entry.external_id));
                    continue;
                }
            },
            (None, None, Some(file)) => set_dir.join(file),
            _ => {
                missing.push(format!(
                    "{}: name either a package and its path or a file",
                    entry.external_id
                ));
                continue;
            }
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => documents.push(DevDocument { entry, text }),
            Err(e) => missing.push(format!(
                "{}: cannot read {} ({}): {e}",
                entry.external_id,
                path.display(),
                entry.source()
            )),
        }
    }
    if missing.is_empty() {
        Ok(documents)
    } else {
        Err(invalid(format!(
            "the development corpus is incomplete (run `just setup`):\n  {}",
            missing.join("\n  ")
        )))
    }
}

/// Whether `package` (`name==version`) is installed in `corpus_dir`, or why not.
fn installed(package: &str, corpus_dir: &Path) -> Result<(), String> {
    let Some((name, version)) = package.split_once("==") else {
        return Err(format!(
            "package {package:?} is not pinned as name==version"
        ));
    };
    // pip names the metadata directory after the project with `-` and `.` as `_`.
    let dist_info = format!("{}-{version}.dist-info", name.replace(['-', '.'], "_"));
    if corpus_dir.join(&dist_info).is_dir() {
        Ok(())
    } else {
        Err(format!(
            "package {package} is not installed in {} (no {dist_info})",
            corpus_dir.display()
        ))
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> AppResult<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))
}

fn invalid(message: String) -> AppError {
    AppError::invalid("invalid_dev_set", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, questions: Vec<DevQuestion>) -> DevSet {
        DevSet {
            language: TextLanguage::English,
            documents: vec![DevDocument {
                entry: CorpusEntry {
                    external_id: "doc".into(),
                    title: "Doc".into(),
                    package: None,
                    path: None,
                    file: Some("doc.txt".into()),
                    language: None,
                },
                text: text.into(),
            }],
            questions,
        }
    }

    fn positive(id: &str, quote: &str) -> DevQuestion {
        DevQuestion {
            id: id.into(),
            kind: QuestionKind::Lookup,
            question: "What does it say?".into(),
            expected: Some(ExpectedPassage {
                external_id: "doc".into(),
                section: "1.".into(),
            }),
            quote: Some(quote.into()),
            why: None,
            language: None,
        }
    }

    #[test]
    fn quotes_match_across_hard_wraps() {
        let text =
            "You must give any other recipients of the Work or\n      Derivative Works a copy";
        let quote = normalise_whitespace("recipients of the Work or Derivative Works");
        assert!(contains_quote(text, &quote));
        assert!(!contains_quote(text, "recipients of the work"));
    }

    #[test]
    fn a_quote_must_occur_exactly_once_in_its_document() {
        let text = "one two three four five six. one two three four five six.";
        let problems = set(
            text,
            vec![
                positive("twice", "one two three four five six"),
                positive("absent", "seven eight nine ten eleven"),
                positive("short", "five six. one"),
                positive("ok", "six. one two three four"),
            ],
        )
        .problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("twice: "), "{problems:?}");
        assert!(problems[1].starts_with("absent: "), "{problems:?}");
        assert!(problems[2].contains("3 words"), "{problems:?}");
    }

    #[test]
    fn the_swedish_set_loads_from_the_repository() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let set = DevSet::load(
            &root.join("tests/data/swedish_dev"),
            &root.join(".cache/legal-corpus"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.language, TextLanguage::Swedish);
        assert_eq!(set.language.analyzer(), Language::Swedish);
        assert!(set.documents.iter().all(|d| d.entry.file.is_some()));
        assert!(set.questions.iter().all(|q| q.language.is_some()));
    }

    #[test]
    fn a_manifest_names_a_package_or_a_file_in_the_collection_language() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("lag.txt"), "1 § Denna lag gäller.").unwrap();
        std::fs::write(dir.path().join("questions.json"), r#"{"questions": []}"#).unwrap();
        let load = |documents: &str| {
            let manifest = format!(r#"{{"language": "sv", "documents": [{documents}]}}"#);
            std::fs::write(dir.path().join("corpus.json"), manifest).unwrap();
            DevSet::load(dir.path(), dir.path())
        };
        let set = load(r#"{"external_id": "lag", "title": "Lag", "file": "lag.txt"}"#).unwrap();
        assert_eq!(set.language, TextLanguage::Swedish);
        assert_eq!(set.documents[0].entry.source(), "lag.txt");
        for (documents, problem) in [
            (
                r#"{"external_id": "lag", "title": "Lag", "file": "lag.txt", "language": "en"}"#,
                "not the collection's (sv)",
            ),
            (
                r#"{"external_id": "lag", "title": "Lag", "file": "lag.txt", "package": "a==1", "path": "x"}"#,
                "either a package and its path or a file",
            ),
            (
                r#"{"external_id": "lag", "title": "Lag", "file": "saknas.txt"}"#,
                "cannot read",
            ),
        ] {
            let error = load(documents).unwrap_err().to_string();
            assert!(error.contains(problem), "{error}");
        }
    }

    #[test]
    fn negatives_carry_no_quote() {
        let mut negative = positive("neg", "one two three four five");
        negative.kind = QuestionKind::Negative;
        let problems = set("one two three four five", vec![negative]).problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
    }
}
