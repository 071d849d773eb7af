//! The documents a question names, and what it names that the collection does not hold.
//!
//! Every document is known by the names its own text gives it: the instrument names of its
//! title (`GNU General Public License, Version 3`, `Regeringsformen (1974:152)`) and of the
//! name headings in its text (a line such as `GNU GENERAL PUBLIC LICENSE` over `Version 3,
//! 29 June 2007`, which in a file bundling several licences names the text down to the next
//! such heading). From each name come the aliases people use for it: the name without an
//! organisation's prefix (`General Public License`), its acronyms (`GPL`, `LGPL`, `MPL`, with
//! and without `Software`: `ASL` for `Apache License`), its first word when the rest is
//! generic (`Apache`), SFS numbers and the statute abbreviations of the abbreviation table
//! (`RF`, `MBL`). Versions are kept apart: `GPL version 4` is not `GPL version 3`.
//!
//! A question names a document by such a name, acronym, abbreviation or SFS number; an
//! instrument name (`the Eclipse Public License`, `GPLv4`, `SFS 2099:999`, `RF`) that matches
//! no document, or a version the collection lacks, is what the collection does not hold.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use regex::Regex;

use super::references::{self, LawName, LawNameKind, StatuteReference};
use super::rewrite::Abbreviations;
use crate::error::AppResult;
use crate::model::SearchHit;
use crate::service::Library;

/// A version number (`3`, `2.0`, `2.1`); trailing zeros do not count (`2` = `2.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(Vec<u32>);

impl Version {
    /// Parses `3`, `2.0`, `1.0.1`.
    fn parse(text: &str) -> Option<Self> {
        let mut parts: Vec<u32> = text
            .split('.')
            .map(|part| part.parse().ok())
            .collect::<Option<_>>()?;
        while parts.len() > 1 && parts.last() == Some(&0) {
            parts.pop();
        }
        Some(Self(parts))
    }
}

/// A named part of a document: all of it (named by its title) or the text from a name
/// heading to the next one.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The document.
    pub document_id: String,
    /// Its collection.
    pub collection: String,
    /// Its title.
    pub title: String,
    /// The name as the document writes it (`GNU GENERAL PUBLIC LICENSE`).
    pub name: String,
    /// Aliases: `w:` and normalised words, `a:` and an acronym, `sfs:` and a number.
    keys: Vec<String>,
    /// The normalised words of each of its names in words.
    phrases: Vec<Vec<String>>,
    version: Option<Version>,
    /// First character of the named text.
    start: u64,
    /// End of the named text (exclusive), in characters.
    end: u64,
}

impl Subject {
    /// Whether the chunk of `document_id` starting at character `char_start` lies in it.
    pub fn covers(&self, document_id: &str, char_start: u64) -> bool {
        self.document_id == document_id && (self.start..self.end).contains(&char_start)
    }

    /// Whether this is the same named text as `other`.
    fn same_text(&self, other: &Subject) -> bool {
        self.document_id == other.document_id && self.start == other.start && self.end == other.end
    }
}

/// Words of a name that add nothing to tell licences apart (`Apache` alone names the Apache
/// License; `General` does not name the GNU General Public License).
const GENERIC_WORDS: &[&str] = &["software", "public", "license"];
/// Words an acronym skips.
const ACRONYM_SKIPS: &[&str] = &["of", "and", "for", "the", "on", "in", "i", "om", "och"];

/// Swedish definite endings of statute nouns (`lagen` → `lag`, `regeringsformen` →
/// `regeringsform`).
static SWEDISH_DEFINITE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(lag|balk|form|ordning|konvention|grundlag)en$").expect("valid definite regex")
});

/// A version right after a name: `, Version 3`, ` v. 2.0`, `-2.0`, ` 2.0`, ` (MPL) v. 2.0`,
/// ` - Version 1.0`; across a line break only with the word "version".
static VERSION_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?ix)^
        (?:[\ \t]*\((?-i:[A-Z]{2,8})\))?
        (?:
            [\s,:\-–—"“”']*(?:version|ver\.|v\.?)\s*(?P<keyword>\d{1,2}(?:\.\d{1,2}){0,2})
          | [\ \t]*[-\ \t,][\ \t]*(?P<bare>\d{1,2}(?:\.\d{1,2}){0,2})
        )"#,
    )
    .expect("valid version regex")
});

/// A version written before a name: `version 3 of the `.
static VERSION_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bversion\s+(?P<version>\d{1,2}(?:\.\d{1,2}){0,2})\s+of\s+(?:the\s+)?$")
        .expect("valid version regex")
});

/// An acronym (`GPL`, `MPL`), also with a version glued to it (the `GPL` of `GPLv3`).
static ACRONYM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?P<acronym>[A-Z]{2,8})(?:\b|v\d)").expect("valid acronym regex")
});

/// What follows a number that makes it a chapter, section or SFS number rather than a
/// version: `RF 2 kap.`, `2 § MBL`, `1974:152` (but `GPLv3 §6` is version 3).
static LOCATOR_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\s*kap|\s*§\s*(?:$|[^\s\d])|:\d|\d)").expect("valid locator regex")
});

/// Parenthesised parts of a title (`(1974:152)`).
static PARENTHESISED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\([^)]*\)").expect("valid parenthesis regex"));

/// A capitalised word with a version next to it: `Apache 2`, `Apache-2.0`.
static WORD_WITH_VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Z][a-z]{2,}\b").expect("valid word regex"));

/// A variant written like a version inside a name: the `3-Clause` of `BSD 3-Clause License`,
/// the `4.0` of `Creative Commons Attribution 4.0 licence`.
static VARIANT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:(\d{1,2})-clause|(\d{1,2}(?:\.\d{1,2})+))$").expect("valid variant regex")
});

/// The version written right after byte `end` of `text`, and where it ends.
fn version_after(text: &str, end: usize) -> Option<(Version, usize)> {
    let captures = VERSION_AFTER.captures(&text[end..])?;
    let number = ["keyword", "bare"]
        .into_iter()
        .find_map(|name| captures.name(name))?;
    if LOCATOR_AFTER.is_match(&text[end + number.end()..]) {
        return None;
    }
    Some((Version::parse(number.as_str())?, end + number.end()))
}

