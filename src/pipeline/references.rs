//! Statute references ("RF 2 kap. 1 §", "SFS 1974:152", "Article 6", "section 4 of the Act")
//! and statute names ("regeringsformen", "the Data Protection Act").
//!
//! A reference is a *locator* (chapter, section or article) with the statute it belongs to
//! when one is written right before it ("RF 2:1", "SFS 1974:152 3 kap. 7 §") or right after it
//! ("2 kap. 1 § regeringsformen", "section 4 of the Act"); an SFS number on its own is also a
//! reference. A statute name without a locator (other than an SFS number) is not.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// A statute reference found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatuteReference {
    /// The reference as written, e.g. `RF 2 kap. 1 §`.
    pub text: String,
    /// The statute: `SFS 1974:152`, or an abbreviation such as `RF`, `TF`, `GDPR` or `Act`.
    pub law: Option<String>,
    /// Chapter number (`2 kap.`, `chapter 2`).
    pub chapter: Option<u32>,
    /// Section number (`1 §`, `§ 6`, `section 4`; `3` of `section 3.2`).
    pub section: Option<u32>,
    /// The further numbers of a dotted section or article (`[2]` of `section 3.2`).
    pub subsections: Vec<u32>,
    /// Article number (`Article 6`, `Art. 6`, `Article IV`).
    pub article: Option<u32>,
}

impl StatuteReference {
    /// Whether the reference names a chapter, section or article.
    fn has_locator(&self) -> bool {
        self.chapter.is_some() || self.section.is_some() || self.article.is_some()
    }
}

/// A statute known by abbreviation and name.
struct KnownLaw {
    /// Canonical abbreviation, matched case-sensitively.
    abbreviation: &'static str,
    /// Regex of its names, matched case-insensitively.
    names: &'static str,
    /// Its SFS number, when it has one.
    sfs: Option<(u32, u32)>,
}

/// Statutes recognised by abbreviation or name.
const KNOWN_LAWS: &[KnownLaw] = &[
    known("RF", r"regeringsform(?:en)?", Some((1974, 152))),
    known("TF", r"tryckfrihetsförordning(?:en)?", Some((1949, 105))),
    known("YGL", r"yttrandefrihetsgrundlag(?:en)?", Some((1991, 1469))),
    known("SO", r"successionsordning(?:en)?", Some((1810, 926))),
    known("RO", r"riksdagsordning(?:en)?", Some((2014, 801))),
    known(
        "OSL",
        r"offentlighets-\s*och\s+sekretesslag(?:en)?",
        Some((2009, 400)),
    ),
    known("FL", r"förvaltningslag(?:en)?", Some((2017, 900))),
    known("BrB", r"brottsbalk(?:en)?", Some((1962, 700))),
    known("RB", r"rättegångsbalk(?:en)?", Some((1942, 740))),
    known("MB", r"miljöbalk(?:en)?", Some((1998, 808))),
    known("SFB", r"socialförsäkringsbalk(?:en)?", Some((2010, 110))),
    known("PBL", r"plan-\s*och\s+bygglag(?:en)?", Some((2010, 900))),
    known(
        "LAS",
        r"lag(?:en)?\s+om\s+anställningsskydd",
        Some((1982, 80)),
    ),
    known(
        "GDPR",
        r"dataskyddsförordning(?:en)?|general\s+data\s+protection\s+regulation",
        None,
    ),
    known("EKMR", r"europakonvention(?:en)?", None),
];

/// A [`KnownLaw`] entry.
const fn known(
    abbreviation: &'static str,
    names: &'static str,
    sfs: Option<(u32, u32)>,
) -> KnownLaw {
    KnownLaw {
        abbreviation,
        names,
        sfs,
    }
}

/// SFS numbers, known statutes and "Act".
static LAW: LazyLock<Regex> = LazyLock::new(|| {
    let mut alternatives = vec![
        r"\bSFS\s*(?P<sfs_year>\d{4})\s*:\s*(?P<sfs_number>\d{1,4})\b".to_owned(),
        r"\(\s*(?P<paren_year>\d{4})\s*:\s*(?P<paren_number>\d{1,4})\s*\)".to_owned(),
        r"\b(?P<bare_year>1[6-9]\d\d|20\d\d):(?P<bare_number>\d{1,4})\b".to_owned(),
    ];
    alternatives.extend(KNOWN_LAWS.iter().enumerate().map(|(index, law)| {
        format!(
            r"(?P<law{index}>\b{}\b|\b(?i:{})s?\b)",
            law.abbreviation, law.names
        )
    }));
    alternatives.push(r"\b(?P<act>Act)\b".to_owned());
    Regex::new(&alternatives.join("|")).expect("valid law regex")
});

/// Swedish statute names: `…lagen`, `…balken`, `…förordningen` (genitive `s` outside `name`).
static SWEDISH_LAW_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?P<name>(?:\p{L}+-\s+och\s+)?\p{L}{3,}(?:lagen|balken|förordningen))s?\b")
        .expect("valid Swedish law name regex")
});

/// English statute and instrument names: capitalised words (version numbers among them)
/// ending in Act, Code, Regulation, Treaty, License, …; or in a lower-case "licence" after
/// capitalised words (`the Mozilla licence`).
static ENGLISH_LAW_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:\b[Tt]he\s+)?
        (?:
            (?:(?:[A-Z][\p{L}'’-]*|\d+-[A-Z][\p{L}]*|\d+(?:\.\d+)+)\s+(?:(?:of|and|on|for|the|in)\s+)*)*
            \b(?:Act|Code|Regulation|Directive|Constitution|Convention|Ordinance|Statute|Treaty
               |Charter|Agreement|Exception|License|LICENSE|Licence|LICENCE)\b
          | (?:[A-Z][\p{L}'’-]*\s+(?:\d+(?:\.\d+)+\s+)?)+(?:license|licence)\b
        )",
    )
    .expect("valid English law name regex")
});

/// A pattern of chapter, section and article numbers.
struct LocatorPattern {
    regex: Regex,
    /// Only a reference right after a statute abbreviation (`RF 2:1`).
    needs_law: bool,
}

/// Locator patterns; overlapping matches keep the earliest, then the longest.
static LOCATORS: LazyLock<Vec<LocatorPattern>> = LazyLock::new(|| {
    let pattern = |regex: &str, needs_law| LocatorPattern {
        regex: Regex::new(&format!("(?i){regex}")).expect("valid locator regex"),
        needs_law,
    };
    vec![
        pattern(
            r"\b(?P<c>\d{1,3})\s*(?:[a-z]\s+)?kap(?:itlet\b|\.|\b)\s*(?P<s>\d{1,4})\s*(?:[a-z]\s*)?§",
            false,
        ),
        pattern(
            r"\b(?P<c>\d{1,3})\s*(?:[a-z]\s+)?kap(?:itlet\b|\.|\b)",
            false,
        ),
        pattern(r"\bkapitel\s+(?P<c>\d{1,3})\b", false),
        pattern(
            r"\bchapter\s+(?P<c>\d{1,3})\b(?:\s*,?\s*(?:section\s*|sec\.\s*|§\s*)(?P<s>\d{1,4})\b)?",
            false,
        ),
        pattern(r"\b(?P<s>\d{1,4})\s*(?:[a-z]\s*)?§", false),
        pattern(r"§\s*(?P<s>\d{1,4})(?P<sub>(?:\.\d{1,3})*)\b", false),
        pattern(
            r"\b(?:sections?\s*|sec\.\s*|clauses?\s*)(?P<s>\d{1,4})(?P<sub>(?:\.\d{1,3})*)\b",
            false,
        ),
        pattern(
            r"\b(?:article\s*|artikel\s*|art\.\s*)(?:(?P<a>\d{1,4})(?P<asub>(?:\.\d{1,3})*)\b|(?-i:(?P<roman>[IVXLC]{1,7}))\b)",
            false,
        ),
        pattern(r"\b(?P<c>\d{1,3})\s*:\s*(?P<s>\d{1,3})\b", true),
    ]
});

/// What may stand between a locator and the statute written after it.
static TRAILING_GAP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*,?\s*(?:(?:of|in)\s+(?:the\s+)?|i\s+|the\s+)?$").expect("valid gap regex")
});

