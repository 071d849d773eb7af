//! Heading recognition: which lines open a section and what the section is called.
//!
//! A line is looked at with its neighbours, because real licence texts mark headings by
//! layout as much as by wording: a line that stands alone between blank lines, an
//! underline of `---` or `===`, a box of `*` around the heading, a rule line before a
//! bundled licence's name. Recognition is local and permissive; the
//! [`outline`](super::outline) then rejects numbers that do not continue the document's
//! numbering (a wrapped line that happens to start with `3.2 of the License`).

use regex::{Captures, Regex};
use std::sync::LazyLock;

use crate::text::sentences::is_abbreviation;

/// Hierarchy level of a chapter-like marker (`N kap.`, `Chapter N`).
pub(super) const CHAPTER: usize = 1;
/// Hierarchy level of an article-like marker (`Article N`, `Art. N`).
pub(super) const ARTICLE: usize = 2;
/// Hierarchy level of a section-like marker (`N §`, `Section N`).
pub(super) const SECTION: usize = 3;

/// Longest heading text taken as a title, in characters.
const MAX_TITLE_CHARS: usize = 100;
/// Most words in a title.
const MAX_TITLE_WORDS: usize = 12;
/// Longest label of a compendium member taken from its first line, in characters.
const MAX_MEMBER_LABEL_CHARS: usize = 80;
/// Most words of a clause title with its body on the next line and no blank line between.
const MAX_RUN_IN_TITLE_WORDS: usize = 6;
/// Indentation from which a stand-alone Title-Cased line counts as centred.
const CENTRED_INDENT: usize = 8;

/// What a line is once box decoration (`*  text  *`) is stripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LineKind {
    /// Nothing but whitespace or decoration.
    Blank,
    /// A rule of one repeated character: `-----`, `=====`, `*****`, `___`.
    Rule,
    /// Anything else.
    Text,
}

/// One line of the document.
#[derive(Debug)]
pub(super) struct Line<'a> {
    /// Byte offset of the line's first character.
    pub start: usize,
    /// Byte offset after the line terminator.
    pub end: usize,
    /// The line without its terminator.
    pub raw: &'a str,
    /// The line with box decoration and surrounding whitespace removed.
    pub text: &'a str,
    /// What the line is.
    pub kind: LineKind,
}

impl Line<'_> {
    /// A blank line drawn with decoration (`*        *`), as inside a box.
    pub(super) fn is_decorated_blank(&self) -> bool {
        self.kind == LineKind::Blank && !self.raw.trim().is_empty()
    }

    /// Depth of a setext heading that this line underlines: `===` 1, `---` 2.
    fn underline_depth(&self) -> Option<usize> {
        if self.kind != LineKind::Rule {
            return None;
        }
        match self.text.as_bytes()[0] {
            b'=' if !self.text.contains(' ') => Some(1),
            b'-' if !self.text.contains(' ') => Some(2),
            _ => None,
        }
    }
}

/// The document's lines, with their kinds.
pub(super) fn split_lines(text: &str) -> Vec<Line<'_>> {
    let mut offset = 0;
    text.split_inclusive('\n')
        .map(|line| {
            let start = offset;
            offset += line.len();
            let raw = line.trim_end_matches(['\n', '\r']);
            let (text, kind) = classify_line(raw);
            Line {
                start,
                end: offset,
                raw,
                text,
                kind,
            }
        })
        .collect()
}

fn classify_line(raw: &str) -> (&str, LineKind) {
    let trimmed = raw.trim();
    if is_rule(trimmed) {
        return (trimmed, LineKind::Rule);
    }
    let text = strip_box(trimmed);
    if text.is_empty() {
        (text, LineKind::Blank)
    } else if is_rule(text) {
        (text, LineKind::Rule)
    } else {
        (text, LineKind::Text)
    }
}

/// `*  6. Disclaimer of Warranty  *` -> `6. Disclaimer of Warranty`.
fn strip_box(trimmed: &str) -> &str {
    if trimmed.len() >= 2 && trimmed.starts_with('*') && trimmed.ends_with('*') {
        trimmed.trim_matches('*').trim()
    } else {
        trimmed
    }
}