/// The version written right before byte `start` of `text` (`version 3 of the GPL`), and
/// where it starts.
fn version_before(text: &str, start: usize) -> Option<(Version, usize)> {
    let captures = VERSION_BEFORE.captures(&text[..start])?;
    let whole = captures.get(0).expect("whole match");
    Some((Version::parse(&captures["version"])?, whole.start()))
}

/// A name's words, normalised: lower case, `licence` as `license`, no possessive `'s`,
/// Swedish statute nouns without their definite ending, a leading "the" dropped; and the
/// variant a `3-Clause` or `4.0` token writes.
fn name_words(name: &str) -> (Vec<String>, Option<Version>) {
    let mut variant = None;
    let mut words = Vec::new();
    for token in name.split(|c: char| c.is_whitespace() || c == ',') {
        let token = token.trim_matches(|c: char| !c.is_alphanumeric());
        let token = ["'s", "’s"]
            .into_iter()
            .find_map(|possessive| token.strip_suffix(possessive))
            .unwrap_or(token);
        if token.is_empty() {
            continue;
        }
        if let Some(captures) = VARIANT.captures(token) {
            variant = captures
                .get(1)
                .or(captures.get(2))
                .and_then(|number| Version::parse(number.as_str()));
            continue;
        }
        let lower = token.to_lowercase().replace("licence", "license");
        words.push(SWEDISH_DEFINITE.replace(&lower, "$1").into_owned());
    }
    if words.first().is_some_and(|word| word == "the") {
        words.remove(0);
    }
    (words, variant)
}

/// The acronym of `words` (`general public license` → `GPL`), when it has three letters
/// or more.
fn acronym(words: &[String]) -> Option<String> {
    let letters: String = words
        .iter()
        .filter(|word| !ACRONYM_SKIPS.contains(&word.as_str()))
        .filter_map(|word| word.chars().next())
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_uppercase)
        .collect();
    (letters.chars().count() >= 3).then_some(letters)
}

/// Every alias of a name of `words` (see the module documentation).
fn name_keys(words: &[String]) -> Vec<String> {
    let mut variants = vec![words.to_vec()];
    if words.len() >= 4 {
        variants.push(words[1..].to_vec());
    }
    for variant in variants.clone() {
        if variant.last().is_some_and(|word| word == "license") {
            let without: Vec<String> = variant
                .iter()
                .filter(|word| *word != "software")
                .cloned()
                .collect();
            if without.len() < variant.len() {
                variants.push(without);
            } else if variant.len() >= 2 {
                let mut with = variant.clone();
                with.insert(variant.len() - 1, "software".into());
                variants.push(with);
            }
        }
    }
    let mut keys = Vec::new();
    for variant in &variants {
        push_new(&mut keys, format!("w:{}", variant.join(" ")));
        if let Some(acronym) = acronym(variant) {
            push_new(&mut keys, format!("a:{acronym}"));
        }
    }
    if words.len() >= 2
        && words[1..]
            .iter()
            .all(|w| GENERIC_WORDS.contains(&w.as_str()))
    {
        push_new(&mut keys, format!("w:{}", words[0]));
    }
    keys
}

fn push_new(keys: &mut Vec<String>, key: String) {
    if !keys.contains(&key) {
        keys.push(key);
    }
}

/// Whether `words` are only a head noun (`the Act`, `the License`): no name.
fn is_bare_head(words: &[String]) -> bool {
    words.len() < 2
}

/// The names of a document title: keys, phrases and version.
#[derive(Debug, Default)]
struct TitleNames {
    keys: Vec<String>,
    phrases: Vec<Vec<String>>,
    version: Option<Version>,
}

/// The names in a document title.
fn title_names(title: &str, abbreviations: &Abbreviations) -> TitleNames {
    let mut keys = Vec::new();
    let mut phrases = Vec::new();
    let mut version = None;
    for found in references::law_name_spans(title) {
        match found.kind {
            LawNameKind::Words => {
                let (words, variant) = name_words(&found.name);
                if is_bare_head(&words) {
                    continue;
                }
                for key in name_keys(&words) {
                    push_new(&mut keys, key);
                }
                phrases.push(words);
                version = version
                    .or(variant)
                    .or_else(|| version_after(title, found.end).map(|(v, _)| v));
            }
            LawNameKind::Known(abbreviation) => push_new(&mut keys, format!("a:{abbreviation}")),
            LawNameKind::Sfs(year, serial) => push_new(&mut keys, format!("sfs:{year}:{serial}")),
            // The whole title names it below.
            LawNameKind::Generic | LawNameKind::Title => {}
        }
    }
    for report in references::cited_reports(title) {
        push_new(&mut keys, format!("r:{}", report.key));
    }
    for known in references::known_laws_named_by(title) {
        push_new(&mut keys, format!("a:{known}"));
    }
    // The title as a whole, without parenthesised parts: `Förvaltningslag (2017:900)`.
    let plain = PARENTHESISED.replace_all(title, " ");
    // A title that is an identifier (`GPL-3.0`, `LICENSE Apache-2.0`) names its version; a
    // longer one may only list what the document speaks of.
    if plain.split_whitespace().count() <= MAX_IDENTIFIER_WORDS {
        for captures in ACRONYM.captures_iter(&plain) {
            let found = captures.name("acronym").expect("acronym group");
            if let Some((found_version, _)) = version_after(&plain, found.end()) {
                push_new(&mut keys, format!("a:{}", found.as_str()));
                push_new(&mut keys, format!("w:{}", found.as_str().to_lowercase()));
                version = version.or(Some(found_version));
            }
        }
    }
    let (words, _) = name_words(&plain);
    if !words.is_empty() && words.len() <= 8 {
        push_new(&mut keys, format!("w:{}", words.join(" ")));
        let written = plain.split_whitespace().collect::<Vec<_>>();
        if let Some((first, rest)) = written.split_first() {
            for candidate in [written.join(" "), format!("{first}en {}", rest.join(" "))] {
                if let Some(abbreviation) = abbreviations.abbreviation_of(candidate.trim()) {
                    push_new(&mut keys, format!("a:{abbreviation}"));
                }
            }
        }
    }
    TitleNames {
        keys,
        phrases,
        version,
    }
}