/// A statute mention: byte span and normalised law.
#[derive(Debug, Clone)]
struct LawMention {
    start: usize,
    end: usize,
    /// `SFS 1974:152`, `RF`, `Act`, ….
    law: String,
    /// Whether it is an SFS number.
    is_sfs: bool,
}

/// A chapter/section/article locator: byte span and numbers.
#[derive(Debug, Clone)]
struct Locator {
    start: usize,
    end: usize,
    chapter: Option<u32>,
    section: Option<u32>,
    subsections: Vec<u32>,
    article: Option<u32>,
}

/// The byte spans of the chapter, section and article locators in `text` (`section 4`,
/// `2 kap. 1 §`), without the statutes named next to them.
pub fn locator_spans(text: &str) -> Vec<(usize, usize)> {
    locators(text, &law_mentions(text))
        .into_iter()
        .map(|locator| (locator.start, locator.end))
        .collect()
}

/// Every statute reference in `text`, in order of appearance.
pub fn find(text: &str) -> Vec<StatuteReference> {
    let laws = law_mentions(text);
    let locators = locators(text, &laws);
    let mut law_of: Vec<Option<usize>> = vec![None; locators.len()];
    let mut used = vec![false; laws.len()];
    for (index, locator) in locators.iter().enumerate() {
        let preceding = laws.iter().rposition(|law| {
            law.end <= locator.start && is_blank_gap(&text[law.end..locator.start])
        });
        if let Some(law) = preceding.filter(|&law| !used[law]) {
            law_of[index] = Some(law);
            used[law] = true;
        }
    }
    for (index, locator) in locators.iter().enumerate() {
        if law_of[index].is_some() {
            continue;
        }
        let trailing = laws.iter().position(|law| {
            law.start >= locator.end && TRAILING_GAP.is_match(&text[locator.end..law.start])
        });
        if let Some(law) = trailing.filter(|&law| !used[law]) {
            law_of[index] = Some(law);
            used[law] = true;
        }
    }
    let mut references: Vec<(usize, StatuteReference)> = locators
        .iter()
        .zip(&law_of)
        .map(|(locator, law)| located_reference(text, locator, law.map(|law| &laws[law])))
        .collect();
    references.extend(
        laws.iter()
            .zip(&used)
            .filter(|(law, used)| law.is_sfs && !**used)
            .map(|(law, _)| (law.start, law_reference(text, law))),
    );
    references.sort_by_key(|(start, _)| *start);
    references
        .into_iter()
        .map(|(_, reference)| reference)
        .collect()
}

/// A statute or instrument name found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LawName {
    /// Byte offset where the name starts (after a capitalised sentence start).
    pub start: usize,
    /// Byte offset where it ends.
    pub end: usize,
    /// The name as written (a leading "the" kept, a Swedish genitive `s` dropped, SFS
    /// numbers as `SFS 1974:152`).
    pub name: String,
    /// What kind of name it is.
    pub kind: LawNameKind,
}

/// How a [`LawName`] names its statute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LawNameKind {
    /// An SFS number (year, serial).
    Sfs(u32, u32),
    /// A known statute by abbreviation or name, given as its canonical abbreviation (`RF`).
    Known(&'static str),
    /// "Act" on its own.
    Generic,
    /// A name in words: `the Data Protection Act`, `Apache License`, `förvaltningslagen`.
    Words,
    /// A Swedish name written like a title, `lagen om anställningstrygghet`: where it ends is
    /// uncertain (the question may go on in lower case), so it names a statute whose title
    /// starts with it or that it starts with.
    Title,
}

/// The statute names in `text` as written (a leading "the" kept, a Swedish genitive `s`
/// dropped, SFS numbers as `SFS 1974:152`), each once, in order of appearance.
pub fn law_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for found in law_name_spans(text) {
        if !names.contains(&found.name) {
            names.push(found.name);
        }
    }
    names
}

/// Every statute or instrument name in `text`, without overlaps, in order of appearance.
pub fn law_name_spans(text: &str) -> Vec<LawName> {
    let mut spans: Vec<LawName> = law_mentions(text)
        .into_iter()
        .map(|law| {
            let (name, kind) = match sfs_number(&law.law).filter(|_| law.is_sfs) {
                Some((year, serial)) => (law.law.clone(), LawNameKind::Sfs(year, serial)),
                None => (
                    strip_genitive(&text[law.start..law.end]).to_owned(),
                    known_law(&law.law).map_or(LawNameKind::Generic, LawNameKind::Known),
                ),
            };
            LawName {
                start: law.start,
                end: law.end,
                name,
                kind,
            }
        })
        .collect();
    spans.extend(SWEDISH_LAW_NAME.captures_iter(text).map(|captures| {
        let whole = captures.get(0).expect("whole match");
        let name = captures.name("name").expect("name group").as_str();
        LawName {
            start: whole.start(),
            end: whole.end(),
            name: name.to_owned(),
            kind: LawNameKind::Words,
        }
    }));
    let titles: Vec<LawName> = swedish_titles(text)
        .filter(|title| {
            !spans
                .iter()
                .any(|span| span.start < title.end && title.start < span.end)
        })
        .collect();
    spans.extend(titles);
    spans.extend(ENGLISH_LAW_NAME.find_iter(text).map(|found| {
        let (skipped, name) = english_name(found.as_str());
        LawName {
            start: found.start() + skipped,
            end: found.end(),
            name,
            kind: LawNameKind::Words,
        }
    }));
    without_overlaps(spans, |name| (name.start, name.end))
}

/// The start of a Swedish statute name written like a title: `lagen om`, `förordning om`.
static SWEDISH_TITLE_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:lag|lagen|förordning|förordningen)\s+om\s").expect("valid title regex")
});

/// Words that end a title-like name: what follows them is the question's own text
/// (`lagen om anställningstrygghet om uppsägning`, `… när …`).
const TITLE_ENDS: &[&str] = &[
    "om", "när", "vid", "enligt", "som", "är", "gäller", "säger", "får", "ska", "kan", "har",
    "vad", "hur", "inte",
];

