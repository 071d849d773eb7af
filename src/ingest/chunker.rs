//! Legal-structure-aware chunking.
//!
//! A document is first cut into *sections* at structural headings (Swedish
//! `N kap.` / `N §`, English `Article N` / `Section N` / `§ N`, numbered
//! licence clauses, Markdown headings). Each section becomes one chunk when
//! it fits the token budget; otherwise it is split on paragraph, sentence,
//! word and finally character boundaries. A chunk never spans two sections,
//! so every chunk carries exactly one structural path for citation.
//!
//! All work is linear in the size of the document.

use regex::{Captures, Regex};
use std::sync::LazyLock;

/// Limits for one chunk.
#[derive(Debug, Clone, Copy)]
pub struct ChunkerConfig {
    /// Upper bound on `estimate_tokens` of a chunk's text.
    pub max_tokens: usize,
    /// Pieces of a split section smaller than this are rebalanced with
    /// their predecessor when possible. Whole sections are never merged.
    pub min_tokens: usize,
}

impl Default for ChunkerConfig {
    fn default() -> Self {
        Self {
            max_tokens: 200,
            min_tokens: 20,
        }
    }
}

/// One chunk of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Exactly the document's characters `[char_start, char_end)`.
    pub text: String,
    /// 0-based order of the chunk in the document.
    pub position: usize,
    /// Start offset in Unicode scalar values (chars), inclusive.
    pub char_start: usize,
    /// End offset in Unicode scalar values (chars), exclusive.
    pub char_end: usize,
    /// Structural path such as `"2 kap. 1 §"`, `"Article 6"` or
    /// `"Intro > Scope"`; empty when the text has no structure.
    pub path: String,
}

/// Cheap WordPiece-like token estimate.
///
/// Every run of alphanumeric characters counts `ceil(len / 6)` tokens and
/// every other non-whitespace character (punctuation, symbols, emoji)
/// counts one token.
pub fn estimate_tokens(text: &str) -> usize {
    let mut counter = TokenCounter::default();
    text.chars().for_each(|c| counter.push(c));
    counter.count
}

/// Splits `text` into chunks that follow its legal or Markdown structure.
pub fn chunk_document(text: &str, config: &ChunkerConfig) -> Vec<Chunk> {
    let limits = Limits::from(config);
    let mut spans = find_spans(text);
    move_trailing_headings(text, &mut spans);
    let spans = merge_heading_only_spans(text, spans);
    let mut pieces = Vec::new();
    for span in &spans {
        let (start, end) = trim_range(text, span.start, span.end);
        if start == end {
            continue;
        }
        let path = span.path_string();
        let mut ranges = Vec::new();
        split_range(text, start, end, Level::Paragraph, &limits, &mut ranges);
        pieces.extend(ranges.into_iter().map(|(s, e)| (s, e, path.clone())));
    }
    build_chunks(text, pieces)
}

// ---------------------------------------------------------------------------
// Token counting

/// Incremental version of [`estimate_tokens`].
#[derive(Default, Clone, Copy)]
struct TokenCounter {
    count: usize,
    run: usize,
}

impl TokenCounter {
    /// Tokens that `push(c)` would add (0 or 1).
    fn cost(&self, c: char) -> usize {
        if c.is_alphanumeric() {
            usize::from(self.run.is_multiple_of(6))
        } else {
            usize::from(!c.is_whitespace())
        }
    }

    fn push(&mut self, c: char) {
        self.count += self.cost(c);
        self.run = if c.is_alphanumeric() { self.run + 1 } else { 0 };
    }
}

/// Sanitised limits (at least one token per chunk, min <= max).
struct Limits {
    max: usize,
    min: usize,
}

impl From<&ChunkerConfig> for Limits {
    fn from(config: &ChunkerConfig) -> Self {
        let max = config.max_tokens.max(1);
        Self {
            max,
            min: config.min_tokens.min(max),
        }
    }
}

// ---------------------------------------------------------------------------
// Structural headings