/// At least three of one of `-=*_`, possibly spaced (`- - -`).
fn is_rule(trimmed: &str) -> bool {
    let mut marks = trimmed.chars().filter(|c| *c != ' ');
    let Some(first) = marks.next() else {
        return false;
    };
    matches!(first, '-' | '=' | '*' | '_')
        && marks.clone().all(|c| c == first)
        && marks.count() >= 2
}

/// A recognised heading.
#[derive(Debug)]
pub(super) enum Heading {
    /// A titled part: a Markdown or underlined heading, a bundled licence's name.
    Part { depth: usize, title: String },
    /// A named division of a licence that closes its clauses: `Preamble`,
    /// `TERMS AND CONDITIONS`, `END OF TERMS AND CONDITIONS`, `APPENDIX`, `Exhibit A`.
    Division(String),
    /// A stand-alone title inside the current section (centred, all capitals, `Key: value`
    /// underlined).
    Subheading(String),
    /// A statute marker: `2 kap.`, `3 a §`, `Article 6`, `Section 2`.
    Legal(LegalMarker),
    /// A numbered clause: `3.`, `3.2.`, `1.0.1.`, `3.2 Title`.
    Clause(Clause),
}

/// A numbered clause heading.
#[derive(Debug)]
pub(super) struct Clause {
    /// The clause number's parts: `3.2.` -> `[3, 2]`.
    pub numbers: Vec<u32>,
    /// The path label: `"3. Responsibilities"`, `"6. Conveying Non-Source Forms."`, `"5.1."`.
    pub label: String,
    /// Whether the heading has a title (else the number opens a paragraph of text).
    pub titled: bool,
}

/// A recognised legal marker such as `2 kap.` or `Article 6`.
#[derive(Debug)]
pub(super) struct LegalMarker {
    /// [`CHAPTER`], [`ARTICLE`] or [`SECTION`].
    pub level: usize,
    /// The path label: `"2 kap."`, `"3 a §"`, `"Article I"`.
    pub label: String,
    /// Sort key of the number.
    pub ordinal: Ordinal,
    /// Whether the marker line carries text after the marker itself.
    pub titled: bool,
}

/// Sort key of a marker number, used to reject out-of-order false positives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Ordinal {
    number: u32,
    letter: u8,
}

impl Ordinal {
    fn new(number: u32, letter: Option<char>) -> Self {
        let letter = letter.map_or(0, |c| c as u8);
        Self { number, letter }
    }

    /// Numbering that may legitimately start over (`1 §`, `Article 1`).
    pub(super) fn is_restart(self) -> bool {
        self.number <= 1 && self.letter == 0
    }
}

/// A heading and the number of lines it occupies (an underline included).
#[derive(Debug)]
pub(super) struct Found {
    pub heading: Heading,
    pub lines: usize,
}

impl Found {
    fn one_line(heading: Heading) -> Self {
        Self { heading, lines: 1 }
    }
}