/// Most words of a title whose acronyms with versions name the document (`GPL-3.0`).
const MAX_IDENTIFIER_WORDS: usize = 3;

/// What may follow a name on a name heading line: a parenthesised acronym, what it is for
/// (`FOR PYTHON 1.6.1`), a version, a dash and more (`- Exhibit A`, `- August 17th, 2003`).
static HEADING_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^
        (?:\s*\((?-i:[A-Z]{2,8})\))?
        (?:\s+(?:for|of|in)(?:\s+[\w.]+){1,6})?
        (?:[\s,:\-–—]*(?:version|ver\.|v\.?)?\s*\d{1,2}(?:\.\d{1,2}){0,2}(?:,.*)?)?
        (?:\s*[-–—].*)?
        [\s*=\#|]*$",
    )
    .expect("valid heading tail regex")
});

/// A name heading of one line of text: the name, its start and end (bytes, in `line`).
fn heading_name(line: &str) -> Option<(usize, usize, String)> {
    let content_start = line.len()
        - line
            .trim_start_matches([' ', '\t', '*', '=', '#', '|'])
            .len();
    let content = &line[content_start..];
    if content.chars().count() > 100 {
        return None;
    }
    let found = references::law_name_spans(content)
        .into_iter()
        .find(|found| found.kind == LawNameKind::Words)?;
    // One lower-case word may open the name (`zlib License`).
    let lead = &content[..found.start];
    let start = if lead.trim().is_empty() {
        found.start
    } else if lead.split_whitespace().count() == 1 && lead.ends_with(char::is_whitespace) {
        0
    } else {
        return None;
    };
    if !HEADING_TAIL.is_match(&content[found.end..]) {
        return None;
    }
    let name = content[start..found.end].trim().to_owned();
    Some((content_start + start, content_start + found.end, name))
}

/// The subjects of one document: its title's names for all of it, and each name heading for
/// the text from it to the next.
pub fn subjects_of(document: &DocumentText<'_>, abbreviations: &Abbreviations) -> Vec<Subject> {
    let text = document.text;
    let total = text.chars().count() as u64;
    let subject = |name: String, keys, phrases, version, start| Subject {
        document_id: document.id.to_owned(),
        collection: document.collection.to_owned(),
        title: document.title.to_owned(),
        name,
        keys,
        phrases,
        version,
        start,
        end: total,
    };
    let mut headings: Vec<Subject> = Vec::new();
    // Whether the first name heading opens the text.
    let mut opens = false;
    let mut after_break = true;
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end();
        if content.trim().is_empty() {
            after_break = true;
        } else {
            if after_break && let Some((start, end, name)) = heading_name(content) {
                let (words, variant) = name_words(&name);
                if !is_bare_head(&words) {
                    let version = variant
                        .or_else(|| version_after(text, offset + end).map(|(version, _)| version));
                    let byte = offset + start;
                    opens |= headings.is_empty() && text[..byte].trim().is_empty();
                    let chars = text[..byte].chars().count() as u64;
                    if let Some(previous) = headings.last_mut() {
                        previous.end = chars;
                    }
                    let keys = name_keys(&words);
                    headings.push(subject(name, keys, vec![words], version, chars));
                }
            }
            after_break = false;
        }
        offset += line.len();
    }
    let names = title_names(document.title, abbreviations);
    if names.keys.is_empty() {
        return headings;
    }
    // A title without a version takes that of a name heading opening the text.
    let opening = headings
        .first()
        .filter(|_| opens)
        .and_then(|heading| heading.version.clone());
    let whole = subject(
        document.title.to_owned(),
        names.keys,
        names.phrases,
        names.version.or(opening),
        0,
    );
    std::iter::once(whole).chain(headings).collect()
}

/// A document as the catalog reads it.
#[derive(Debug, Clone, Copy)]
pub struct DocumentText<'a> {
    /// Document id.
    pub id: &'a str,
    /// Its collection.
    pub collection: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Its text.
    pub text: &'a str,
}

/// The subjects of each collection, derived once per write generation.
#[derive(Default)]
pub struct Catalog {
    collections: RwLock<HashMap<String, Derived>>,
}

/// The subjects of one collection and the write generation they were derived at.
struct Derived {
    generation: Vec<u64>,
    subjects: Arc<Vec<Subject>>,
}

impl Catalog {
    /// The subjects of every document of `collections`.
    pub async fn subjects(
        &self,
        library: &Library,
        collections: &[String],
        abbreviations: &Abbreviations,
    ) -> AppResult<Vec<Arc<Vec<Subject>>>> {
        let mut all = Vec::with_capacity(collections.len());
        for collection in collections {
            all.push(self.collection(library, collection, abbreviations).await?);
        }
        Ok(all)
    }

    async fn collection(
        &self,
        library: &Library,
        collection: &str,
        abbreviations: &Abbreviations,
    ) -> AppResult<Arc<Vec<Subject>>> {
        let generation = library.generations().of(&[collection.to_owned()]);
        if let Some(derived) = self
            .collections
            .read()
            .expect("catalog lock")
            .get(collection)
            && derived.generation == generation
        {
            return Ok(derived.subjects.clone());
        }
        let documents = library.document_texts(collection).await?;
        let subjects: Vec<Subject> = documents
            .iter()
            .flat_map(|document| {
                subjects_of(
                    &DocumentText {
                        id: &document.id,
                        collection,
                        title: &document.title,
                        text: document.content.as_deref().unwrap_or(""),
                    },
                    abbreviations,
                )
            })
            .collect();
        let subjects = Arc::new(subjects);
        self.collections.write().expect("catalog lock").insert(
            collection.to_owned(),
            Derived {
                generation,
                subjects: subjects.clone(),
            },
        );
        Ok(subjects)
    }
}