/// Most words a title-like name runs to after `om`.
const MAX_TITLE_WORDS: usize = 12;

/// The Swedish names written like titles in `text` (`lagen om kommunal förvaltning och
/// nämndorganisation`): `lag(en) om` or `förordning(en) om` and the words after it, up to
/// punctuation, a number or a word in [`TITLE_ENDS`].
fn swedish_titles(text: &str) -> impl Iterator<Item = LawName> + '_ {
    SWEDISH_TITLE_START.find_iter(text).filter_map(|start| {
        let mut end = start.end();
        let mut words = 0;
        let rest = &text[start.end()..];
        let mut offset = start.end();
        for piece in rest.split_inclusive(char::is_whitespace) {
            let word = piece.trim_end();
            let letters = word.trim_end_matches([',', '.', '?', '!', ';', ':', ')']);
            let is_word = !letters.is_empty()
                && letters.chars().all(|c| c.is_alphabetic() || c == '-')
                && !TITLE_ENDS.contains(&letters.to_lowercase().as_str());
            if !is_word || words == MAX_TITLE_WORDS {
                break;
            }
            words += 1;
            end = offset + letters.len();
            offset += piece.len();
            if letters.len() < word.len() {
                break;
            }
        }
        (words > 0).then(|| LawName {
            start: start.start(),
            end,
            name: text[start.start()..end].to_owned(),
            kind: LawNameKind::Title,
        })
    })
}

/// A citation of a document that is no statute: a court ruling or a report of case law,
/// a preparatory work or an act of the European Union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitedReport {
    /// Byte offset where it starts.
    pub start: usize,
    /// Byte offset where it ends.
    pub end: usize,
    /// As written (`NJA 2019 s. 512`).
    pub written: String,
    /// Its series and numbers, normalised (`nja 2019 512`), to compare citations.
    pub key: String,
}

/// Citations of rulings (`NJA 2019 s. 512`, `AD 2021 nr 45`, `HFD 2020 ref. 15`,
/// `RÅ 2008 ref. 3`, `Jacobsen v. Katzer`), preparatory works (`prop. 2017/18:105`,
/// `Regeringens proposition 2017/18:105`,
/// `SOU 2016:1`, `Ds 2019:5`) and EU acts (`direktiv 2016/680/EU`, `förordning (EU)
/// 2016/679`, `Regulation (EU) 2016/679`).
static REPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        \b(?P<series>NJA|AD|HFD|RÅ|RH|MÖD|MD)\s+(?P<year>(?:19|20)\d\d)
            (?:\s+(?:s\.|sid\.|nr|ref\.?|not)\s*(?P<number>\d{1,4}))?
            (?:\s*:\s*(?P<colon>\d{1,4}))?
        | \b(?i:(?P<paper>prop(?:osition)?|SOU|Ds|dir|bet))\.?\s+(?P<session>(?:19|20)\d\d(?:/\d\d)?)
            \s*:\s*(?P<paper_number>\d{1,4})\b
        | \b(?i:(?P<eu>direktiv(?:et)?|förordning(?:en)?|directive|regulation))
            \s+(?:\((?:EU|EG|EEG|EC|EEC)\)\s*)?(?:nr\s+|No\.?\s+)?
            (?P<eu_year>(?:19|20)\d\d)/(?P<eu_number>\d{1,4})(?:/(?:EU|EG|EEG|EC|EEC))?\b
        | \b(?P<party>[A-Z][\p{L}]+)\s+v\.?\s+(?P<other>[A-Z][\p{L}]+)\b
        ",
    )
    .expect("valid report regex")
});

/// The citations of rulings, preparatory works and EU acts in `text`, in order.
pub fn cited_reports(text: &str) -> Vec<CitedReport> {
    REPORT
        .captures_iter(text)
        .map(|captures| {
            let whole = captures.get(0).expect("whole match");
            let part = |name: &str| captures.name(name).map(|found| found.as_str());
            let numbers = |names: &[&str]| {
                names
                    .iter()
                    .filter_map(|name| part(name))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let key = if let Some(series) = part("series") {
                format!(
                    "{} {}",
                    series.to_lowercase(),
                    numbers(&["year", "number", "colon"])
                )
            } else if let Some(paper) = part("paper") {
                let series = match paper.to_lowercase() {
                    series if series.starts_with("prop") => "prop".to_owned(),
                    series => series,
                };
                format!("{series} {}", numbers(&["session", "paper_number"]))
            } else if part("eu").is_some() {
                format!("eu {}", numbers(&["eu_year", "eu_number"]))
            } else {
                format!("v {}", numbers(&["party", "other"]).to_lowercase())
            };
            CitedReport {
                start: whole.start(),
                end: whole.end(),
                written: whole.as_str().to_owned(),
                key,
            }
        })
        .collect()
}

/// The canonical abbreviation of a known statute.
fn known_law(abbreviation: &str) -> Option<&'static str> {
    KNOWN_LAWS
        .iter()
        .find(|known| known.abbreviation == abbreviation)
        .map(|known| known.abbreviation)
}

/// The canonical abbreviations of the known statutes `title` names, by SFS number or by
/// name (`Regeringsformen (1974:152)` → `RF`).
pub fn known_laws_named_by(title: &str) -> Vec<&'static str> {
    let mut found: Vec<&'static str> = Vec::new();
    for mention in law_mentions(title) {
        let known = match sfs_number(&mention.law) {
            Some(number) if mention.is_sfs => KNOWN_LAWS
                .iter()
                .find(|known| known.sfs == Some(number))
                .map(|known| known.abbreviation),
            _ => known_law(&mention.law),
        };
        if let Some(known) = known.filter(|known| !found.contains(known)) {
            found.push(known);
        }
    }
    found
}

/// Whether a passage (or a sentence of it, with its passage's path, e.g. `RF 2 kap. 1 §`,
/// `GPL-3 §6`) is what `reference` points at.
///
/// Where the path gives the passage's place in its document's structure, that decides (see
/// [`is_about`]): a sentence of another section that mentions the reference is a
/// cross-reference, not a match. Where it does not, a mention in the text counts (see
/// [`refers_to`]). A reference's statute must agree with the statute the path names, when it
/// names one. A reference without a locator (an SFS number) needs its statute in the text or
/// path.
pub fn is_mentioned(reference: &StatuteReference, passage_text: &str, passage_path: &str) -> bool {
    if !reference.has_locator() || path_position(passage_path) == Position::default() {
        return refers_to(reference, passage_text, passage_path);
    }
    laws_allow(reference, passage_path) && is_about(reference, passage_text, passage_path)
}

/// Whether the statute the path names, when it names one, can be the reference's.
fn laws_allow(reference: &StatuteReference, passage_path: &str) -> bool {
    let Some(law) = &reference.law else {
        return true;
    };
    let path_laws = law_mentions(passage_path);
    path_laws.is_empty() || path_laws.iter().any(|mention| same_law(law, &mention.law))
}

