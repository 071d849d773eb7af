//! The outline: where the reader stands in the document's heading hierarchy, which
//! recognised headings continue it, and the sections the document is cut into, each with
//! its structural path.
//!
//! A path is the open parts (Markdown or underlined headings, the names of bundled
//! licences), then the statute markers (`2 kap. 1 §`, joined by spaces), then a named
//! division or the chain of numbered clauses (`3. Responsibilities > 3.2. ...`), then a
//! sub-heading, joined by `" > "`.

use super::headings::{self, Clause, Heading, LegalMarker, Line, LineKind, Ordinal, SECTION};

/// What opened a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Opener {
    /// The text before the first heading.
    Preamble,
    Part,
    Division,
    Subheading,
    Legal,
    Clause,
}

/// One component of a structural path.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    label: String,
    /// Statute markers are joined with a space (`2 kap. 1 §`), the rest with `" > "`.
    legal: bool,
}

/// A structural section of the document.
#[derive(Debug, Clone)]
pub(super) struct Section {
    /// Byte offset where the section (its heading included) starts.
    pub start: usize,
    /// Byte offset after the heading lines (the start of the body).
    body_start: usize,
    /// Byte offset where the next section starts.
    pub end: usize,
    opener: Opener,
    /// Whether the heading line carries text after its marker.
    titled: bool,
    segments: Vec<Segment>,
    /// How many leading segments are parts.
    parts: usize,
}

impl Section {
    /// The path as stored with each chunk: `"Regeringsformen > 1 kap. 1 §"`,
    /// `"3. Responsibilities > 3.2. Distribution of Executable Form"`.
    pub(super) fn path_string(&self) -> String {
        let mut path = String::new();
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                let both_legal = segment.legal && self.segments[i - 1].legal;
                path.push_str(if both_legal { " " } else { " > " });
            }
            path.push_str(&segment.label);
        }
        path
    }

    /// True when `other`'s path strictly extends this section's path.
    fn is_parent_of(&self, other: &Section) -> bool {
        !self.segments.is_empty()
            && other.segments.len() > self.segments.len()
            && other.segments.starts_with(&self.segments)
    }

    /// True when `other` lies in the same part (bundled licence, Markdown section).
    fn shares_parts_with(&self, other: &Section) -> bool {
        self.parts == other.parts && self.segments[..self.parts] == other.segments[..other.parts]
    }
}

/// Cuts the document into sections at accepted headings; blank sections are dropped, a
/// trailing sub-heading moves to the statute section it introduces, and a section that
/// holds only headings joins the section that follows it.
pub(super) fn sections(text: &str) -> Vec<Section> {
    let mut sections = find_sections(text);
    sections.retain(|s| !text[s.start..s.end].trim().is_empty());
    move_trailing_headings(text, &mut sections);
    merge_heading_only_sections(text, sections)
}

fn find_sections(text: &str) -> Vec<Section> {
    let lines = headings::split_lines(text);
    let mut outline = Outline::default();
    let mut sections = Vec::new();
    let mut current = Section {
        start: 0,
        body_start: 0,
        end: text.len(),
        opener: Opener::Preamble,
        titled: false,
        segments: Vec::new(),
        parts: 0,
    };
    let mut in_fence = false;
    let mut after_rule = false;
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        i += 1;
        if is_fence(line.raw) {
            in_fence = !in_fence;
        }
        if in_fence {
            continue;
        }
        match line.kind {
            LineKind::Blank => continue,
            LineKind::Rule => {
                let underline = i >= 2 && lines[i - 2].kind == LineKind::Text;
                after_rule = after_rule || !underline;
                continue;
            }
            LineKind::Text => {}
        }
        let found = headings::recognise(&lines, i - 1, after_rule);
        after_rule = false;
        let Some(found) = found else {
            continue;
        };
        let (opener, titled) = describe(&found.heading);
        if !outline.enter(found.heading) {
            continue;
        }
        let start = section_start(&lines, i - 1);
        current.end = start;
        sections.push(current);
        let heading_end = lines[i + found.lines - 2].end;
        current = Section {
            start,
            body_start: heading_end,
            end: text.len(),
            opener,
            titled,
            segments: outline.segments(),
            parts: outline.parts.len(),
        };
        i += found.lines - 1;
    }
    sections.push(current);
    sections
}