/// A name in a question.
#[derive(Debug, Clone)]
struct Mention {
    start: usize,
    end: usize,
    /// As written, with its version.
    written: String,
    /// The keys it may be found by.
    keys: Vec<String>,
    /// Its normalised words, for a name in words: a subject whose name has all of them is
    /// named by it (`NVIDIA License Agreement`, `the Mozilla licence`).
    words: Vec<String>,
    version: Option<Version>,
    /// Whether it names an instrument (a statute, licence, treaty, …), so that the
    /// collection not holding it is a reason to refuse.
    instrument: bool,
    /// Whether it is a name written like a title ([`LawNameKind::Title`]), which names a
    /// subject whose name starts with it or that it starts with.
    title_like: bool,
}

/// The names in `question`, without overlaps, in order. Words of a section reference
/// (`SECTION 4`, `Article 6`) are no names.
fn mentions(question: &str) -> Vec<Mention> {
    let mut found: Vec<Mention> = references::locator_spans(question)
        .into_iter()
        .map(|(start, end)| Mention {
            start,
            end,
            written: String::new(),
            keys: Vec::new(),
            words: Vec::new(),
            version: None,
            instrument: false,
            title_like: false,
        })
        .collect();
    let taken = |found: &[Mention], start: usize, end: usize| {
        found.iter().any(|m| start < m.end && m.start < end)
    };
    for report in references::cited_reports(question) {
        found.push(Mention {
            start: report.start,
            end: report.end,
            written: report.written,
            keys: vec![format!("r:{}", report.key)],
            words: Vec::new(),
            version: None,
            instrument: true,
            title_like: false,
        });
    }
    for name in references::law_name_spans(question) {
        if !taken(&found, name.start, name.end)
            && let Some(mention) = law_mention(question, &name)
        {
            found.push(mention);
        }
    }
    for captures in ACRONYM.captures_iter(question) {
        let acronym = captures.name("acronym").expect("acronym group");
        if taken(&found, acronym.start(), acronym.end()) {
            continue;
        }
        let versioned = version_after(question, acronym.end());
        let end = versioned.as_ref().map_or(acronym.end(), |(_, end)| *end);
        let before = version_before(question, acronym.start());
        let start = before.as_ref().map_or(acronym.start(), |(_, start)| *start);
        let version = versioned
            .map(|(version, _)| version)
            .or(before.map(|(version, _)| version));
        found.push(Mention {
            start: acronym.start(),
            end,
            written: question[start..end].to_owned(),
            keys: vec![
                format!("a:{}", acronym.as_str()),
                format!("w:{}", acronym.as_str().to_lowercase()),
            ],
            words: Vec::new(),
            instrument: version.is_some(),
            version,
            title_like: false,
        });
    }
    for word in WORD_WITH_VERSION.find_iter(question) {
        if taken(&found, word.start(), word.end()) {
            continue;
        }
        if let Some((version, end)) = version_after(question, word.end()) {
            found.push(Mention {
                start: word.start(),
                end,
                written: question[word.start()..end].to_owned(),
                keys: vec![format!("w:{}", word.as_str().to_lowercase())],
                words: Vec::new(),
                version: Some(version),
                instrument: false,
                title_like: false,
            });
        }
    }
    found.retain(|mention| !mention.keys.is_empty());
    found.sort_by_key(|mention| mention.start);
    found
}

/// The mention of a statute or instrument name, `None` for a bare head noun or "Act".
fn law_mention(question: &str, name: &LawName) -> Option<Mention> {
    let (keys, words, words_version) = match name.kind {
        LawNameKind::Words | LawNameKind::Title => {
            let (words, variant) = name_words(&name.name);
            if is_bare_head(&words) {
                return None;
            }
            (vec![format!("w:{}", words.join(" "))], words, variant)
        }
        LawNameKind::Known(abbreviation) => (vec![format!("a:{abbreviation}")], Vec::new(), None),
        LawNameKind::Sfs(year, serial) => (vec![format!("sfs:{year}:{serial}")], Vec::new(), None),
        LawNameKind::Generic => return None,
    };
    let versioned = version_after(question, name.end);
    let end = versioned.as_ref().map_or(name.end, |(_, end)| *end);
    let before = version_before(question, name.start);
    let start = before.as_ref().map_or(name.start, |(_, start)| *start);
    let version = words_version
        .or(versioned.map(|(version, _)| version))
        .or(before.map(|(version, _)| version));
    let written = question[start..end].trim();
    let written = ["the ", "The "]
        .into_iter()
        .find_map(|article| written.strip_prefix(article))
        .unwrap_or(written);
    Some(Mention {
        start: name.start,
        end,
        written: written.to_owned(),
        keys,
        words,
        version,
        instrument: true,
        title_like: name.kind == LawNameKind::Title,
    })
}

/// A section the question cites, and the subjects it belongs to (none: any document).
#[derive(Debug, Clone)]
pub struct CitedSection {
    /// The reference as found.
    pub reference: StatuteReference,
    /// The named subjects it is a section of.
    pub subjects: Vec<Subject>,
}

impl CitedSection {
    /// Whether `hit` is this section: about it by the document's structure, and inside one
    /// of its subjects when it has any.
    pub fn holds(&self, hit: &SearchHit) -> bool {
        references::is_about(&self.reference, &hit.text, &hit.path)
            && (self.subjects.is_empty()
                || self
                    .subjects
                    .iter()
                    .any(|subject| subject.covers(&hit.document_id, hit.char_start)))
    }
}

/// A name of the question the collection does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unheld {
    /// As written in the question (`Eclipse Public License`, `GPL version 4`).
    pub written: String,
    /// Whether the collection holds the instrument but not this version of it.
    pub version_only: bool,
}

/// What a question names, resolved against the collection's subjects.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    /// The subjects the question names.
    pub named: Vec<Subject>,
    /// The sections the question cites.
    pub sections: Vec<CitedSection>,
    /// The names the collection does not hold, in order of appearance.
    pub unheld: Vec<Unheld>,
}