/// Whether `passage_text` or `passage_path` writes `reference`, wherever it stands (a
/// heading or a cross-reference alike).
///
/// A reference with a chapter and a section needs both to match (a section in the text may
/// take its chapter from the path); a lone section or article number matches `Article N`,
/// `Section N`, `N §` and `§ N`. A reference's statute must agree with the statute the path
/// names, when it names one, and with the statute written at the matching locator. A
/// reference without a locator (an SFS number) needs its statute in the text or path.
pub fn refers_to(reference: &StatuteReference, passage_text: &str, passage_path: &str) -> bool {
    if !laws_allow(reference, passage_path) {
        return false;
    }
    let path_laws = law_mentions(passage_path);
    if !reference.has_locator() {
        return reference.law.as_deref().is_some_and(|law| {
            names_law(passage_text, law) || path_laws.iter().any(|m| same_law(law, &m.law))
        });
    }
    let in_path = find(passage_path);
    let path_chapter = in_path.iter().rev().find_map(|found| found.chapter);
    in_path.iter().chain(&find(passage_text)).any(|found| {
        locator_matches(reference, found, path_chapter)
            && laws_agree(reference.law.as_ref(), found.law.as_ref())
    })
}

/// Whether a chunk is (part of) the chapter, section or article `reference` points at, by
/// the document's structure: the numbering of the chunk's structural `path` (`3.
/// Responsibilities > 3.2`, `Section 4`, `2 kap. > 1 §`, `2 kap. 1 §`), or a heading line of
/// its `text` (a line at the start or after a blank line that opens with a section number, as
/// in a chunk that holds two short sections). A sentence that merely mentions the section (a
/// cross-reference, "as described in Section 3.1") is not the section. The statute the
/// reference names is not checked here: the caller knows which document the chunk is from.
pub fn is_about(reference: &StatuteReference, text: &str, path: &str) -> bool {
    reference.has_locator()
        && structural_positions(text, path)
            .iter()
            .any(|position| position.is_within(reference))
}

/// Where a piece of a document sits in its structure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Position {
    /// Chapter number (`2 kap.`, `Chapter 2`).
    chapter: Option<u32>,
    /// Section or article number with its dotted subsections (`[3, 2]` for `3.2`).
    numbers: Vec<u32>,
    /// Whether the last number came from a bare numbered heading (`4. Redistribution.`)
    /// rather than a keyword (`Section 4`, `Article 6`, `1 §`).
    bare: bool,
}

impl Position {
    /// Whether this position is inside what `reference` points at.
    fn is_within(&self, reference: &StatuteReference) -> bool {
        if reference.chapter.is_some() && self.chapter != reference.chapter {
            return false;
        }
        let wanted: Vec<u32> = reference
            .section
            .or(reference.article)
            .into_iter()
            .chain(reference.subsections.iter().copied())
            .collect();
        if wanted.is_empty() {
            return reference.chapter.is_some();
        }
        self.numbers.starts_with(&wanted)
    }

    /// This position with `marker` read after it (`3.` then `3.2` is `[3, 2]`; `Article 5`
    /// then `1.` is `[5, 1]`; `2 kap.` then `1 §` is chapter 2, `[1]`).
    fn then(&self, marker: Marker) -> Position {
        match marker {
            Marker::Chapter(chapter) => Position {
                chapter: Some(chapter),
                numbers: Vec::new(),
                bare: false,
            },
            Marker::Keyword(numbers) => Position {
                chapter: self.chapter,
                numbers,
                bare: false,
            },
            Marker::Bare(numbers) => {
                let numbers = if numbers.starts_with(&self.numbers) || self.numbers.is_empty() {
                    numbers
                } else {
                    self.numbers.iter().copied().chain(numbers).collect()
                };
                Position {
                    chapter: self.chapter,
                    numbers,
                    bare: true,
                }
            }
        }
    }

    /// The position of a heading `marker` found inside a chunk at this (path) position: a
    /// dotted or keyword number stands on its own; a bare `N.` after a bare `M.` with N > M
    /// is the next section (a chunk holding two short sections), otherwise a sub-clause.
    fn heading(&self, marker: Marker) -> Position {
        match &marker {
            Marker::Bare(numbers)
                if numbers.len() == 1
                    && self.bare
                    && self.numbers.len() == 1
                    && numbers[0] > self.numbers[0] =>
            {
                Position {
                    chapter: self.chapter,
                    numbers: numbers.clone(),
                    bare: true,
                }
            }
            Marker::Bare(numbers) if numbers.len() > 1 => Position {
                chapter: self.chapter,
                numbers: numbers.clone(),
                bare: true,
            },
            _ => self.then(marker),
        }
    }
}

/// One structural marker of a path segment or heading line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Marker {
    /// `2 kap.`, `Chapter 2`, `Kapitel 2`.
    Chapter(u32),
    /// `Section 4`, `Article 6`, `§ 6`, `1 §`, `Clause 3.2`.
    Keyword(Vec<u32>),
    /// A numbered heading: `4.`, `3.2.`, `1.0.1`.
    Bare(Vec<u32>),
}

/// A keyword marker at the start of the text it is matched against.
static KEYWORD_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^[\s,;:*\#=|>_-]*(?:
            (?P<chapter>\d{1,3})\s*(?:[a-z]\s+)?kap(?:itlet\b|\.|\b)
          | (?:chapter|kapitel)\s+(?:(?P<chapter_number>\d{1,3})|(?-i:(?P<chapter_roman>[IVXLC]{1,7})))\b
          | (?:sections?|sec\.|articles?|art\.|artikel|clauses?|paragraph)\s*
              (?:(?P<keyword>\d{1,4}(?:\.\d{1,3})*)|(?-i:(?P<keyword_roman>[IVXLC]{1,7})))\b\.?
          | §\s*(?P<sign>\d{1,4}(?:\.\d{1,3})*)\b
          | (?P<swedish>\d{1,4})\s*(?:[a-z]\s*)?§
        )",
    )
    .expect("valid keyword marker regex")
});

/// A bare numbered heading at the start of the text it is matched against (`4. `, `3.2. `,
/// `*  6. Disclaimer`), never a year or an SFS number.
static BARE_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\s*\#=|>_-]*(?P<number>\d{1,3}(?:\.\d{1,3})*)(?:\.|\)|\s|$)")
        .expect("valid bare marker regex")
});

/// What may follow a heading marker on a heading line: a capitalised word, a quoted or
/// parenthesised term, or nothing.
static HEADING_REST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^[\s.)]*(?:$|["“'(\[]?\p{Lu}|["“])"#).expect("valid heading rest regex")
});