/// Recognises a heading starting at line `i`. `after_rule`: only blank lines separate it
/// from a rule line, as a bundled licence's name follows the rule that separates it from
/// the previous one.
pub(super) fn recognise(lines: &[Line<'_>], i: usize, after_rule: bool) -> Option<Found> {
    let line = &lines[i];
    if line.kind != LineKind::Text {
        return None;
    }
    if starts_with_hash(line) {
        // Adjacent `# ...` lines are a comment block, not headings.
        let neighbours = [i.checked_sub(1), Some(i + 1)];
        let in_block = neighbours
            .into_iter()
            .flatten()
            .any(|j| lines.get(j).is_some_and(starts_with_hash));
        return (!in_block)
            .then(|| markdown_heading(line.raw))
            .flatten()
            .map(Found::one_line);
    }
    let paragraph_start = i == 0 || lines[i - 1].kind != LineKind::Text;
    if let Some(found) = underlined(lines, i, paragraph_start) {
        return Some(found);
    }
    if let Some(name) = compendium_name(lines, i) {
        return Some(Found::one_line(Heading::Part {
            depth: 1,
            title: name,
        }));
    }
    if let Some(marker) = legal_marker(line.text) {
        return Some(Found::one_line(Heading::Legal(marker)));
    }
    let standalone = stands_alone(lines, i);
    let layout = Layout {
        heading_line: standalone || hangs_body(lines, i),
        body_follows: lines
            .get(i + 1)
            .is_some_and(|next| next.text.starts_with(char::is_uppercase)),
    };
    if !paragraph_start {
        return run_in_clause(lines, i, layout).map(|c| Found::one_line(Heading::Clause(c)));
    }
    if let Some(clause) = clause(line.text, layout, follows_lead_in(lines, i)) {
        return Some(Found::one_line(Heading::Clause(clause)));
    }
    if standalone && let Some(title) = division(line.text) {
        return Some(Found::one_line(Heading::Division(title)));
    }
    if standalone && is_title_line(line) {
        let title = collapse_whitespace(line.text);
        return Some(Found::one_line(if after_rule {
            Heading::Part { depth: 1, title }
        } else {
            Heading::Subheading(title)
        }));
    }
    if after_rule {
        return member_label(line.text)
            .map(|title| Found::one_line(Heading::Part { depth: 1, title }));
    }
    None
}

fn starts_with_hash(line: &Line<'_>) -> bool {
    line.raw.trim_start().starts_with('#')
}

/// True when the line at `i` is a paragraph of its own: a blank line, a rule or the end
/// follows.
fn stands_alone(lines: &[Line<'_>], i: usize) -> bool {
    lines
        .get(i + 1)
        .is_none_or(|next| next.kind != LineKind::Text)
}

/// How a line sits among its neighbours, for telling a clause title from text.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Alone in its paragraph, or above an indented body.
    heading_line: bool,
    /// The next line starts with a capital (a body that follows without a blank line).
    body_follows: bool,
}

impl Layout {
    /// A line known to be a heading by its layout (underlined, Markdown).
    const HEADING: Self = Self {
        heading_line: true,
        body_follows: false,
    };
}

/// A dotted clause title with no blank line above it, after a line that ends a sentence
/// (`...at any time.` / `1.5 Updates`): accepted only titled, short and dotted.
fn run_in_clause(lines: &[Line<'_>], i: usize, layout: Layout) -> Option<Clause> {
    let previous_ends = lines[i - 1].text.ends_with(['.', ':', ';']);
    let clause = clause(lines[i].text, layout, false)?;
    let short = lines[i].text.split_whitespace().count() <= MAX_RUN_IN_TITLE_WORDS + 1;
    (previous_ends && short && clause.titled && clause.numbers.len() >= 2).then_some(clause)
}

/// True when the line after line `i` is indented deeper, as the body of a definition
/// hangs under its term (`1.1. "Contributor"` / `    means ...`).
fn hangs_body(lines: &[Line<'_>], i: usize) -> bool {
    let indent = |line: &Line<'_>| line.raw.len() - line.raw.trim_start().len();
    lines
        .get(i + 1)
        .is_some_and(|next| next.kind == LineKind::Text && indent(next) > indent(&lines[i]))
}

/// True when the paragraph before line `i` ends with `:` (it introduces a list).
fn follows_lead_in(lines: &[Line<'_>], i: usize) -> bool {
    lines[..i]
        .iter()
        .rev()
        .find(|l| l.kind != LineKind::Blank)
        .is_some_and(|l| l.kind == LineKind::Text && l.text.ends_with(':'))
}

// ---------------------------------------------------------------------------
// Layout headings: underlined, Markdown, compendium members

/// A heading of one or two lines underlined with `===` or `---`.
fn underlined(lines: &[Line<'_>], i: usize, paragraph_start: bool) -> Option<Found> {
    if !paragraph_start {
        return None;
    }
    if let Some(depth) = lines.get(i + 1).and_then(Line::underline_depth) {
        let heading = underlined_heading(&collapse_whitespace(lines[i].text), depth)?;
        return Some(Found { heading, lines: 2 });
    }
    let second = lines.get(i + 1)?;
    let depth = lines.get(i + 2).and_then(Line::underline_depth)?;
    if second.kind != LineKind::Text {
        return None;
    }
    let joined = collapse_whitespace(&format!("{} {}", lines[i].text, second.text));
    let heading = underlined_heading(&joined, depth)?;
    Some(Found { heading, lines: 3 })
}

/// What an underlined title is: a clause, a legal marker or a division by its words, a
/// sub-heading when it reads `Key: value`, else a part of that depth.
fn underlined_heading(title: &str, depth: usize) -> Option<Heading> {
    if title.chars().count() > 2 * MAX_TITLE_CHARS || is_copyright(title) {
        return None;
    }
    if let Some(marker) = legal_marker(title) {
        return Some(Heading::Legal(marker));
    }
    if let Some(clause) = clause(title, Layout::HEADING, false) {
        return Some(Heading::Clause(clause));
    }
    if let Some(name) = division(title) {
        return Some(Heading::Division(name));
    }
    if title.contains(": ") || title.ends_with(':') {
        return Some(Heading::Subheading(title.to_string()));
    }
    Some(Heading::Part {
        depth,
        title: title.to_string(),
    })
}

static MARKDOWN_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^ {0,3}(?P<hashes>#{1,6})[ \t]+(?P<title>.*?)(?:[ \t]+#+)?[ \t]*$")
        .expect("valid regex")
});

/// A Markdown heading; one whose title is a legal marker (`## Article 5`, `# 2 kap. Titel`)
/// or a numbered clause (`## 3. Responsibilities`) counts as that.
fn markdown_heading(line: &str) -> Option<Heading> {
    let caps = MARKDOWN_HEADING.captures(line)?;
    let title = caps.name("title")?.as_str().trim();
    if let Some(marker) = legal_marker(title) {
        return Some(Heading::Legal(marker));
    }
    if let Some(clause) = clause(title, Layout::HEADING, false) {
        return Some(Heading::Clause(clause));
    }
    (!title.is_empty()).then(|| Heading::Part {
        depth: caps["hashes"].len(),
        title: title.to_string(),
    })
}

/// `Name: OpenBLAS` opening a `Name:` / `Files:` / `License:` block of a bundled licence.
fn compendium_name(lines: &[Line<'_>], i: usize) -> Option<String> {
    let name = lines[i].raw.strip_prefix("Name:")?.trim();
    let described = lines[i + 1..]
        .iter()
        .take(4)
        .any(|l| l.raw.starts_with("License:") || l.raw.starts_with("Files:"));
    (described && !name.is_empty()).then(|| collapse_whitespace(name))
}

/// The label of a bundled licence introduced by a rule and a line of prose
/// (`Patches that were taken from the Diofant project (https://...)`): the line up to a
/// parenthesis, without final punctuation, at most [`MAX_MEMBER_LABEL_CHARS`].
fn member_label(text: &str) -> Option<String> {
    if is_copyright(text) || text.split_whitespace().count() > MAX_TITLE_WORDS {
        return None;
    }
    let cut = text
        .match_indices(" (")
        .map(|(i, _)| i)
        .find(|&i| text[..i].split_whitespace().count() >= 3)
        .unwrap_or(text.len());
    let label = text[..cut].trim_end_matches([':', ',', ';', '.', ' ']);
    let mut label = collapse_whitespace(label);
    if label.chars().count() > MAX_MEMBER_LABEL_CHARS {
        let end = label
            .char_indices()
            .take_while(|&(i, _)| i <= MAX_MEMBER_LABEL_CHARS)
            .filter(|&(_, c)| c == ' ')
            .last()
            .map_or(MAX_MEMBER_LABEL_CHARS, |(i, _)| i);
        label.truncate(end);
    }
    (label.chars().filter(|c| c.is_alphabetic()).count() >= 2).then_some(label)
}

// ---------------------------------------------------------------------------
// Divisions and stand-alone titles

/// Divisions named by a phrase: a licence's, and the transitional provisions that close a
/// Swedish statute (`Övergångsbestämmelser`, `Ikraftträdande- och övergångsbestämmelser`).
const NAMED_DIVISIONS: &[&str] = &[
    "preamble",
    "preface",
    "terms and conditions",
    "end of terms and conditions",
    "övergångsbestämmelser",
    "ikraftträdande- och övergångsbestämmelser",
    "ikraftträdandebestämmelser",
];
/// Divisions named by a word and an optional letter or title (`Exhibit A`, `APPENDIX:`).
const LETTERED_DIVISIONS: &[&str] = &["appendix", "exhibit", "schedule", "annex", "attachment"];

/// A named division such as `TERMS AND CONDITIONS FOR USE, ...` or `Exhibit A - ...`.
fn division(text: &str) -> Option<String> {
    if !text.starts_with(|c: char| c.is_uppercase()) || text.chars().count() > MAX_TITLE_CHARS {
        return None;
    }
    let lower = text.to_lowercase();
    let ends_word = |rest: &str| rest.is_empty() || rest.starts_with([' ', ':', ',', '.', '-']);
    let named = NAMED_DIVISIONS
        .iter()
        .chain(LETTERED_DIVISIONS)
        .any(|name| lower.strip_prefix(name).is_some_and(ends_word));
    named.then(|| collapse_whitespace(text.trim_end_matches(['.', ':', ' '])))
}

/// A stand-alone line that reads as a title: all capitals (`NO WARRANTY`) or centred and
/// Title-Cased (`How to Apply These Terms to Your New Programs`).
fn is_title_line(line: &Line<'_>) -> bool {
    let text = line.text;
    if !text.starts_with(char::is_alphanumeric)
        || text.chars().count() > MAX_TITLE_CHARS
        || text.split_whitespace().count() > MAX_TITLE_WORDS
        || text.ends_with(['.', ',', ';', ':'])
        || is_copyright(text)
    {
        return false;
    }
    let letters = || text.chars().filter(|c| c.is_alphabetic());
    let all_capitals = letters().count() >= 4
        && letters().all(char::is_uppercase)
        && text
            .split_whitespace()
            .any(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 3);
    let indent = line.raw.len() - line.raw.trim_start().len();
    all_capitals || (indent >= CENTRED_INDENT && is_title(text))
}

/// Copyright and rights lines are never titles.
fn is_copyright(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "copyright",
        "(c)",
        "©",
        "all rights reserved",
        "portions copyright",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
}

// ---------------------------------------------------------------------------
// Numbered clauses

static CLAUSE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<num>\d{1,3}(?:\.\d{1,3}){0,4})(?P<dot>\.)?(?:\s+(?P<rest>\S.*))?$")
        .expect("valid regex")
});

/// A numbered clause: `6. Conveying Non-Source Forms.`, `3. Responsibilities` (alone, above
/// an indented body, or short above its body), `4. Redistribution. You may ...`,
/// `3.2 Distribution of Executable Form`, or an
/// untitled `5.1. The rights ...` / `1. This LICENSE AGREEMENT ...`. A single number
/// after a lead-in ending in `:` is a list item, and a number without a final dot needs
/// a dotted number and a stand-alone title (`3 of the License`, `2004 and later` and
/// `3.1, as published` are text).
fn clause(text: &str, layout: Layout, after_lead_in: bool) -> Option<Clause> {
    let caps = CLAUSE_NUMBER.captures(text)?;
    let num = &caps["num"];
    let dotted = caps.name("dot").is_some();
    let numbers = num
        .split('.')
        .map(|n| n.parse().ok())
        .collect::<Option<Vec<u32>>>()?;
    let number = if dotted {
        format!("{num}.")
    } else {
        num.to_string()
    };
    let titled = |title: &str| Clause {
        numbers: numbers.clone(),
        label: format!("{number} {title}"),
        titled: true,
    };
    let Some(rest) = caps.name("rest").map(|m| m.as_str().trim_end()) else {
        return dotted.then(|| Clause {
            numbers: numbers.clone(),
            label: number.clone(),
            titled: false,
        });
    };
    if !dotted && numbers.len() < 2 {
        return None;
    }
    if let Some(heading) = clause_heading(rest) {
        return Some(titled(heading));
    }
    let title_layout = layout.heading_line
        || (layout.body_follows && rest.split_whitespace().count() <= MAX_RUN_IN_TITLE_WORDS);
    if title_layout && is_title(rest) && !rest.ends_with([',', ';', ':']) {
        return Some(titled(&collapse_whitespace(rest)));
    }
    let opens_sentence = rest
        .chars()
        .find(|c| !matches!(c, '"' | '“' | '\'' | '('))
        .is_some_and(char::is_uppercase);
    let list_item = numbers.len() == 1 && after_lead_in;
    (dotted && opens_sentence && !list_item).then_some(Clause {
        numbers,
        label: number,
        titled: false,
    })
}

/// The Title-Cased heading (ending in '.', not an abbreviation's) at the start of a
/// clause line.
fn clause_heading(rest: &str) -> Option<&str> {
    let end = rest
        .char_indices()
        .filter(|&(i, c)| c == '.' && rest[i + 1..].chars().next().is_none_or(char::is_whitespace))
        .map(|(i, _)| i)
        .find(|&i| {
            let word_start = rest[..i].rfind(char::is_whitespace).map_or(0, |w| w + 1);
            !is_abbreviation(&rest[word_start..i])
        })?;
    let heading = &rest[..=end];
    (is_title(&rest[..end]) && heading.len() <= MAX_TITLE_CHARS).then_some(heading)
}

/// Words allowed in lower case inside a Title-Cased heading.
const SMALL_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the",
    "this", "to", "under", "with", "without",
];

/// True for a short run of words that starts with a capital and has only capitalised
/// words, numbers and small words.
fn is_title(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    let first_upper = words
        .first()
        .and_then(|w| w.chars().find(|c| c.is_alphanumeric()))
        .is_some_and(char::is_uppercase);
    first_upper
        && words.len() <= MAX_TITLE_WORDS
        && text.len() <= MAX_TITLE_CHARS
        && words.iter().all(|w| is_title_word(w))
}

/// True for a capitalised word, a number, or an allowed small word.
fn is_title_word(word: &str) -> bool {
    let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
    match bare.chars().next() {
        Some(c) if c.is_uppercase() || c.is_numeric() => true,
        Some(_) => SMALL_WORDS.contains(&bare.to_lowercase().as_str()),
        None => false,
    }
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------
// Statute markers

static SWEDISH_CHAPTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?P<num>\d{1,3})(?:\s?(?P<letter>[a-z]))?\s+kap\.(?:\s+(?P<rest>.*))?$")
        .expect("valid regex")
});
static SWEDISH_SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?P<num>\d{1,3})(?:\s?(?P<letter>[a-z]))?\s*§(?:\s+(?P<rest>.*))?$")
        .expect("valid regex")
});
static PARAGRAPH_SIGN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*§\s*(?P<num>\d{1,4})\s?(?P<letter>[a-z])?[.:]?(?:\s+(?P<rest>.*))?$")
        .expect("valid regex")
});
static ENGLISH_SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:Section\.?|SECTION\.?|Sec\.|SEC\.)\s*(?P<num>\d{1,4})(?P<letter>[A-Za-z])?[.:]?(?:\s+(?P<rest>.*))?$",
    )
    .expect("valid regex")
});
static ARTICLE_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:(?P<word>Article|ARTICLE|Artikel|ARTIKEL|Amendment|AMENDMENT)\.?\s+|(?P<abbr>Art\.)\s*)(?P<num>\d{1,4}[a-z]?|[IVXLCDM]{1,8})\b[.:]?(?:\s+(?P<rest>.*))?$",
    )
    .expect("valid regex")
});
static ENGLISH_CHAPTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:Chapter|CHAPTER)\s+(?P<num>\d{1,3}[A-Za-z]?|[IVXLCDM]{1,8})\b[.:]?(?:\s+(?P<rest>.*))?$",
    )
    .expect("valid regex")
});