/// Resolves the names and section references of `question` against `subjects`.
pub fn resolve(question: &str, subjects: &[&Subject]) -> Resolution {
    let mut resolution = Resolution::default();
    let mut resolved: Vec<(Mention, Vec<Subject>)> = Vec::new();
    for mention in mentions(question) {
        let distance: Vec<Option<usize>> = subjects
            .iter()
            .map(|subject| name_distance(&mention, subject))
            .collect();
        let closest = distance.iter().flatten().min().copied();
        let family: Vec<&&Subject> = subjects
            .iter()
            .zip(&distance)
            .filter(|(_, distance)| closest.is_some() && **distance == closest)
            .map(|(subject, _)| subject)
            .collect();
        if family.is_empty() {
            let ambiguous = mention.title_like
                && subjects.iter().any(|subject| {
                    title_prefixes(&mention, subject).any(|prefix| prefix.is_ambiguous())
                });
            if mention.instrument && !ambiguous {
                resolution.unheld.push(Unheld {
                    written: mention.written.clone(),
                    version_only: false,
                });
            }
            continue;
        }
        let matching: Vec<Subject> = match &mention.version {
            Some(version) => {
                let versioned = family.iter().any(|subject| subject.version.is_some());
                family
                    .iter()
                    .filter(|subject| match &subject.version {
                        Some(own) => own == version,
                        None => !versioned,
                    })
                    .map(|subject| (**subject).clone())
                    .collect()
            }
            None => family.iter().map(|subject| (**subject).clone()).collect(),
        };
        if matching.is_empty() {
            resolution.unheld.push(Unheld {
                written: mention.written.clone(),
                version_only: true,
            });
            continue;
        }
        for subject in &matching {
            if !resolution
                .named
                .iter()
                .any(|named| named.same_text(subject))
            {
                resolution.named.push(subject.clone());
            }
        }
        resolved.push((mention, matching));
    }
    resolution.sections = references::find(question)
        .into_iter()
        .filter(|reference| {
            reference.chapter.is_some()
                || reference.section.is_some()
                || reference.article.is_some()
        })
        .map(|reference| {
            let subjects = owner_of(question, &reference, &resolved);
            CitedSection {
                reference,
                subjects,
            }
        })
        .collect();
    resolution
}

/// How far `subject` is from being what `mention` names: 0 for an alias, else the number
/// of words its closest name has beyond those of the mention (`NVIDIA License Agreement` is
/// 4 words short of `NVIDIA CUDA Toolkit End User License Agreement`); `None` when no name
/// of it has all the mention's words.
fn name_distance(mention: &Mention, subject: &Subject) -> Option<usize> {
    if mention.keys.iter().any(|key| subject.keys.contains(key)) {
        return Some(0);
    }
    if mention.title_like {
        return title_prefixes(mention, subject)
            .filter(TitlePrefix::names)
            .map(|prefix| prefix.name_len - prefix.shared)
            .min();
    }
    let words = &mention.words;
    // `Distribution Requirements of the NVIDIA License Agreement` names the agreement.
    let owner = words
        .iter()
        .rposition(|word| CONNECTORS.contains(&word.as_str()))
        .map(|connector| &words[connector + 1..])
        .filter(|owner| owner.len() >= 2);
    [Some(&words[..]), owner]
        .into_iter()
        .flatten()
        .filter(|words| !words.is_empty())
        .flat_map(|words| {
            subject
                .phrases
                .iter()
                .filter(|phrase| {
                    words
                        .iter()
                        .all(|word| phrase.contains(word) || word == "software")
                })
                .map(|phrase| phrase.iter().filter(|word| !words.contains(word)).count())
        })
        .min()
}

/// How far a title-like mention and one name of a subject agree from their first word.
struct TitlePrefix {
    /// Words they share from the start.
    shared: usize,
    /// Words of the mention.
    mention_len: usize,
    /// Words of the subject's name.
    name_len: usize,
}

impl TitlePrefix {
    /// Words beyond `lag om` that must agree before a title-like mention can name anything.
    const MIN_SHARED: usize = 3;

    /// Whether the mention names the subject: the name is the mention's start (the question
    /// goes on after it) or the mention is the name's start (a shortened title).
    fn names(&self) -> bool {
        self.shared >= Self::MIN_SHARED
            && (self.shared == self.name_len || self.shared == self.mention_len)
    }

    /// Whether they agree beyond `lag om` but part ways: the mention may name the subject
    /// with words of the question after a shortened title, or another statute.
    fn is_ambiguous(&self) -> bool {
        self.shared >= Self::MIN_SHARED && !self.names()
    }
}

/// The agreement of a title-like `mention` with each name in words of `subject`, its
/// document's title among them however long (`Lag (2019:1187) om utlämnande av allmänna
/// handlingar hos myndigheter och kommunala bolag`).
fn title_prefixes<'a>(
    mention: &'a Mention,
    subject: &'a Subject,
) -> impl Iterator<Item = TitlePrefix> + 'a {
    let (title, _) = name_words(&PARENTHESISED.replace_all(&subject.title, " "));
    subject
        .keys
        .iter()
        .filter_map(|key| key.strip_prefix("w:"))
        .map(|name| name.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .chain(std::iter::once(title))
        .map(|name| {
            let shared = mention
                .words
                .iter()
                .zip(&name)
                .take_while(|(a, b)| a == b)
                .count();
            TitlePrefix {
                shared,
                mention_len: mention.words.len(),
                name_len: name.len(),
            }
        })
}

/// Words that join a name to what it is of (`Disclaimer of Warranty of the Mozilla Public
/// License`).
const CONNECTORS: &[&str] = &["of", "the", "and", "in", "on", "for"];

/// What may stand between a section reference and the name written after it.
static OWNER_AFTER_GAP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*,?\s*(?:(?:of|in|i|under)\s+(?:the\s+)?)?$").expect("valid gap regex")
});

