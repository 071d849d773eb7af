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
    /// Section number (`1 §`, `§ 6`, `section 4`).
    pub section: Option<u32>,
    /// Article number (`Article 6`, `Art. 6`).
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

/// English statute names: capitalised words ending in Act, Code, Regulation, ….
static ENGLISH_LAW_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:\b[Tt]he\s+)?(?:[A-Z][\p{L}'-]*\s+(?:(?:of|and|on|for|the|in)\s+)*)*\b(?:Act|Code|Regulation|Directive|Constitution|Convention|Ordinance|Statute)\b",
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
        pattern(r"§\s*(?P<s>\d{1,4})\b", false),
        pattern(r"\b(?:section\s*|sec\.\s*)(?P<s>\d{1,4})\b", false),
        pattern(
            r"\b(?:article\s*|artikel\s*|art\.\s*)(?P<a>\d{1,4})\b",
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
    article: Option<u32>,
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

/// The statute names in `text` as written (a leading "the" kept, a Swedish genitive `s`
/// dropped, SFS numbers as `SFS 1974:152`), each once, in order of appearance.
pub fn law_names(text: &str) -> Vec<String> {
    let mut spans: Vec<(usize, usize, String)> = law_mentions(text)
        .into_iter()
        .map(|law| {
            let name = if law.is_sfs {
                law.law
            } else {
                strip_genitive(&text[law.start..law.end]).to_owned()
            };
            (law.start, law.end, name)
        })
        .collect();
    spans.extend(SWEDISH_LAW_NAME.captures_iter(text).map(|captures| {
        let whole = captures.get(0).expect("whole match");
        let name = captures.name("name").expect("name group").as_str();
        (whole.start(), whole.end(), name.to_owned())
    }));
    spans.extend(
        ENGLISH_LAW_NAME
            .find_iter(text)
            .map(|found| (found.start(), found.end(), english_name(found.as_str()))),
    );
    let mut names: Vec<String> = Vec::new();
    for (_, _, name) in without_overlaps(spans, |(start, end, _)| (*start, *end)) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Whether `passage_text` or `passage_path` (e.g. `RF 2 kap. 1 §`, `GPL-3 §6`) contains
/// `reference`.
///
/// A reference with a chapter and a section needs both to match (a section in the text may
/// take its chapter from the path); a lone section or article number matches `Article N`,
/// `Section N`, `N §` and `§ N`. A reference's statute must agree with the statute the path
/// names, when it names one, and with the statute written at the matching locator. A
/// reference without a locator (an SFS number) needs its statute in the text or path.
pub fn is_mentioned(reference: &StatuteReference, passage_text: &str, passage_path: &str) -> bool {
    let path_laws = law_mentions(passage_path);
    if let Some(law) = &reference.law
        && !path_laws.is_empty()
        && !path_laws.iter().any(|mention| same_law(law, &mention.law))
    {
        return false;
    }
    if !reference.has_locator() {
        return reference.law.as_deref().is_some_and(|law| {
            names_law(passage_text, law) || path_laws.iter().any(|m| same_law(law, &m.law))
        });
    }
    let in_path = find(passage_path);
    let path_chapter = in_path.iter().rev().find_map(|found| found.chapter);
    in_path.iter().chain(&find(passage_text)).any(|found| {
        locator_matches(reference, found, path_chapter) && laws_agree(&reference.law, &found.law)
    })
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
fn laws_agree(a: &Option<String>, b: &Option<String>) -> bool {
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
            found.push(Locator {
                start: whole.start(),
                end: whole.end(),
                chapter: number("c"),
                section: number("s"),
                article: number("a"),
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
        article: None,
    }
}

/// Capitalised words that start sentences rather than statute names.
const SENTENCE_STARTERS: &str = "does do did is are was were what which who how when where why \
    can could will would should may might must under according in on of for and to see about";

/// An English statute name without the capitalised sentence start before it
/// (`Does the Act` → `the Act`), with a leading `The` lowercased.
fn english_name(matched: &str) -> String {
    let words: Vec<&str> = matched.split_whitespace().collect();
    let starter = |word: &&&str| {
        SENTENCE_STARTERS
            .split_whitespace()
            .any(|starter| word.eq_ignore_ascii_case(starter))
    };
    let skipped = words.iter().take_while(starter).count();
    let mut name = words[skipped..].join(" ");
    if let Some(rest) = name.strip_prefix("The ") {
        name = format!("the {rest}");
    }
    name
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
}
