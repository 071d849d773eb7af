//! Packing a section into chunks within the token budget: a section that fits is one
//! chunk; a longer one is cut into paragraphs, a paragraph that does not fit into
//! sentences, then words, then characters, and the pieces are packed greedily in order
//! (a heading with the first sentences of its body) with a small last chunk rebalanced.

use super::TokenBudget;
use crate::text::sentences;

/// Sanitised limits of one section's chunks (at least one token, min <= max).
pub(super) struct Limits {
    max: usize,
    min: usize,
}

impl Limits {
    /// Limits from a budget's maximum and minimum.
    pub(super) fn new(max: usize, min: usize) -> Self {
        let max = max.max(1);
        Self {
            max,
            min: min.min(max),
        }
    }
}

/// Appends the trimmed byte ranges of `text[start..end]`'s chunks to `out` (nothing for a
/// blank section).
pub(super) fn split_section(
    text: &str,
    start: usize,
    end: usize,
    budget: &dyn TokenBudget,
    limits: &Limits,
    out: &mut Vec<(usize, usize)>,
) {
    let trimmed = sentences::trimmed(text, start..end);
    let (start, end) = (trimmed.start, trimmed.end);
    if start < end {
        let mut units = Vec::new();
        collect_units(
            text,
            start,
            end,
            Level::Paragraph,
            budget,
            limits.max,
            &mut units,
        );
        pack(&units, limits, out);
    }
}

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

/// A piece of text within budget and its token count.
#[derive(Debug, Clone, Copy)]
struct Unit {
    start: usize,
    end: usize,
    tokens: usize,
    /// A piece of a word cut by characters: never packed with its neighbours, whose
    /// tokens would not simply add up across the cut.
    alone: bool,
}

/// Appends the units of `[start, end)`: the range itself when it fits, else its pieces at
/// `level`, each cut finer in turn when it does not fit.
fn collect_units(
    text: &str,
    start: usize,
    end: usize,
    level: Level,
    budget: &dyn TokenBudget,
    max: usize,
    out: &mut Vec<Unit>,
) {
    let tokens = budget.count(&text[start..end]);
    if tokens <= max {
        out.push(Unit {
            start,
            end,
            tokens,
            alone: false,
        });
        return;
    }
    let ranges = match level {
        Level::Paragraph => paragraph_ranges(text, start, end),
        Level::Sentence => sentences::ranges_within(text, start..end)
            .into_iter()
            .map(|range| (range.start, range.end))
            .collect(),
        Level::Word => word_ranges(text, start, end),
        Level::Char => return hard_split(text, start, end, budget, max, out),
    };
    for (s, e) in ranges {
        collect_units(text, s, e, level.finer(), budget, max, out);
    }
}

/// Consecutive units packed into one chunk: first and last unit, tokens.
#[derive(Debug, Clone, Copy)]
struct Group {
    first: usize,
    last: usize,
    tokens: usize,
    alone: bool,
}

/// Greedily packs consecutive units into chunks within budget. Units are separated by
/// whitespace, so a chunk counts the sum of its units' tokens.
fn pack(units: &[Unit], limits: &Limits, out: &mut Vec<(usize, usize)>) {
    let mut groups: Vec<Group> = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        match groups.last_mut() {
            Some(group)
                if !group.alone && !unit.alone && group.tokens + unit.tokens <= limits.max =>
            {
                group.last = i;
                group.tokens += unit.tokens;
            }
            _ => groups.push(Group {
                first: i,
                last: i,
                tokens: unit.tokens,
                alone: unit.alone,
            }),
        }
    }
    rebalance_tail(&mut groups, units, limits);
    out.extend(
        groups
            .iter()
            .map(|group| (units[group.first].start, units[group.last].end)),
    );
}

/// Moves units from the second-to-last group into a too-small last group.
fn rebalance_tail(groups: &mut [Group], units: &[Unit], limits: &Limits) {
    let [.., previous, last] = groups else {
        return;
    };
    if previous.alone || last.alone {
        return;
    }
    while last.tokens < limits.min && previous.last > previous.first {
        let moved = units[previous.last].tokens;
        if last.tokens + moved > limits.max || previous.tokens - moved < limits.min {
            break;
        }
        previous.last -= 1;
        previous.tokens -= moved;
        last.first -= 1;
        last.tokens += moved;
    }
}

/// Paragraphs: runs of non-blank lines.
fn paragraph_ranges(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut units = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    let mut offset = start;
    for line in text[start..end].split_inclusive('\n') {
        let (s, content_end) = (offset, offset + line.trim_end_matches(['\n', '\r']).len());
        offset += line.len();
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
        .map(|(s, e)| sentences::trimmed(text, s..e))
        .filter(|range| !range.is_empty())
        .map(|range| (range.start, range.end))
        .collect()
}

/// Whitespace-separated words.
fn word_ranges(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
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

/// Longest piece a character split looks at, in characters per token of budget: bounds
/// the cost of splitting one enormous word.
const CHARS_PER_TOKEN_WINDOW: usize = 32;

/// Cuts a single over-long word into pieces of at most `max` tokens: each piece is the
/// longest prefix (by binary search over char boundaries, at least one char) that fits.
fn hard_split(
    text: &str,
    start: usize,
    end: usize,
    budget: &dyn TokenBudget,
    max: usize,
    out: &mut Vec<Unit>,
) {
    let mut piece_start = start;
    while piece_start < end {
        let boundaries: Vec<usize> = text[piece_start..end]
            .char_indices()
            .skip(1)
            .map(|(i, _)| piece_start + i)
            .chain(std::iter::once(end))
            .take(max.saturating_mul(CHARS_PER_TOKEN_WINDOW).max(1))
            .collect();
        let fits = |&b: &usize| budget.count(&text[piece_start..b]) <= max;
        // `boundaries[..fitting]` fit; at least the first char is always taken.
        let fitting = boundaries.partition_point(fits).max(1);
        let piece_end = boundaries[fitting - 1];
        out.push(Unit {
            start: piece_start,
            end: piece_end,
            tokens: budget.count(&text[piece_start..piece_end]),
            alone: true,
        });
        piece_start = piece_end;
    }
}