/// The subjects a cited section belongs to: those of the name written right before it
/// (`GPLv3 §6`), around it (`RF 2 kap. 1 §`) or right after it (`section 4 of the Apache
/// License`, `3 § MBL`); else of the only instrument the question names.
fn owner_of(
    question: &str,
    reference: &StatuteReference,
    resolved: &[(Mention, Vec<Subject>)],
) -> Vec<Subject> {
    let Some(start) = question.find(&reference.text) else {
        return Vec::new();
    };
    let end = start + reference.text.len();
    let adjacent = resolved.iter().find(|(mention, _)| {
        let overlaps = mention.start < end && start < mention.end;
        let before = mention.end <= start
            && question[mention.end..start]
                .chars()
                .all(|c| c.is_whitespace() || c == ',');
        let after = mention.start >= end && OWNER_AFTER_GAP.is_match(&question[end..mention.start]);
        overlaps || before || after
    });
    if let Some((_, subjects)) = adjacent {
        return subjects.clone();
    }
    match resolved {
        [(_, subjects)] => subjects.clone(),
        _ => Vec::new(),
    }
}

/// Whether `passage` mentions what `unheld` names (`the GNU Affero General Public License`
/// in a passage of the GPL): then the collection speaks of it even though it does not hold
/// it as a document. Case, hard line wraps and the spelling `licence` do not matter.
pub fn is_mentioned_in(unheld: &Unheld, passage: &str) -> bool {
    let normalise = |text: &str| {
        text.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
            .replace("licence", "license")
    };
    let wanted = normalise(&unheld.written);
    let wanted = wanted.strip_prefix("the ").unwrap_or(&wanted);
    !wanted.is_empty() && normalise(passage).contains(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document<'a>(title: &'a str, text: &'a str) -> DocumentText<'a> {
        DocumentText {
            id: title,
            collection: "licences",
            title,
            text,
        }
    }

    fn catalog(documents: &[(&str, &str)]) -> Vec<Subject> {
        let abbreviations = Abbreviations::builtin();
        documents
            .iter()
            .flat_map(|(title, text)| subjects_of(&document(title, text), &abbreviations))
            .collect()
    }

    fn resolve_in(question: &str, subjects: &[Subject]) -> Resolution {
        let subjects: Vec<&Subject> = subjects.iter().collect();
        resolve(question, &subjects)
    }

    fn named(question: &str, subjects: &[Subject]) -> Vec<String> {
        resolve_in(question, subjects)
            .named
            .into_iter()
            .map(|subject| subject.document_id)
            .collect()
    }

    fn unheld(question: &str, subjects: &[Subject]) -> Vec<String> {
        resolve_in(question, subjects)
            .unheld
            .into_iter()
            .map(|unheld| unheld.written)
            .collect()
    }

    /// Openings as the licence files write them: centred, upper case, the version on the
    /// next line.
    const GPL3_OPENING: &str = "                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n\n Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>\n Everyone is permitted to copy and distribute verbatim copies\n";
    const GPL2_OPENING: &str = "\t\t    GNU GENERAL PUBLIC LICENSE\n\t\t       Version 2, June 1991\n\n Copyright (C) 1989, 1991 Free Software Foundation, Inc.,\n";
    const LGPL_OPENING: &str = "                   GNU LESSER GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n";
    const APACHE_OPENING: &str = "\n                                 Apache License\n                           Version 2.0, January 2004\n                        http://www.apache.org/licenses/\n\n   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION\n";
    const MPL_OPENING: &str = "Mozilla Public License Version 2.0\n==================================\n\n1. Definitions\n--------------\n";

    fn licences() -> Vec<Subject> {
        catalog(&[
            ("LICENSE", GPL3_OPENING),
            ("COPYING", GPL2_OPENING),
            ("COPYING.LESSER", LGPL_OPENING),
            ("LICENSE.APACHE", APACHE_OPENING),
            ("LICENSE.txt", MPL_OPENING),
        ])
    }

    #[test]
    fn aliases_come_from_titles_and_opening_lines() {
        let subjects = licences();
        for question in [
            "What does GPLv3 §6 say?",
            "GPL-3.0 section 6",
            "Under the GPL version 3, may I charge a fee?",
            "What does the GNU General Public License, Version 3 say about patents?",
            "version 3 of the GPL",
            "GPL v3",
            "GPL 3",
        ] {
            assert_eq!(named(question, &subjects), ["LICENSE"], "{question}");
        }
        for question in [
            "section 4 of the Apache License",
            "Apache-2.0 section 4",
            "Is Apache 2 permissive?",
            "Does the ASL 2.0 require a NOTICE file?",
            "What does the Apache Software License say?",
        ] {
            assert_eq!(named(question, &subjects), ["LICENSE.APACHE"], "{question}");
        }
        for question in [
            "MPL 2.0 section 3.2",
            "MPL-2.0",
            "the Mozilla Public License",
            "MPL 2",
        ] {
            assert_eq!(named(question, &subjects), ["LICENSE.txt"], "{question}");
        }
        assert_eq!(
            named("Is the LGPL v3 weaker?", &subjects),
            ["COPYING.LESSER"]
        );
        // The GPL without a version is both GPLs, never the Lesser one.
        assert_eq!(
            named("What does the GPL say?", &subjects),
            ["LICENSE", "COPYING"]
        );
    }

    #[test]
    fn titles_name_documents_too() {
        let subjects = catalog(&[
            (
                "GNU General Public License, Version 3",
                "Preamble\n\nThe GNU General Public License is a free, copyleft license",
            ),
            (
                "Regeringsformen (1974:152)",
                "1 kap. Statsskickets grunder\n\n1 § All offentlig makt",
            ),
            (
                "Lag (1976:580) om medbestämmande i arbetslivet",
                "Inledande bestämmelser\n\n1 § Denna lag",
            ),
        ]);
        assert_eq!(
            named("GPLv3 §6", &subjects),
            ["GNU General Public License, Version 3"]
        );
        for question in [
            "RF 2 kap. 1 §",
            "SFS 1974:152",
            "Vad säger regeringsformen?",
        ] {
            assert_eq!(
                named(question, &subjects),
                ["Regeringsformen (1974:152)"],
                "{question}"
            );
        }
        assert_eq!(
            named("Vad säger 3 § MBL?", &subjects),
            ["Lag (1976:580) om medbestämmande i arbetslivet"]
        );
    }

    /// Two Swedish acts as the development set's files open them.
    fn swedish_acts() -> Vec<Subject> {
        catalog(&[
            (
                "Lag (2020:845) om kommunal förvaltning och nämndorganisation",
                "1 kap. Inledande bestämmelser\n\n1 §   Denna lag innehåller bestämmelser",
            ),
            (
                "Lag (2019:1187) om utlämnande av allmänna handlingar hos myndigheter och kommunala bolag",
                "1 kap. Inledande bestämmelser\n\n1 §   Denna lag gäller",
            ),
        ])
    }

    #[test]
    fn swedish_acts_are_named_by_their_titles_in_the_definite_form() {
        let subjects = swedish_acts();
        let resolution = resolve_in(
            "Vad gäller enligt 2 kap. 2 § lagen om kommunal förvaltning och nämndorganisation?",
            &subjects,
        );
        assert_eq!(resolution.named.len(), 1);
        assert_eq!(resolution.sections.len(), 1);
        assert_eq!(
            resolution.sections[0].subjects[0].document_id,
            "Lag (2020:845) om kommunal förvaltning och nämndorganisation"
        );
        let handlingar = "Lag (2019:1187) om utlämnande av allmänna handlingar hos myndigheter och kommunala bolag";
        for question in [
            // A shortened title.
            "Vad gäller enligt 2 kap. 4 a § lagen om utlämnande av allmänna handlingar?",
            // The question goes on after the title.
            "Gäller lagen om utlämnande av allmänna handlingar hos myndigheter och kommunala bolag om en handling är utkast?",
        ] {
            assert_eq!(named(question, &subjects), [handlingar], "{question}");
            assert!(unheld(question, &subjects).is_empty(), "{question}");
        }
        // An act the collection lacks is unheld; one that shares the start of a title and
        // parts from it may be a shortened title followed by the question's words: neither.
        assert_eq!(
            unheld("Vad säger lagen om vård av unga?", &subjects),
            ["lagen om vård av unga"]
        );
        let parting = "Vad säger lagen om utlämnande av allmänna avgifter?";
        assert!(named(parting, &subjects).is_empty());
        assert!(unheld(parting, &subjects).is_empty());
    }

    #[test]
    fn case_law_and_preparatory_works_are_unheld_unless_a_title_names_them() {
        let mut subjects = swedish_acts();
        subjects.extend(catalog(&[(
            "Regeringens proposition 2017/18:105 Ny dataskyddslag",
            "Propositionens huvudsakliga innehåll",
        )]));
        for (question, missing) in [
            (
                "Vad säger Högsta domstolens dom NJA 2019 s. 512 om saklig grund?",
                "NJA 2019 s. 512",
            ),
            ("Vad säger AD 2021 nr 45 om turordning?", "AD 2021 nr 45"),
            (
                "What did the court decide in HFD 2020 ref. 15?",
                "HFD 2020 ref. 15",
            ),
            ("Vad sägs i SOU 2016:1?", "SOU 2016:1"),
            (
                "Vad kräver förordning (EU) 2016/679?",
                "förordning (EU) 2016/679",
            ),
            (
                "How did the court rule in Jacobsen v. Katzer?",
                "Jacobsen v. Katzer",
            ),
        ] {
            assert_eq!(unheld(question, &subjects), [missing], "{question}");
        }
        assert_eq!(
            named("Vad säger prop. 2017/18:105 om tillsyn?", &subjects),
            ["Regeringens proposition 2017/18:105 Ny dataskyddslag"]
        );
        // Amounts, years and counts are no citations.
        for question in [
            "Kan en krog få en sanktionsavgift på 75 000 kronor?",
            "Gäller lagen om kommunal förvaltning och nämndorganisation sedan 2021?",
            "Hur många dagar föräldraledighet får en förälder ta 2024?",
        ] {
            assert!(unheld(question, &subjects).is_empty(), "{question}");
        }
    }

    #[test]
    fn bundled_licences_are_named_by_their_headings() {
        let bundle = format!(
            "Copyright (c) 2005-2025, NumPy Developers.\nAll rights reserved.\n\nRedistribution and use in source and binary forms, with or without\nmodification, are permitted.\n\n----\n\n{GPL3_OPENING}\n  6. Conveying Non-Source Forms.\n"
        );
        let subjects = catalog(&[("numpy LICENSE.txt", &bundle)]);
        let resolution = resolve_in("What does GPLv3 §6 say?", &subjects);
        assert_eq!(resolution.named.len(), 1);
        let gpl = &resolution.named[0];
        assert_eq!(gpl.name, "GNU GENERAL PUBLIC LICENSE");
        let gpl_start = bundle[..bundle.find("GNU GENERAL").unwrap()]
            .chars()
            .count() as u64;
        assert!(gpl.covers("numpy LICENSE.txt", gpl_start));
        assert!(
            !gpl.covers("numpy LICENSE.txt", 0),
            "the BSD text before it"
        );
        assert_eq!(resolution.sections.len(), 1);
        assert_eq!(resolution.sections[0].subjects.len(), 1);
    }

    #[test]
    fn names_and_versions_the_collection_lacks_are_unheld() {
        let subjects = licences();
        assert_eq!(
            unheld(
                "What does the Eclipse Public License say about patents?",
                &subjects
            ),
            ["Eclipse Public License"]
        );
        assert_eq!(
            unheld("What does the MIT License say about warranty?", &subjects),
            ["MIT License"]
        );
        assert_eq!(
            unheld("What changed in GPL version 4?", &subjects),
            ["GPL version 4"]
        );
        assert_eq!(
            unheld("Is GPLv4 compatible with Apache-2.0?", &subjects),
            ["GPLv4"]
        );
        assert_eq!(unheld("What does MPL 1.1 say?", &subjects), ["MPL 1.1"]);
        let version = resolve_in("What changed in GPL version 4?", &subjects).unheld;
        assert!(version[0].version_only);
        assert_eq!(
            unheld("Vad säger SFS 2099:999 3 kap. 7 §?", &subjects),
            ["SFS 2099:999"]
        );
        assert_eq!(
            unheld(
                "What does Article 99 of the Space Mining Treaty say?",
                &subjects
            ),
            ["Space Mining Treaty"]
        );
    }

    #[test]
    fn numbers_and_words_that_are_no_names_are_never_unheld() {
        let subjects = licences();
        for question in [
            "Can I charge 500 euros for a copy under the GPL?",
            "Does a company with 250 employees have to publish its changes?",
            "What does \"Version 2.0, January 2004\" refer to?",
            "Is the License revocable?",
            "What does Section 4 say?",
            "Which licence is best for a library written in 2024?",
            "Can I ship a DLL under the GPL?",
            "What does the apache license say about trademarks?",
            "WHAT DOES THE APACHE LICENSE SAY ABOUT TRADEMARKS?",
        ] {
            assert!(unheld(question, &subjects).is_empty(), "{question}");
        }
    }

    #[test]
    fn sections_belong_to_the_name_next_to_them() {
        let subjects = licences();
        let resolution = resolve_in("Compare GPLv3 §6 with MPL 2.0 section 3.2.", &subjects);
        let owners: Vec<Vec<String>> = resolution
            .sections
            .iter()
            .map(|section| {
                section
                    .subjects
                    .iter()
                    .map(|s| s.document_id.clone())
                    .collect()
            })
            .collect();
        assert_eq!(owners, [vec!["LICENSE"], vec!["LICENSE.txt"]]);
        assert_eq!(resolution.sections[1].reference.section, Some(3));
        assert_eq!(resolution.sections[1].reference.subsections, [2]);
        let resolution = resolve_in("What does section 4 of the Apache License say?", &subjects);
        assert_eq!(
            resolution.sections[0].subjects[0].document_id,
            "LICENSE.APACHE"
        );
        let resolution = resolve_in("What does section 4 say?", &subjects);
        assert!(resolution.sections[0].subjects.is_empty());
    }

    #[test]
    fn a_shorter_name_names_the_document_whose_name_has_all_its_words() {
        let subjects = catalog(&[
            (
                "NVIDIA CUDA Toolkit End User License Agreement (nvidia-cuda-runtime)",
                "End User License Agreement\n--------------------------\n",
            ),
            (
                "Python Software Foundation License and Python licence history (typing_extensions)",
                "A. HISTORY OF THE SOFTWARE\n==========================\n\nPYTHON SOFTWARE FOUNDATION LICENSE VERSION 2\n--------------------------------------------\n\n1. This LICENSE AGREEMENT is between the Python Software Foundation\n\nCNRI LICENSE AGREEMENT FOR PYTHON 1.6.1\n---------------------------------------\n",
            ),
            ("Mozilla Public License 2.0 (pathspec)", MPL_OPENING),
        ]);
        let nvidia = "NVIDIA CUDA Toolkit End User License Agreement (nvidia-cuda-runtime)";
        for question in [
            "What are the Distribution Requirements of the NVIDIA License Agreement for Software Development Kits?",
            "If I break NVIDIA's licence terms, how long do I have to fix it?",
            "Which laws govern the NVIDIA CUDA Toolkit license agreement?",
        ] {
            assert_eq!(named(question, &subjects), [nvidia], "{question}");
            assert!(unheld(question, &subjects).is_empty(), "{question}");
        }
        let psf =
            "Python Software Foundation License and Python licence history (typing_extensions)";
        assert_eq!(
            named(
                "What is the handle of the CNRI License Agreement for Python 1.6.1?",
                &subjects
            ),
            [psf]
        );
        assert_eq!(
            named(
                "Does using software under the Python licence make me a partner of the PSF?",
                &subjects
            ),
            [psf]
        );
        assert_eq!(
            unheld(
                "What does version 3 of the Python Software Foundation License change?",
                &subjects
            ),
            ["version 3 of the Python Software Foundation License"]
        );
        assert_eq!(
            named("Am I allowed to ignore the Mozilla licence?", &subjects),
            ["Mozilla Public License 2.0 (pathspec)"]
        );
        for (question, missing) in [
            (
                "What does the Creative Commons Attribution 4.0 licence require?",
                "Creative Commons Attribution 4.0 licence",
            ),
            (
                "What does the GNU Free Documentation License say about invariant sections?",
                "GNU Free Documentation License",
            ),
            (
                "What does the Mozilla Public License 1.1 say about the Initial Developer?",
                "Mozilla Public License 1.1",
            ),
            (
                "What are the penalties under the EU Cyber Resilience Act?",
                "EU Cyber Resilience Act",
            ),
        ] {
            assert_eq!(unheld(question, &subjects), [missing], "{question}");
        }
    }

    #[test]
    fn a_title_listing_what_a_file_bundles_names_no_versions() {
        let subjects = catalog(&[(
            "NumPy licence and the licences of its bundled libraries (OpenBLAS, LAPACK, GCC runtime, GPL-3, LGPL-2.1)",
            "Copyright (c) 2005-2025, NumPy Developers.\n",
        )]);
        assert_eq!(
            unheld(
                "What does section 6 of the GNU Lesser General Public License version 2.1 require?",
                &subjects
            ),
            ["GNU Lesser General Public License version 2.1"]
        );
        assert!(named("What does LGPL-2.1 say?", &subjects).is_empty());
        let identified = catalog(&[("GPL-3.0", GPL3_OPENING)]);
        assert_eq!(named("GPLv3 §6", &identified), ["GPL-3.0", "GPL-3.0"]);
    }

    #[test]
    fn passages_may_speak_of_what_is_not_held() {
        let affero = Unheld {
            written: "the GNU Affero General Public License".into(),
            version_only: false,
        };
        assert!(is_mentioned_in(
            &affero,
            "  13. Use with the GNU Affero General Public License.\n\n  Notwithstanding any other provision of this License, you have\npermission to link or combine any covered work with a work licensed\nunder version 3 of the GNU Affero General\nPublic License into a single combined work"
        ));
        assert!(!is_mentioned_in(&affero, "the GNU General Public License"));
    }
}