/// Hierarchy level of a chapter-like marker (`N kap.`, `Chapter N`).
const CHAPTER: usize = 1;
/// Hierarchy level of an article-like marker (`Article N`, `Art. N`).
const ARTICLE: usize = 2;
/// Hierarchy level of a section-like marker (`N §`, `Section N`, clauses).
const SECTION: usize = 3;

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
static NUMBERED_CLAUSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?P<num>\d{1,3})\.\s+(?P<rest>\S.*)$").expect("valid regex"));
static MARKDOWN_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^ {0,3}(?P<hashes>#{1,6})[ \t]+(?P<title>.*?)(?:[ \t]+#+)?[ \t]*$")
        .expect("valid regex")
});

/// Words allowed in lower case inside a Title-Cased clause heading.
const SMALL_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the",
    "this", "to", "under", "with", "without",
];

/// Sort key of a marker number, used to reject out-of-order false positives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Ordinal {
    number: u32,
    letter: u8,
}

impl Ordinal {
    fn new(number: u32, letter: Option<char>) -> Self {
        let letter = letter.map_or(0, |c| c as u8);
        Self { number, letter }
    }

    /// Numbering that may legitimately start over (`0.`, `1 §`, `Article 1`).
    fn is_restart(self) -> bool {
        self.number <= 1 && self.letter == 0
    }
}

/// A recognised legal marker such as `2 kap.` or `Article 6`.
#[derive(Debug)]
struct LegalMarker {
    level: usize,
    label: String,
    ordinal: Ordinal,
    /// Whether the marker line carries text after the marker itself.
    titled: bool,
}

/// A heading line.
#[derive(Debug)]
enum Heading {
    Markdown { depth: usize, title: String },
    Legal(LegalMarker),
}

impl Heading {
    fn titled(&self) -> bool {
        match self {
            Heading::Markdown { .. } => true,
            Heading::Legal(marker) => marker.titled,
        }
    }
}

/// Recognises a heading line (without its line terminator).
fn detect_heading(line: &str) -> Option<Heading> {
    let first = line.trim_start().chars().next()?;
    match first {
        '#' => markdown_heading(line),
        '§' => paragraph_sign(line),
        '0'..='9' => swedish_chapter(line)
            .or_else(|| swedish_section(line))
            .or_else(|| numbered_clause(line)),
        'A' => article(line),
        'S' => english_section(line),
        'C' => english_chapter(line),
        _ => None,
    }
}

/// A Markdown heading; one whose title is a legal marker (`## Article 5`,
/// `# 2 kap. Titel`) counts as that legal marker.
fn markdown_heading(line: &str) -> Option<Heading> {
    let caps = MARKDOWN_HEADING.captures(line)?;
    let title = caps.name("title")?.as_str().trim();
    if let Some(legal @ Heading::Legal(_)) = detect_heading(title) {
        return Some(legal);
    }
    (!title.is_empty()).then(|| Heading::Markdown {
        depth: caps["hashes"].len(),
        title: title.to_string(),
    })
}

fn swedish_chapter(line: &str) -> Option<Heading> {
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
    legal(CHAPTER, label, Ordinal::new(number, letter), &caps)
}

fn swedish_section(line: &str) -> Option<Heading> {
    let caps = SWEDISH_SECTION.captures(line)?;
    if rest_starts_with(&caps, char::is_lowercase) {
        return None;
    }
    let (number, letter) = number_and_letter(&caps)?;
    let label = match letter {
        Some(l) => format!("{number} {l} §"),
        None => format!("{number} §"),
    };
    legal(SECTION, label, Ordinal::new(number, letter), &caps)
}

fn paragraph_sign(line: &str) -> Option<Heading> {
    let caps = PARAGRAPH_SIGN.captures(line)?;
    if rest_starts_with(&caps, char::is_lowercase) {
        return None;
    }
    let (number, letter) = number_and_letter(&caps)?;
    let label = format!("§ {number}{}", letter.map(String::from).unwrap_or_default());
    legal(SECTION, label, Ordinal::new(number, letter), &caps)
}