/// A statute marker at the start of `text`.
fn legal_marker(text: &str) -> Option<LegalMarker> {
    match text.trim_start().chars().next()? {
        '§' => paragraph_sign(text),
        '0'..='9' => swedish_chapter(text).or_else(|| swedish_section(text)),
        'A' => article(text),
        'S' => english_section(text),
        'C' => english_chapter(text),
        _ => None,
    }
}

fn swedish_chapter(line: &str) -> Option<LegalMarker> {
    let caps = SWEDISH_CHAPTER.captures(line)?;
    // "2 kap. 3 § ..." at the start of a wrapped line is a citation.
    if rest_starts_with(&caps, |c| c.is_lowercase() || c.is_ascii_digit()) {
        return None;
    }
    let (number, letter) = number_and_letter(&caps)?;
    let label = match letter {
        Some(l) => format!("{number} {l} kap."),
        None => format!("{number} kap."),
    };
    Some(marker(CHAPTER, label, Ordinal::new(number, letter), &caps))
}

fn swedish_section(line: &str) -> Option<LegalMarker> {
    let caps = SWEDISH_SECTION.captures(line)?;
    if rest_starts_with(&caps, char::is_lowercase) {
        return None;
    }
    let (number, letter) = number_and_letter(&caps)?;
    let label = match letter {
        Some(l) => format!("{number} {l} §"),
        None => format!("{number} §"),
    };
    Some(marker(SECTION, label, Ordinal::new(number, letter), &caps))
}