/// The markers at the start of `segment`: keyword markers one after another (`2 kap. 1 §`,
/// `Chapter 2 Section 1`), else one bare numbered heading; and where they end.
fn leading_markers(segment: &str) -> (Vec<Marker>, usize) {
    let mut markers = Vec::new();
    let mut end = 0;
    while let Some(captures) = KEYWORD_MARKER.captures(&segment[end..]) {
        let whole = captures.get(0).expect("whole match");
        if whole.as_str().trim().is_empty() {
            break;
        }
        let numbers = |name: &str| captures.name(name).map(|m| dotted_numbers(m.as_str()));
        let roman = |name: &str| captures.name(name).and_then(|m| roman_value(m.as_str()));
        let marker = if let Some(chapter) = numbers("chapter").or(numbers("chapter_number")) {
            chapter.first().copied().map(Marker::Chapter)
        } else if let Some(chapter) = roman("chapter_roman") {
            Some(Marker::Chapter(chapter))
        } else {
            numbers("keyword")
                .or(numbers("sign"))
                .or(numbers("swedish"))
                .or(roman("keyword_roman").map(|n| vec![n]))
                .map(Marker::Keyword)
        };
        let Some(marker) = marker else { break };
        markers.push(marker);
        end += whole.end();
    }
    if markers.is_empty()
        && let Some(captures) = BARE_MARKER.captures(segment)
    {
        let number = captures.name("number").expect("number group");
        markers.push(Marker::Bare(dotted_numbers(number.as_str())));
        end = number.end();
    }
    (markers, end)
}

/// The position a structural path names: its segments (`>`-separated) read in order. A
/// segment may open with its statute's abbreviation (`RF 2 kap. 1 §`, `GPL-3 §6`, as
/// answers label their quotes).
fn path_position(path: &str) -> Position {
    let mut position = Position::default();
    for segment in path.split('>') {
        let (mut markers, _) = leading_markers(segment);
        if markers.is_empty()
            && let Some(captures) = LEADING_ABBREVIATION.captures(segment)
        {
            let rest = &segment[captures.get(0).expect("whole match").end()..];
            markers = leading_markers(rest)
                .0
                .into_iter()
                .filter(|marker| !matches!(marker, Marker::Bare(_)))
                .collect();
        }
        for marker in markers {
            position = position.then(marker);
        }
    }
    position
}

/// A statute abbreviation opening a path segment (`RF `, `BrB `, `GPL-3 `).
static LEADING_ABBREVIATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\p{Lu}[\p{L}]*(?:-\d+(?:\.\d+)*)?\s+").expect("valid abbreviation regex")
});

/// The positions of a chunk: its path's, and that of every heading line in its text.
fn structural_positions(text: &str, path: &str) -> Vec<Position> {
    let from_path = path_position(path);
    let mut positions = vec![from_path.clone()];
    let mut context = from_path;
    let mut after_break = true;
    for line in text.lines() {
        let content = line.trim();
        if content.is_empty() || is_rule(content) {
            after_break = true;
            continue;
        }
        if after_break {
            let (markers, end) = leading_markers(line);
            if !markers.is_empty() && HEADING_REST.is_match(&line[end..]) {
                let mut position = context.clone();
                for marker in markers {
                    if let Marker::Chapter(_) = marker {
                        position = position.then(marker);
                        context = position.clone();
                    } else {
                        position = position.heading(marker);
                    }
                }
                positions.push(position);
            }
        }
        after_break = false;
    }
    positions
}

/// Whether a line is only a rule of `-`, `=`, `*` or `_` (a heading's underline).
fn is_rule(line: &str) -> bool {
    line.len() >= 3 && line.chars().all(|c| matches!(c, '-' | '=' | '*' | '_'))
}

/// The numbers of a dotted number (`3.2` → `[3, 2]`; `.2.1` → `[2, 1]`).
fn dotted_numbers(dotted: &str) -> Vec<u32> {
    dotted
        .split('.')
        .filter(|part| !part.is_empty())
        .map_while(|part| part.parse().ok())
        .collect()
}

/// The value of an upper-case Roman numeral (`IV` → 4), `None` when it is not one.
fn roman_value(numeral: &str) -> Option<u32> {
    let digit = |c: char| match c {
        'I' => Some(1),
        'V' => Some(5),
        'X' => Some(10),
        'L' => Some(50),
        'C' => Some(100),
        _ => None,
    };
    let digits: Vec<u32> = numeral.chars().map(digit).collect::<Option<_>>()?;
    let mut total = 0;
    for (index, &value) in digits.iter().enumerate() {
        if digits.get(index + 1).is_some_and(|&next| next > value) {
            total -= i64::from(value);
        } else {
            total += i64::from(value);
        }
    }
    u32::try_from(total).ok().filter(|&value| value > 0)
}

/// Whether `found` points at `wanted`'s chapter/section/article; a found section without a
/// chapter is taken to be in `path_chapter`.
fn locator_matches(
    wanted: &StatuteReference,
    found: &StatuteReference,
    path_chapter: Option<u32>,
) -> bool {
    let found_chapter = found.chapter.or(path_chapter);
    let found_number = found.section.or(found.article);
    match (wanted.chapter, wanted.section.or(wanted.article)) {
        (Some(chapter), Some(number)) => {
            found_chapter == Some(chapter) && found_number == Some(number)
        }
        (Some(chapter), None) => found_chapter == Some(chapter),
        (None, Some(number)) => found_number == Some(number),
        (None, None) => false,
    }
}

/// Whether two optional statutes can be the same (an unknown one agrees with any).
fn laws_agree(a: Option<&String>, b: Option<&String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same_law(a, b),
        _ => true,
    }
}

/// Whether two normalised statutes are the same (an abbreviation equals its SFS number).
fn same_law(a: &str, b: &str) -> bool {
    a == b || matches!((sfs_number(a), sfs_number(b)), (Some(x), Some(y)) if x == y)
}

/// Whether `text` names the normalised statute `law`.
fn names_law(text: &str, law: &str) -> bool {
    law_mentions(text)
        .iter()
        .any(|mention| same_law(law, &mention.law))
}

/// The SFS number of a normalised statute (`SFS 1974:152` or a known abbreviation).
fn sfs_number(law: &str) -> Option<(u32, u32)> {
    if let Some(number) = law.strip_prefix("SFS ") {
        let (year, serial) = number.split_once(':')?;
        return Some((year.parse().ok()?, serial.parse().ok()?));
    }
    KNOWN_LAWS
        .iter()
        .find(|known| known.abbreviation == law)
        .and_then(|known| known.sfs)
}

/// Every statute mention in `text`, without overlaps, in order.
fn law_mentions(text: &str) -> Vec<LawMention> {
    let mentions = LAW
        .captures_iter(text)
        .filter(|captures| !is_other_series_number(text, captures))
        .map(|captures| law_mention(&captures))
        .collect();
    without_overlaps(mentions, |law| (law.start, law.end))
}

/// Series whose numbers look like SFS numbers (`SOU 2020:1`, `prop. 2016/17:180`, `Ds 2019:5`).
static OTHER_SERIES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:sou|ds|prop\.?|bet\.?|rskr\.?|dir\.?|nja|hfd|rå)\s*$")
        .expect("valid series regex")
});

/// Whether a bare `year:number` match of [`LAW`] belongs to another series than SFS.
fn is_other_series_number(text: &str, captures: &Captures<'_>) -> bool {
    captures
        .name("bare_year")
        .is_some_and(|year| OTHER_SERIES.is_match(&text[..year.start()]))
}