fn describe(heading: &Heading) -> (Opener, bool) {
    match heading {
        Heading::Part { .. } => (Opener::Part, true),
        Heading::Division(_) => (Opener::Division, true),
        Heading::Subheading(_) => (Opener::Subheading, true),
        Heading::Legal(marker) => (Opener::Legal, marker.titled),
        Heading::Clause(_) => (Opener::Clause, true),
    }
}

/// Where the section of the heading at line `i` starts: at the heading, or at the rule
/// line above it (blank lines between) that introduces it: the `*****` opening the box
/// the heading is drawn in, the `-----` separating a bundled licence from the previous
/// one. A rule that closes a box or underlines a title stays where it is.
fn section_start(lines: &[Line<'_>], i: usize) -> usize {
    let introducing_rule = lines[..i]
        .iter()
        .rposition(|l| l.kind != LineKind::Blank)
        .filter(|&j| lines[j].kind == LineKind::Rule)
        .filter(|&j| j == 0 || !closes_box_or_underlines(&lines[j - 1]));
    introducing_rule.map_or(lines[i].start, |j| lines[j].start)
}

/// True for the line above a rule that makes the rule a box's bottom or an underline.
fn closes_box_or_underlines(above: &Line<'_>) -> bool {
    above.kind == LineKind::Text || (above.kind == LineKind::Blank && above.is_decorated_blank())
}

fn is_fence(line: &str) -> bool {
    let trimmed = line.trim_start();
    line.len() - trimmed.len() <= 3 && (trimmed.starts_with("```") || trimmed.starts_with("~~~"))
}

// ---------------------------------------------------------------------------
// Outline state

/// The open headings while scanning, and the numbering seen so far in the current part.
#[derive(Default)]
struct Outline {
    /// Open parts by depth.
    parts: Vec<(usize, String)>,
    /// Open statute markers by level.
    legal: Vec<(usize, String)>,
    /// Last number seen at each statute level.
    legal_last: [Option<Ordinal>; SECTION + 1],
    /// The open named division, when no clause is open.
    division: Option<String>,
    /// Open clauses, each number a strict prefix of the next.
    clauses: Vec<(Vec<u32>, String)>,
    /// The number of the last clause accepted in this part.
    last_clause: Option<Vec<u32>>,
    /// Whether this part's top-level clauses have titles (`2. Basic Permissions.`) or
    /// open paragraphs of text (`2. Subject to the terms ...`); set by the first one.
    titled_clauses: Option<bool>,
    /// A sub-heading inside the current section.
    subheading: Option<String>,
}

impl Outline {
    /// Enters a heading; returns false when it does not continue the numbering (then the
    /// line is ordinary text: a wrapped citation, a list item).
    fn enter(&mut self, heading: Heading) -> bool {
        match heading {
            Heading::Part { depth, title } => {
                self.parts.retain(|(d, _)| *d < depth);
                self.parts.push((depth, title));
                *self = Self {
                    parts: std::mem::take(&mut self.parts),
                    ..Self::default()
                };
                true
            }
            Heading::Division(title) => {
                self.legal.clear();
                self.clauses.clear();
                self.subheading = None;
                self.division = Some(title);
                true
            }
            Heading::Subheading(title) => {
                self.subheading = Some(title);
                true
            }
            Heading::Legal(marker) => self.enter_legal(marker),
            Heading::Clause(clause) => self.enter_clause(clause),
        }
    }

    fn enter_legal(&mut self, marker: LegalMarker) -> bool {
        let level = marker.level;
        if let Some(previous) = self.legal_last[level]
            && marker.ordinal <= previous
            && !marker.ordinal.is_restart()
        {
            return false;
        }
        self.legal.retain(|(l, _)| *l < level);
        self.legal.push((level, marker.label));
        self.legal_last[level] = Some(marker.ordinal);
        self.legal_last[level + 1..].fill(None);
        self.clauses.clear();
        self.division = None;
        self.subheading = None;
        true
    }

    /// Accepts a clause whose number comes after the last one (`1.7.` -> `2.`,
    /// `3.` -> `3.1.`). A top-level clause without a title must be the next number, in a
    /// part whose clauses have no titles, and the first one must be 0 or 1: so the
    /// numbered items of a list inside a titled clause stay in their clause.
    fn enter_clause(&mut self, clause: Clause) -> bool {
        let numbers = clause.numbers;
        let untitled_top = !clause.titled && numbers.len() == 1;
        let accepted = match &self.last_clause {
            None => !untitled_top || numbers[0] <= 1,
            Some(last) => {
                follows(last, &numbers)
                    && (!untitled_top
                        || (self.titled_clauses != Some(true) && numbers[0] == last[0] + 1))
            }
        };
        if !accepted {
            return false;
        }
        if numbers.len() == 1 && self.titled_clauses.is_none() {
            self.titled_clauses = Some(clause.titled);
        }
        self.clauses
            .retain(|(open, _)| open.len() < numbers.len() && numbers.starts_with(open));
        self.clauses.push((numbers.clone(), clause.label));
        self.last_clause = Some(numbers);
        self.division = None;
        self.subheading = None;
        true
    }

    fn segments(&self) -> Vec<Segment> {
        let plain = |label: &String| Segment {
            label: label.clone(),
            legal: false,
        };
        let parts = self.parts.iter().map(|(_, title)| plain(title));
        let legal = self.legal.iter().map(|(_, label)| Segment {
            label: label.clone(),
            legal: true,
        });
        let clauses = self.clauses.iter().map(|(_, label)| plain(label));
        parts
            .chain(legal)
            .chain(self.division.iter().map(plain))
            .chain(clauses)
            .chain(self.subheading.iter().map(plain))
            .collect()
    }
}

/// True when clause number `next` comes after `last`: a child of it (`3.` -> `3.1.`), or
/// a greater number at the first level where they differ (`1.14.` -> `2.`,
/// `10.3.` -> `10.4.`).
fn follows(last: &[u32], next: &[u32]) -> bool {
    let common = last.iter().zip(next).take_while(|(a, b)| a == b).count();
    if common == next.len() {
        return false;
    }
    common == last.len() || next[common] > last[common]
}

// ---------------------------------------------------------------------------
// Adjusting sections

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
/// `1 §` and `2 §`) to the start of the following statute section.
fn move_trailing_headings(text: &str, sections: &mut [Section]) {
    for i in 1..sections.len() {
        let (before, after) = sections.split_at_mut(i);
        let (current, next) = (&mut before[i - 1], &mut after[0]);
        if current.opener == Opener::Preamble || next.opener != Opener::Legal {
            continue;
        }
        if let Some(start) = trailing_heading_start(text, current) {
            current.end = start;
            next.start = start;
        }
    }
}

/// Start of the section's last paragraph when it is a lone heading-like line
/// preceded by a blank line and by other content of the section.
fn trailing_heading_start(text: &str, section: &Section) -> Option<usize> {
    let body = text[section.body_start..section.end].trim_end();
    let line_start = body.rfind('\n').map_or(0, |i| i + 1);
    if !is_heading_like(&body[line_start..]) {
        return None;
    }
    let before = &body[..line_start];
    if !ends_with_blank_line(before) {
        return None;
    }
    let has_other_content = section.titled || !before.trim().is_empty();
    has_other_content.then_some(section.body_start + line_start)
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

/// A section holding only headings joins the following section when that one is its
/// child (`2 kap.` and its title before `1 §`), or, for a division or sub-heading, when
/// it lies in the same part (`TERMS AND CONDITIONS` before `0. Definitions.`).
fn merge_heading_only_sections(text: &str, sections: Vec<Section>) -> Vec<Section> {
    let mut merged: Vec<Section> = Vec::with_capacity(sections.len());
    let mut pending_start: Option<usize> = None;
    let mut iter = sections.into_iter().peekable();
    while let Some(mut section) = iter.next() {
        if let Some(start) = pending_start.take() {
            section.start = start;
        }
        let absorb = iter.peek().is_some_and(|next| {
            let joins = section.is_parent_of(next)
                || (matches!(section.opener, Opener::Division | Opener::Subheading)
                    && section.shares_parts_with(next));
            joins && is_heading_only(text, &section)
        });
        if absorb {
            pending_start = Some(section.start);
        } else {
            merged.push(section);
        }
    }
    merged
}

fn is_heading_only(text: &str, section: &Section) -> bool {
    if section.opener == Opener::Preamble {
        return false;
    }
    let marker_line =
        &text[section.start.max(line_start_of(text, section.body_start))..section.body_start];
    let marker_ok = marker_line.len() <= 120 && marker_line.split_whitespace().count() <= 12;
    let body = text.get(section.body_start..section.end).unwrap_or("");
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