fn paragraph_sign(line: &str) -> Option<LegalMarker> {
    let caps = PARAGRAPH_SIGN.captures(line)?;
    if rest_starts_with(&caps, char::is_lowercase) {
        return None;
    }
    let (number, letter) = number_and_letter(&caps)?;
    let label = format!("§ {number}{}", letter.map(String::from).unwrap_or_default());
    Some(marker(SECTION, label, Ordinal::new(number, letter), &caps))
}

fn english_section(line: &str) -> Option<LegalMarker> {
    let caps = ENGLISH_SECTION.captures(line)?;
    if rest_starts_with(&caps, char::is_lowercase) {
        return None;
    }
    let (number, letter) = number_and_letter(&caps)?;
    let suffix = caps.name("letter").map_or("", |m| m.as_str());
    let label = format!("Section {number}{suffix}");
    Some(marker(SECTION, label, Ordinal::new(number, letter), &caps))
}

fn article(line: &str) -> Option<LegalMarker> {
    let caps = ARTICLE_MARKER.captures(line)?;
    if rest_starts_with(&caps, char::is_lowercase) {
        return None;
    }
    let num = &caps["num"];
    let word = caps
        .name("word")
        .map_or_else(|| "Art.".to_string(), |w| title_case(w.as_str()));
    let ordinal = parse_ordinal(num)?;
    Some(marker(ARTICLE, format!("{word} {num}"), ordinal, &caps))
}