/// The statute one match of [`LAW`] names.
fn law_mention(captures: &Captures<'_>) -> LawMention {
    let whole = captures.get(0).expect("whole match");
    let sfs = [
        ("sfs_year", "sfs_number"),
        ("paren_year", "paren_number"),
        ("bare_year", "bare_number"),
    ]
    .into_iter()
    .find_map(|(year, number)| Some((captures.name(year)?, captures.name(number)?)));
    let (law, is_sfs) = match sfs {
        Some((year, number)) => (format!("SFS {}:{}", year.as_str(), number.as_str()), true),
        None => (known_abbreviation(captures).to_owned(), false),
    };
    LawMention {
        start: whole.start(),
        end: whole.end(),
        law,
        is_sfs,
    }
}

/// The canonical abbreviation of a known-statute or "Act" match of [`LAW`].
fn known_abbreviation(captures: &Captures<'_>) -> &'static str {
    KNOWN_LAWS
        .iter()
        .enumerate()
        .find(|(index, _)| captures.name(&format!("law{index}")).is_some())
        .map_or("Act", |(_, known)| known.abbreviation)
}

/// Every locator in `text`, without overlaps; one that needs a statute is kept only right
/// after a statute abbreviation.
fn locators(text: &str, laws: &[LawMention]) -> Vec<Locator> {
    let mut found = Vec::new();
    for pattern in LOCATORS.iter() {
        for captures in pattern.regex.captures_iter(text) {
            let whole = captures.get(0).expect("whole match");
            if !stands_alone(text, whole.start(), whole.end()) {
                continue;
            }
            if pattern.needs_law && !follows_abbreviation(text, whole.start(), laws) {
                continue;
            }
            let number = |name| captures.name(name).and_then(|m| m.as_str().parse().ok());
            let roman = captures.name("roman").and_then(|m| roman_value(m.as_str()));
            let subsections = ["sub", "asub"]
                .into_iter()
                .filter_map(|name| captures.name(name))
                .flat_map(|m| dotted_numbers(m.as_str()))
                .collect();
            found.push(Locator {
                start: whole.start(),
                end: whole.end(),
                chapter: number("c"),
                section: number("s"),
                subsections,
                article: number("a").or(roman),
            });
        }
    }
    without_overlaps(found, |locator| (locator.start, locator.end))
}

/// Whether a locator at `start..end` is not part of a larger token: not after `-`, `/` or
/// `:` (`GPL-3`, `2016/17:180`) and, when it ends in `§`, not glued to a following digit
/// (`3 §6` is `§ 6`).
fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let glued_before = before.is_some_and(|c| matches!(c, '-' | '/' | ':'));
    let glued_after = text[..end].ends_with('§') && after.is_some_and(|c| c.is_ascii_digit());
    !glued_before && !glued_after
}

/// Whether a statute abbreviation (not an SFS number or "Act") ends right before `start`.
fn follows_abbreviation(text: &str, start: usize, laws: &[LawMention]) -> bool {
    laws.iter().any(|law| {
        !law.is_sfs
            && law.law != "Act"
            && law.end <= start
            && text[law.end..start].trim().is_empty()
    })
}

/// Whether the text between a statute and its locator is only spaces and commas.
fn is_blank_gap(gap: &str) -> bool {
    gap.chars().all(|c| c.is_whitespace() || c == ',')
}

/// The reference of a locator and its optional statute, keyed by its start.
fn located_reference(
    text: &str,
    locator: &Locator,
    law: Option<&LawMention>,
) -> (usize, StatuteReference) {
    let start = law.map_or(locator.start, |law| law.start.min(locator.start));
    let end = law.map_or(locator.end, |law| law.end.max(locator.end));
    let reference = StatuteReference {
        text: text[start..end].to_owned(),
        law: law.map(|law| law.law.clone()),
        chapter: locator.chapter,
        section: locator.section,
        subsections: locator.subsections.clone(),
        article: locator.article,
    };
    (start, reference)
}

/// The reference of a statute alone (an SFS number).
fn law_reference(text: &str, law: &LawMention) -> StatuteReference {
    StatuteReference {
        text: text[law.start..law.end].to_owned(),
        law: Some(law.law.clone()),
        chapter: None,
        section: None,
        subsections: Vec::new(),
        article: None,
    }
}

/// Capitalised words that start sentences rather than statute names.
const SENTENCE_STARTERS: &str = "does do did is are was were what which who how when where why \
    can could will would should may might must under according in on of for and to see about";

/// An English statute name without the capitalised sentence start before it
/// (`Does the Act` → `the Act`), with a leading `The` lowercased; and the byte length of
/// what was skipped.
fn english_name(matched: &str) -> (usize, String) {
    let starter = |word: &str| {
        SENTENCE_STARTERS
            .split_whitespace()
            .any(|starter| word.eq_ignore_ascii_case(starter))
    };
    let mut skipped = 0;
    let mut rest = matched;
    while let Some((word, after)) = rest.split_once(char::is_whitespace) {
        if !starter(word) {
            break;
        }
        let after = after.trim_start();
        skipped = matched.len() - after.len();
        rest = after;
    }
    let mut name = rest.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(after) = name.strip_prefix("The ") {
        name = format!("the {after}");
    }
    (skipped, name)
}

/// `name` without a Swedish genitive `s` (`regeringsformens` → `regeringsformen`).
fn strip_genitive(name: &str) -> &str {
    if name.ends_with("ens") {
        &name[..name.len() - 1]
    } else {
        name
    }
}