fn english_section(line: &str) -> Option<Heading> {
    let caps = ENGLISH_SECTION.captures(line)?;
    if rest_starts_with(&caps, char::is_lowercase) {
        return None;
    }
    let (number, letter) = number_and_letter(&caps)?;
    let suffix = caps.name("letter").map_or("", |m| m.as_str());
    let label = format!("Section {number}{suffix}");
    legal(SECTION, label, Ordinal::new(number, letter), &caps)
}

fn article(line: &str) -> Option<Heading> {
    let caps = ARTICLE_MARKER.captures(line)?;
    if rest_starts_with(&caps, char::is_lowercase) {
        return None;
    }
    let num = &caps["num"];
    let word = caps
        .name("word")
        .map_or_else(|| "Art.".to_string(), |w| title_case(w.as_str()));
    legal(ARTICLE, format!("{word} {num}"), parse_ordinal(num)?, &caps)
}

fn english_chapter(line: &str) -> Option<Heading> {
    let caps = ENGLISH_CHAPTER.captures(line)?;
    if rest_starts_with(&caps, char::is_lowercase) {
        return None;
    }
    let num = &caps["num"];
    legal(
        CHAPTER,
        format!("Chapter {num}"),
        parse_ordinal(num)?,
        &caps,
    )
}

fn numbered_clause(line: &str) -> Option<Heading> {
    let caps = NUMBERED_CLAUSE.captures(line)?;
    let heading = clause_heading(&caps["rest"])?;
    let number: u32 = caps["num"].parse().ok()?;
    let ordinal = Ordinal::new(number, None);
    legal(SECTION, format!("{number}. {heading}"), ordinal, &caps)
}

/// The Title-Cased heading (ending in '.') at the start of a clause line.
fn clause_heading(rest: &str) -> Option<&str> {
    let end = rest
        .char_indices()
        .find(|&(i, c)| c == '.' && rest[i + 1..].chars().next().is_none_or(char::is_whitespace))
        .map(|(i, _)| i)?;
    let heading = &rest[..=end];
    let words: Vec<&str> = rest[..end].split_whitespace().collect();
    let first_upper = words
        .first()
        .and_then(|w| w.chars().next())
        .is_some_and(char::is_uppercase);
    let title_cased = words.iter().all(|w| is_title_word(w));
    (first_upper && title_cased && words.len() <= 10 && heading.len() <= 100).then_some(heading)
}