fn english_chapter(line: &str) -> Option<LegalMarker> {
    let caps = ENGLISH_CHAPTER.captures(line)?;
    if rest_starts_with(&caps, char::is_lowercase) {
        return None;
    }
    let num = &caps["num"];
    let ordinal = parse_ordinal(num)?;
    Some(marker(CHAPTER, format!("Chapter {num}"), ordinal, &caps))
}

fn rest_starts_with(caps: &Captures<'_>, pred: impl Fn(char) -> bool) -> bool {
    caps.name("rest")
        .and_then(|m| m.as_str().chars().next())
        .is_some_and(pred)
}

fn number_and_letter(caps: &Captures<'_>) -> Option<(u32, Option<char>)> {
    let number = caps["num"].parse().ok()?;
    let letter = caps
        .name("letter")
        .and_then(|m| m.as_str().chars().next())
        .map(|c| c.to_ascii_lowercase());
    Some((number, letter))
}

fn marker(level: usize, label: String, ordinal: Ordinal, caps: &Captures<'_>) -> LegalMarker {
    let titled = caps
        .name("rest")
        .is_some_and(|m| !m.as_str().trim().is_empty());
    LegalMarker {
        level,
        label,
        ordinal,
        titled,
    }
}

/// `"ARTICLE"` -> `"Article"`.
fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect()
    })
}

/// Parses `"12"`, `"3a"` or a Roman numeral such as `"XIV"`.
fn parse_ordinal(num: &str) -> Option<Ordinal> {
    let digits: String = num.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return roman_value(num).map(|number| Ordinal { number, letter: 0 });
    }
    let letter = num[digits.len()..]
        .bytes()
        .next()
        .map_or(0, |b| b.to_ascii_lowercase());
    Some(Ordinal {
        number: digits.parse().ok()?,
        letter,
    })
}

fn roman_value(numeral: &str) -> Option<u32> {
    let values: Option<Vec<u32>> = numeral
        .chars()
        .map(|c| match c {
            'I' => Some(1),
            'V' => Some(5),
            'X' => Some(10),
            'L' => Some(50),
            'C' => Some(100),
            'D' => Some(500),
            'M' => Some(1000),
            _ => None,
        })
        .collect();
    let values = values?;
    let total = values.iter().enumerate().fold(0i64, |acc, (i, &v)| {
        let next = values.get(i + 1).copied().unwrap_or(0);
        if v < next {
            acc - i64::from(v)
        } else {
            acc + i64::from(v)
        }
    });
    u32::try_from(total).ok().filter(|&n| n > 0)
}