/// `items` sorted by start, keeping at each position the longest and dropping any item that
/// overlaps one already kept.
fn without_overlaps<T>(mut items: Vec<T>, span: impl Fn(&T) -> (usize, usize)) -> Vec<T> {
    items.sort_by_key(|item| {
        let (start, end) = span(item);
        (start, std::cmp::Reverse(end))
    });
    let mut kept_end = 0;
    let mut kept = Vec::with_capacity(items.len());
    for item in items {
        let (start, end) = span(&item);
        if kept.is_empty() || start >= kept_end {
            kept_end = end;
            kept.push(item);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> StatuteReference {
        let mut found = find(text);
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        found.remove(0)
    }

    fn numbers(reference: &StatuteReference) -> (Option<u32>, Option<u32>, Option<u32>) {
        (reference.chapter, reference.section, reference.article)
    }

    #[test]
    fn sfs_numbers() {
        let reference = one("Se SFS 1974:152.");
        assert_eq!(reference.text, "SFS 1974:152");
        assert_eq!(reference.law.as_deref(), Some("SFS 1974:152"));
        assert_eq!(numbers(&reference), (None, None, None));
        let reference = one("offentlighets- och sekretesslagen (2009:400)");
        assert_eq!(reference.law.as_deref(), Some("SFS 2009:400"));
    }

    #[test]
    fn swedish_chapter_and_section() {
        let reference = one("Vad säger RF 2 kap. 1 § om yttrandefrihet?");
        assert_eq!(reference.text, "RF 2 kap. 1 §");
        assert_eq!(reference.law.as_deref(), Some("RF"));
        assert_eq!(numbers(&reference), (Some(2), Some(1), None));
        let reference = one("enligt 2 kap. 1 §");
        assert_eq!(
            (reference.text.as_str(), reference.law),
            ("2 kap. 1 §", None)
        );
        assert_eq!(numbers(&one("RF 2:1")), (Some(2), Some(1), None));
        assert_eq!(one("RF 2:1").text, "RF 2:1");
    }

    #[test]
    fn sfs_number_with_locator_is_one_reference() {
        let reference = one("citera SFS 2099:999 3 kap. 7 §");
        assert_eq!(reference.text, "SFS 2099:999 3 kap. 7 §");
        assert_eq!(reference.law.as_deref(), Some("SFS 2099:999"));
        assert_eq!(numbers(&reference), (Some(3), Some(7), None));
    }

    #[test]
    fn lone_sections_chapters_and_articles() {
        assert_eq!(numbers(&one("1 §")), (None, Some(1), None));
        assert_eq!(numbers(&one("enligt § 6")), (None, Some(6), None));
        assert_eq!(numbers(&one("enligt 2 kap.")), (Some(2), None, None));
        assert_eq!(numbers(&one("se kapitel 2")), (Some(2), None, None));
        assert_eq!(numbers(&one("Article 6 GDPR")), (None, None, Some(6)));
        assert_eq!(one("Article 6 GDPR").law.as_deref(), Some("GDPR"));
        assert_eq!(numbers(&one("Art. 6")), (None, None, Some(6)));
        assert_eq!(numbers(&one("Section 4")), (None, Some(4), None));
        let reference = one("chapter 2 section 1");
        assert_eq!(numbers(&reference), (Some(2), Some(1), None));
    }

    #[test]
    fn statutes_written_after_the_locator() {
        let reference = one("2 kap. 1 § regeringsformen");
        assert_eq!(reference.law.as_deref(), Some("RF"));
        let reference = one("What does section 4 of the Act say?");
        assert_eq!(reference.text, "section 4 of the Act");
        assert_eq!(reference.law.as_deref(), Some("Act"));
    }

    #[test]
    fn several_references_in_order() {
        let found = find("Jämför RF 2 kap. 1 § och TF 1 kap. 1 § samt Article 10.");
        let laws: Vec<_> = found.iter().map(|r| r.law.as_deref()).collect();
        assert_eq!(laws, [Some("RF"), Some("TF"), None]);
        assert_eq!(found[2].article, Some(10));
    }

    #[test]
    fn no_false_references() {
        for text in [
            "Vad är RF?",
            "klockan 10:30",
            "prop. 2016/17:180",
            "How do I apply for a permit?",
            "GPL-3",
            "SOU 2020:1",
            "Ds 2019:5",
        ] {
            assert!(find(text).is_empty(), "{text}: {:?}", find(text));
        }
        assert_eq!(numbers(&one("GPL-3 §6")), (None, Some(6), None));
    }

    #[test]
    fn mentioned_in_path_or_text() {
        let reference = one("RF 2 kap. 1 §");
        assert!(is_mentioned(&reference, "Var och en är …", "RF 2 kap. 1 §"));
        assert!(is_mentioned(&reference, "Var och en är …", "2 kap. 1 §"));
        assert!(is_mentioned(&reference, "1 § Var och en är …", "2 kap."));
        assert!(is_mentioned(&reference, "Se 2 kap. 1 § RF.", ""));
        assert!(!is_mentioned(&reference, "Var och en är …", "2 kap. 2 §"));
        assert!(!is_mentioned(&reference, "1 § Var och en …", "3 kap."));
        assert!(!is_mentioned(
            &reference,
            "Var och en är …",
            "TF 2 kap. 1 §"
        ));
        assert!(!is_mentioned(&reference, "Se 2 kap. 1 § TF.", ""));
    }

    #[test]
    fn article_and_section_numbers_match_every_form() {
        let article = one("Article 6");
        for path in ["Article 6", "Section 6", "6 §", "§ 6", "GPL-3 §6", "Art. 6"] {
            assert!(is_mentioned(&article, "", path), "{path}");
        }
        assert!(!is_mentioned(&article, "Article 7 applies.", "Article 7"));
        let section = one("Section 4");
        assert!(is_mentioned(&section, "See section 4 of the Act.", ""));
    }

    #[test]
    fn sfs_numbers_must_match() {
        let fabricated = one("SFS 2099:999 3 kap. 7 §");
        assert!(!is_mentioned(&fabricated, "7 § Text.", "OSL 3 kap."));
        assert!(!is_mentioned(&fabricated, "Text.", "2 kap. 7 §"));
        let osl = one("SFS 2009:400 3 kap. 7 §");
        assert!(is_mentioned(&osl, "7 § Text.", "OSL 3 kap."));
        let law_only = one("SFS 1974:152");
        assert!(is_mentioned(&law_only, "Regeringsform (1974:152)", ""));
        assert!(is_mentioned(&law_only, "", "RF 1 kap."));
        assert!(!is_mentioned(&law_only, "Lag (2009:400)", ""));
    }

    #[test]
    fn statute_names() {
        let names = law_names("Vad säger regeringsformens 2 kap. och brottsbalken om RF?");
        assert_eq!(names, ["regeringsformen", "brottsbalken", "RF"]);
        let names = law_names("Vad säger offentlighets- och sekretesslagen och dataskyddslagen?");
        assert_eq!(
            names,
            ["offentlighets- och sekretesslagen", "dataskyddslagen"]
        );
        let names = law_names("What does the Data Protection Act section 4 say about GDPR?");
        assert_eq!(names, ["the Data Protection Act", "GDPR"]);
        assert_eq!(
            law_names("The Environmental Code applies."),
            ["the Environmental Code"]
        );
        assert_eq!(law_names("Does the Act apply?"), ["the Act"]);
        assert!(law_names("What does the law say about tryckfriheten?").is_empty());
    }

    #[test]
    fn dotted_sections_roman_articles_and_clauses() {
        let reference = one("MPL 2.0 section 3.2");
        assert_eq!(numbers(&reference), (None, Some(3), None));
        assert_eq!(reference.subsections, [2]);
        assert_eq!(one("GPLv3 §6").section, Some(6));
        assert_eq!(numbers(&one("Article IV")), (None, None, Some(4)));
        assert_eq!(
            numbers(&one("clause 2 of the BSD licence")),
            (None, Some(2), None)
        );
        assert!(find("What does Apache License, Version 2.0, January 2004 say?").is_empty());
    }

    /// A chunk's text and path, as the chunker stores them.
    fn about(question: &str, text: &str, path: &str) -> bool {
        is_about(&one(question), text, path)
    }

    #[test]
    fn sections_are_found_by_the_numbering_of_the_path() {
        for (question, path) in [
            (
                "section 4",
                "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION > 4. Redistribution.",
            ),
            ("section 4", "4. Redistribution"),
            ("section 4", "Section 4"),
            ("section 3.2", "3. Responsibilities > 3.2"),
            (
                "section 3.2",
                "3. Responsibilities > 3.2. Distribution of Executable Form",
            ),
            (
                "section 3",
                "3. Responsibilities > 3.2. Distribution of Executable Form",
            ),
            (
                "§6",
                "TERMS AND CONDITIONS > 6. Conveying Non-Source Forms.",
            ),
            ("section 6", "*  6. Disclaimer of Warranty  *"),
            ("RF 2 kap. 1 §", "2 kap. > 1 §"),
            ("RF 2 kap. 1 §", "2 kap. 1 §"),
            ("2 kap.", "2 kap. > 3 §"),
            ("3 §", "3 §"),
            ("Article 6", "Article 6"),
            ("Article IV", "Article IV"),
            ("chapter 2 section 1", "Chapter 2 Section 1"),
        ] {
            assert!(about(question, "", path), "{question} in {path:?}");
        }
        for (question, path) in [
            (
                "section 4",
                "TERMS AND CONDITIONS > 14. Revised Versions of this License.",
            ),
            (
                "section 3.2",
                "3. Responsibilities > 3.1. Distribution of Source Form",
            ),
            ("section 3.2", "3. Responsibilities"),
            ("RF 2 kap. 1 §", "1 kap. > 1 §"),
            ("RF 2 kap. 1 §", "2 kap. > 2 §"),
            ("section 15", "17. Interpretation of Sections 15 and 16."),
            ("section 4", "Exhibit A - Source Code Form License Notice"),
            ("section 2", "Version 2.0, January 2004"),
        ] {
            assert!(!about(question, "", path), "{question} in {path:?}");
        }
    }

    #[test]
    fn headings_in_the_text_count_and_cross_references_do_not() {
        // Two short sections in one chunk, laid out as the Apache License lays them out.
        let chunk = "   3. Grant of Patent License. Subject to the terms and conditions of\n      this License, each Contributor hereby grants to You a perpetual,\n      worldwide, non-exclusive, no-charge, royalty-free, irrevocable\n\n   4. Redistribution. You may reproduce and distribute copies of the\n      Work or Derivative Works thereof in any medium, with or without\n";
        assert!(about("section 4", chunk, "3. Grant of Patent License."));
        assert!(about("section 3", chunk, "3. Grant of Patent License."));
        assert!(!about("section 5", chunk, "3. Grant of Patent License."));
        // A section that only refers to others.
        let definitions = "   1. Definitions.\n\n      \"License\" shall mean the terms and conditions for use, reproduction,\n      and distribution as defined by Sections 1 through 9 of this document.\n";
        assert!(!about("section 9", definitions, "1. Definitions."));
        let mpl = "3.1. Distribution of Source Form\n\nAll distribution of Covered Software in Source Code Form, including any\nModifications that You create or to which You contribute, must be under\nthe terms of this License. You must inform recipients that the Source\nCode Form of the Covered Software is governed by the terms of this\nLicense, and how they can obtain a copy of this License. You may not\nattempt to alter or restrict the recipients' rights in the Source Code\nForm.\n\n3.2. Distribution of Executable Form\n\nIf You distribute Covered Software in Executable Form then:\n";
        assert!(about("section 3.2", mpl, ""));
        assert!(!about("section 3.3", mpl, ""));
        // A wrapped line that happens to start with a section number is no heading.
        let wrapped = "   5. Submission of Contributions. Unless You explicitly state otherwise,\n      any Contribution intentionally submitted for inclusion in the Work\n      by You to the Licensor shall be under the terms and conditions of\n      this License, without any additional terms or conditions, as in\n      section\n      4. Notwithstanding the above\n";
        assert!(!about(
            "section 4",
            wrapped,
            "5. Submission of Contributions."
        ));
        // Swedish: the chapter comes from the path, the section from the text.
        let swedish = "1 § Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet.\n\n2 § Var och en är gentemot det allmänna skyddad mot tvång.\n";
        assert!(about("RF 2 kap. 2 §", swedish, "2 kap."));
        assert!(!about("RF 3 kap. 2 §", swedish, "2 kap."));
        // Numbered sub-clauses of an article are not other articles.
        let article = "1. Member States shall provide that\n\n2. The supervisory authority shall";
        assert!(about("Article 5", article, "Article 5"));
        assert!(!about("Article 2", article, "Article 5"));
    }

    #[test]
    fn a_sentence_citing_another_section_is_no_mention_where_the_path_is_known() {
        let section = one("section 4");
        let cross = "terms of section 4, provided that you also meet all of these conditions:";
        assert!(!is_mentioned(
            &section,
            cross,
            "5. Conveying Modified Source Versions."
        ));
        assert!(refers_to(
            &section,
            cross,
            "5. Conveying Modified Source Versions."
        ));
        assert!(is_mentioned(
            &section,
            "You may reproduce and distribute copies of the",
            "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION > 4. Redistribution."
        ));
        // Without a path the mention is all there is to go by.
        assert!(is_mentioned(&section, cross, ""));
    }

    #[test]
    fn swedish_titles_end_where_the_question_goes_on() {
        let titles: Vec<(String, LawNameKind)> = law_name_spans(
            "Gäller lagen om rätt till föräldraledighet om barnet är adopterat, och förordningen om tillsyn?",
        )
        .into_iter()
        .map(|name| (name.name, name.kind))
        .collect();
        assert_eq!(
            titles,
            [
                (
                    "lagen om rätt till föräldraledighet".to_owned(),
                    LawNameKind::Title
                ),
                ("förordningen om tillsyn".to_owned(), LawNameKind::Title),
            ]
        );
        // A known statute keeps its own name; a bare "lagen om" names nothing.
        assert_eq!(
            law_name_spans("Vad säger lagen om anställningsskydd?")[0].kind,
            LawNameKind::Known("LAS")
        );
        assert!(law_names("Vad säger lagen om 2 §?").is_empty());
    }

    #[test]
    fn cited_reports_by_series() {
        let keys: Vec<String> = cited_reports(
            "NJA 2019 s. 512, AD 2021 nr 45, RÅ 2008 ref. 3, prop. 2017/18:105, SOU 2016:1, \
             direktiv 2016/680/EU, Regulation (EU) 2016/679 and Google v. Oracle",
        )
        .into_iter()
        .map(|report| report.key)
        .collect();
        assert_eq!(
            keys,
            [
                "nja 2019 512",
                "ad 2021 45",
                "rå 2008 3",
                "prop 2017/18 105",
                "sou 2016 1",
                "eu 2016 680",
                "eu 2016 679",
                "v google oracle",
            ]
        );
        assert!(
            cited_reports("75 000 kronor år 2019 enligt 2 kap. 1 § och SFS 2020:845").is_empty()
        );
    }

    #[test]
    fn instrument_names_and_their_kinds() {
        let names =
            law_name_spans("Does the GNU General Public License apply, or RF, or SFS 2009:400?");
        let found: Vec<(&str, LawNameKind)> =
            names.iter().map(|n| (n.name.as_str(), n.kind)).collect();
        assert_eq!(
            found,
            [
                ("the GNU General Public License", LawNameKind::Words),
                ("RF", LawNameKind::Known("RF")),
                ("SFS 2009:400", LawNameKind::Sfs(2009, 400)),
            ]
        );
        assert_eq!(
            law_names("Is the Space Mining Treaty in force?"),
            ["the Space Mining Treaty"]
        );
        assert_eq!(law_names("BSD 3-Clause License"), ["BSD 3-Clause License"]);
        assert_eq!(known_laws_named_by("Regeringsformen (1974:152)"), ["RF"]);
        assert_eq!(
            known_laws_named_by("Lag (1982:80) om anställningsskydd"),
            ["LAS"]
        );
    }
}