/// True for a capitalised word, a number, or an allowed small word.
fn is_title_word(word: &str) -> bool {
    match word.chars().find(|c| c.is_alphanumeric()) {
        Some(c) if c.is_uppercase() || c.is_numeric() => true,
        Some(_) => SMALL_WORDS.contains(&word.to_lowercase().as_str()),
        None => false,
    }
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

fn legal(level: usize, label: String, ordinal: Ordinal, caps: &Captures<'_>) -> Option<Heading> {
    let titled = caps
        .name("rest")
        .is_some_and(|m| !m.as_str().trim().is_empty());
    Some(Heading::Legal(LegalMarker {
        level,
        label,
        ordinal,
        titled,
    }))
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

// ---------------------------------------------------------------------------
// Outline: the current position in the heading hierarchy

/// Tracks the open Markdown headings and legal markers while scanning.
#[derive(Default)]
struct Outline {
    markdown: Vec<(usize, String)>,
    legal: Vec<(usize, String)>,
    last: [Option<Ordinal>; SECTION + 1],
}

impl Outline {
    /// Enters a heading; returns false when it is rejected as out of order
    /// (then the line is ordinary text, e.g. a wrapped citation).
    fn enter(&mut self, heading: Heading) -> bool {
        match heading {
            Heading::Markdown { depth, title } => {
                self.markdown.retain(|(d, _)| *d < depth);
                self.markdown.push((depth, title));
                self.legal.clear();
                self.last = Default::default();
                true
            }
            Heading::Legal(marker) => self.enter_legal(marker),
        }
    }

    fn enter_legal(&mut self, marker: LegalMarker) -> bool {
        let level = marker.level;
        if let Some(previous) = self.last[level]
            && marker.ordinal <= previous
            && !marker.ordinal.is_restart()
        {
            return false;
        }
        self.legal.retain(|(l, _)| *l < level);
        self.legal.push((level, marker.label));
        self.last[level] = Some(marker.ordinal);
        self.last[level + 1..].fill(None);
        true
    }

    fn path(&self) -> Vec<String> {
        let markdown = self.markdown.iter().map(|(_, t)| t.clone());
        markdown
            .chain(self.legal.iter().map(|(_, l)| l.clone()))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Sections

/// What opened a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpanKind {
    Preamble,
    Markdown,
    Legal,
}

/// A structural section: byte range plus its path.
#[derive(Debug, Clone)]
struct Span {
    start: usize,
    /// End of the marker line (start of the body).
    body_start: usize,
    end: usize,
    kind: SpanKind,
    /// Whether the marker line has text after the marker.
    titled: bool,
    path: Vec<String>,
    markdown_depth: usize,
}

impl Span {
    fn path_string(&self) -> String {
        let (markdown, legal) = self.path.split_at(self.markdown_depth);
        let markdown = markdown.join(" > ");
        let legal = legal.join(" ");
        match (markdown.is_empty(), legal.is_empty()) {
            (_, true) => markdown,
            (true, false) => legal,
            (false, false) => format!("{markdown} > {legal}"),
        }
    }

    /// True when `other`'s path strictly extends this span's path.
    fn is_parent_of(&self, other: &Span) -> bool {
        !self.path.is_empty()
            && other.path.len() > self.path.len()
            && other.path.starts_with(&self.path)
    }
}

/// Iterates lines as `(start, end_without_terminator, end_with_terminator)`.
fn lines(text: &str) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let mut offset = 0;
    text.split_inclusive('\n').map(move |line| {
        let start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        (start, start + content.len(), offset)
    })
}

/// Cuts the document into sections at accepted heading lines.
fn find_spans(text: &str) -> Vec<Span> {
    let mut outline = Outline::default();
    let mut spans = Vec::new();
    let mut current = Span {
        start: 0,
        body_start: 0,
        end: text.len(),
        kind: SpanKind::Preamble,
        titled: false,
        path: Vec::new(),
        markdown_depth: 0,
    };
    let mut in_fence = false;
    for (start, content_end, end) in lines(text) {
        let line = &text[start..content_end];
        if is_fence(line) {
            in_fence = !in_fence;
        }
        if in_fence {
            continue;
        }
        let Some(heading) = detect_heading(line) else {
            continue;
        };
        let kind = match heading {
            Heading::Markdown { .. } => SpanKind::Markdown,
            Heading::Legal(_) => SpanKind::Legal,
        };
        let titled = heading.titled();
        if !outline.enter(heading) {
            continue;
        }
        current.end = start;
        spans.push(current);
        current = Span {
            start,
            body_start: end,
            end: text.len(),
            kind,
            titled,
            path: outline.path(),
            markdown_depth: outline.markdown.len(),
        };
    }
    spans.push(current);
    spans.retain(|s| !text[s.start..s.end].trim().is_empty());
    spans
}

fn is_fence(line: &str) -> bool {
    let trimmed = line.trim_start();
    line.len() - trimmed.len() <= 3 && (trimmed.starts_with("```") || trimmed.starts_with("~~~"))
}

/// A short stand-alone line that reads like a heading (no final punctuation).
fn is_heading_like(line: &str) -> bool {
    let line = line.trim();
    if line.is_empty() || line.len() > 100 {
        return false;
    }
    let starts_upper = line.chars().next().is_some_and(char::is_uppercase);
    let ends_open = !line.ends_with(['.', ',', ';', ':', '!', '?']);
    starts_upper && ends_open && line.split_whitespace().count() <= 12
}

/// Moves a trailing sub-heading paragraph (e.g. `Yttrandefrihet` between
/// `1 §` and `2 §`) to the start of the following legal section.
fn move_trailing_headings(text: &str, spans: &mut [Span]) {
    for i in 1..spans.len() {
        let (before, after) = spans.split_at_mut(i);
        let (current, next) = (&mut before[i - 1], &mut after[0]);
        if current.kind == SpanKind::Preamble || next.kind != SpanKind::Legal {
            continue;
        }
        if let Some(start) = trailing_heading_start(text, current) {
            current.end = start;
            next.start = start;
        }
    }
}

/// Start of the span's last paragraph when it is a lone heading-like line
/// preceded by a blank line and by other content of the span.
fn trailing_heading_start(text: &str, span: &Span) -> Option<usize> {
    let body = text[span.body_start..span.end].trim_end();
    let line_start = body.rfind('\n').map_or(0, |i| i + 1);
    if !is_heading_like(&body[line_start..]) {
        return None;
    }
    let before = &body[..line_start];
    if !ends_with_blank_line(before) {
        return None;
    }
    let has_other_content = span.titled || !before.trim().is_empty();
    has_other_content.then_some(span.body_start + line_start)
}

/// True when `before` (text after a line break, ending in a line break)
/// ends with a whitespace-only line.
fn ends_with_blank_line(before: &str) -> bool {
    let Some(rest) = before.strip_suffix('\n') else {
        return false;
    };
    let rest = rest.trim_end_matches([' ', '\t', '\r']);
    rest.is_empty() || rest.ends_with('\n')
}

/// A section holding only headings (e.g. `2 kap.` plus its title) is
/// merged into the following section when that section is its child.
fn merge_heading_only_spans(text: &str, spans: Vec<Span>) -> Vec<Span> {
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    let mut pending_start: Option<usize> = None;
    let mut iter = spans.into_iter().peekable();
    while let Some(mut span) = iter.next() {
        if let Some(start) = pending_start.take() {
            span.start = start;
        }
        let absorb = iter
            .peek()
            .is_some_and(|next| span.is_parent_of(next) && is_heading_only(text, &span));
        if absorb {
            pending_start = Some(span.start);
        } else {
            merged.push(span);
        }
    }
    merged
}

fn is_heading_only(text: &str, span: &Span) -> bool {
    if span.kind == SpanKind::Preamble {
        return false;
    }
    let marker_line = &text[span.start.max(line_start_of(text, span.body_start))..span.body_start];
    let marker_ok = marker_line.len() <= 120 && marker_line.split_whitespace().count() <= 12;
    let body = text.get(span.body_start..span.end).unwrap_or("");
    let mut body_lines = body.lines().filter(|l| !l.trim().is_empty());
    let mut count = 0;
    marker_ok
        && body_lines.all(|l| {
            count += 1;
            count <= 3 && is_heading_like(l)
        })
}

/// Byte offset of the start of the line that ends at `line_end`.
fn line_start_of(text: &str, line_end: usize) -> usize {
    let content = text[..line_end].trim_end_matches(['\n', '\r']);
    content.rfind('\n').map_or(0, |i| i + 1)
}

// ---------------------------------------------------------------------------
// Splitting oversize sections

/// Boundary granularity, coarsest first.
#[derive(Debug, Clone, Copy)]
enum Level {
    Paragraph,
    Sentence,
    Word,
    Char,
}

impl Level {
    fn finer(self) -> Level {
        match self {
            Level::Paragraph => Level::Sentence,
            Level::Sentence => Level::Word,
            Level::Word | Level::Char => Level::Char,
        }
    }
}

/// Appends trimmed byte ranges covering `[start, end)` within budget.
fn split_range(
    text: &str,
    start: usize,
    end: usize,
    level: Level,
    limits: &Limits,
    out: &mut Vec<(usize, usize)>,
) {
    let tokens = estimate_tokens(&text[start..end]);
    if tokens <= limits.max {
        out.push((start, end));
        return;
    }
    let units = match level {
        Level::Paragraph => paragraph_units(text, start, end),
        Level::Sentence => sentence_units(text, start, end),
        Level::Word => word_units(text, start, end),
        Level::Char => return hard_split(text, start, end, limits.max, out),
    };
    let mut run: Vec<Unit> = Vec::new();
    for (s, e) in units {
        let tokens = estimate_tokens(&text[s..e]);
        if tokens <= limits.max {
            run.push(Unit {
                start: s,
                end: e,
                tokens,
            });
            continue;
        }
        pack_run(&run, limits, out);
        run.clear();
        split_range(text, s, e, level.finer(), limits, out);
    }
    pack_run(&run, limits, out);
}

/// A boundary-delimited piece of text and its token estimate.
#[derive(Debug, Clone, Copy)]
struct Unit {
    start: usize,
    end: usize,
    tokens: usize,
}

/// Greedily packs consecutive units (each within budget) into groups.
fn pack_run(units: &[Unit], limits: &Limits, out: &mut Vec<(usize, usize)>) {
    let mut groups: Vec<(usize, usize, usize)> = Vec::new(); // first, last, tokens
    for (i, unit) in units.iter().enumerate() {
        match groups.last_mut() {
            Some(group) if group.2 + unit.tokens <= limits.max => {
                group.1 = i;
                group.2 += unit.tokens;
            }
            _ => groups.push((i, i, unit.tokens)),
        }
    }
    rebalance_tail(&mut groups, units, limits);
    out.extend(
        groups
            .iter()
            .map(|&(first, last, _)| (units[first].start, units[last].end)),
    );
}

/// Moves units from the second-to-last group into a too-small last group.
fn rebalance_tail(groups: &mut [(usize, usize, usize)], units: &[Unit], limits: &Limits) {
    let [.., previous, last] = groups else {
        return;
    };
    while last.2 < limits.min && previous.1 > previous.0 {
        let moved = units[previous.1].tokens;
        if last.2 + moved > limits.max || previous.2 - moved < limits.min {
            break;
        }
        previous.1 -= 1;
        previous.2 -= moved;
        last.0 -= 1;
        last.2 += moved;
    }
}

/// Paragraphs: runs of non-blank lines.
fn paragraph_units(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut units = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for (s, content_end, _) in lines(&text[start..end]) {
        let (s, content_end) = (start + s, start + content_end);
        if text[s..content_end].trim().is_empty() {
            units.extend(current.take());
        } else {
            let first = current.map_or(s, |(first, _)| first);
            current = Some((first, content_end));
        }
    }
    units.extend(current);
    units
        .into_iter()
        .map(|(s, e)| trim_range(text, s, e))
        .filter(|(s, e)| s < e)
        .collect()
}

/// Sentences ending in `.`, `!`, `?` or `;` followed by whitespace.
fn sentence_units(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let slice = &text[start..end];
    let mut units = Vec::new();
    let mut sentence_start = 0;
    let mut chars = slice.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !matches!(c, '.' | '!' | '?' | ';') {
            continue;
        }
        let mut stop = i + c.len_utf8();
        while let Some(&(j, q)) = chars.peek() {
            if !matches!(q, '"' | '\'' | ')' | ']' | '”' | '’' | '»') {
                break;
            }
            stop = j + q.len_utf8();
            chars.next();
        }
        let next = slice[stop..].chars().next();
        if next.is_some_and(char::is_whitespace)
            && is_sentence_end(slice, sentence_start, i, c, stop)
        {
            units.push((start + sentence_start, start + stop));
            sentence_start = stop;
        }
    }
    units.push((start + sentence_start, end));
    units
        .into_iter()
        .map(|(s, e)| trim_range(text, s, e))
        .filter(|(s, e)| s < e)
        .collect()
}

/// Abbreviations after which a '.' does not end a sentence (lower case).
const ABBREVIATIONS: &[&str] = &[
    "kap.", "t.ex.", "e.g.", "i.e.", "no.", "nr.", "art.", "sec.", "m.m.", "bl.a.", "s.k.", "jfr.",
    "dvs.", "d.v.s.", "osv.", "o.s.v.", "p.", "st.", "prop.", "sfs.", "ca.", "etc.", "vs.", "cf.",
    "ch.", "para.", "fig.", "mr.", "mrs.", "ms.", "dr.", "prof.", "inc.", "ltd.", "co.", "u.s.",
    "resp.", "f.d.", "fr.o.m.", "t.o.m.", "ang.", "enl.",
];

/// Decides whether the terminator `c` at `at` ends the sentence begun at
/// `sentence_start` (everything relative to `slice`).
fn is_sentence_end(slice: &str, sentence_start: usize, at: usize, c: char, stop: usize) -> bool {
    if c != '.' {
        return true;
    }
    let word_start = slice[sentence_start..at]
        .rfind(char::is_whitespace)
        .map_or(sentence_start, |i| sentence_start + i + 1);
    let word = slice[word_start..=at].trim_start_matches(['(', '"', '\'', '“', '«']);
    if is_abbreviation(word) {
        return false;
    }
    let next = slice[stop..].trim_start().chars().next();
    !next.is_some_and(|n| n.is_lowercase() || n.is_ascii_digit() || n == '§')
}

fn is_abbreviation(word: &str) -> bool {
    let body = &word[..word.len() - 1];
    let short_number =
        !body.is_empty() && body.len() <= 3 && body.bytes().all(|b| b.is_ascii_digit());
    let initial = body.chars().count() == 1 && body.chars().all(char::is_uppercase);
    short_number || initial || ABBREVIATIONS.contains(&word.to_lowercase().as_str())
}

/// Whitespace-separated words.
fn word_units(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let slice = &text[start..end];
    let mut units = Vec::new();
    let mut word_start: Option<usize> = None;
    for (i, c) in slice.char_indices() {
        match (c.is_whitespace(), word_start) {
            (true, Some(s)) => {
                units.push((start + s, start + i));
                word_start = None;
            }
            (false, None) => word_start = Some(i),
            _ => {}
        }
    }
    units.extend(word_start.map(|s| (start + s, end)));
    units
}

/// Cuts a single over-long word into pieces of at most `max` tokens.
fn hard_split(text: &str, start: usize, end: usize, max: usize, out: &mut Vec<(usize, usize)>) {
    let mut counter = TokenCounter::default();
    let mut piece_start = start;
    for (i, c) in text[start..end].char_indices() {
        if counter.count + counter.cost(c) > max {
            out.push((piece_start, start + i));
            piece_start = start + i;
            counter = TokenCounter::default();
        }
        counter.push(c);
    }
    if piece_start < end {
        out.push((piece_start, end));
    }
}

/// Shrinks `[start, end)` to exclude surrounding whitespace.
fn trim_range(text: &str, start: usize, end: usize) -> (usize, usize) {
    let slice = &text[start..end];
    let trimmed_start = slice.trim_start();
    let new_start = start + (slice.len() - trimmed_start.len());
    (new_start, new_start + trimmed_start.trim_end().len())
}

// ---------------------------------------------------------------------------
// Output

/// Converts ordered byte ranges into chunks with char offsets.
fn build_chunks(text: &str, pieces: Vec<(usize, usize, String)>) -> Vec<Chunk> {
    let mut byte_cursor = 0;
    let mut char_cursor = 0;
    let mut to_chars = |byte: usize| {
        char_cursor += text[byte_cursor..byte].chars().count();
        byte_cursor = byte;
        char_cursor
    };
    pieces
        .into_iter()
        .enumerate()
        .map(|(position, (start, end, path))| {
            let char_start = to_chars(start);
            let char_end = to_chars(end);
            Chunk {
                text: text[start..end].to_string(),
                position,
                char_start,
                char_end,
                path,
            }
        })
        .collect()
}
