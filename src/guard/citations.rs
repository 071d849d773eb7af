//! Citation checks: every `[n]` must name a source that was in the context.

/// One valid citation marker in the final answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CitationSpan {
    /// The cited source's 1-based index.
    pub source: u32,
    /// Start of the marker in the answer, in characters.
    pub start: u32,
    /// End of the marker (exclusive), in characters.
    pub end: u32,
}

/// The answer after the citation check.
#[derive(Debug, Clone, PartialEq)]
pub struct CitationCheck {
    /// The answer with invalid citation numbers removed.
    pub text: String,
    /// One span per valid cited number, in text order.
    pub citations: Vec<CitationSpan>,
    /// The invalid numbers that were removed, deduplicated, in order of appearance
    /// (numbers too large for `u32` appear as `u32::MAX`).
    pub removed: Vec<u32>,
}

/// Checks the citation markers of `answer` against the `source_count` sources that were in
/// the context (numbered from 1).
///
/// Markers are bracket groups of decimal numbers: `[1]`, `[1, 2]`, `[1,2,3]`, and adjacent
/// groups such as `[1][2]`. Numbers outside `1..=source_count` are removed: a group with no
/// valid number disappears together with one space before it (or after it, at the start of a
/// line); a group with some is rewritten to keep only the valid ones (`[1, 9]` → `[1]`,
/// duplicates dropped). Everything else in brackets stays as written: `[a]`, `[]`, Markdown
/// links such as `[1](https://…)` and statute references such as `[SFS 1974:152]`.
///
/// Every valid number gets a [`CitationSpan`] covering its whole group, in characters of the
/// returned text. The result is stable: checking the returned text again changes nothing.
pub fn check(answer: &str, source_count: usize) -> CitationCheck {
    let mut text = answer.to_owned();
    let mut removed: Vec<u32> = Vec::new();
    loop {
        let pass = check_once(&text, source_count);
        for number in pass.removed {
            if !removed.contains(&number) {
                removed.push(number);
            }
        }
        if !pass.changed {
            return CitationCheck {
                text: pass.text,
                citations: pass.citations,
                removed,
            };
        }
        // Each changing pass drops at least one digit, so this ends.
        text = pass.text;
    }
}

/// One scan over the text. Removing a group can make a new one appear (`[[9]1]` → `[1]`),
/// so [`check`] scans until nothing changes.
struct Pass {
    text: String,
    citations: Vec<CitationSpan>,
    removed: Vec<u32>,
    changed: bool,
}

/// A bracket group of numbers found in the text.
struct Group<'a> {
    /// Byte range of the group, brackets included.
    range: std::ops::Range<usize>,
    /// The numbers as written.
    numbers: Vec<&'a str>,
}

/// The output being built, with its length in characters.
struct Output {
    text: String,
    chars: usize,
}

impl Output {
    fn push(&mut self, text: &str) {
        self.text.push_str(text);
        self.chars += text.chars().count();
    }

    /// Drops one trailing space or tab, if there is one.
    fn pop_space(&mut self) -> bool {
        if self.text.ends_with(is_inline_space) {
            self.text.pop();
            self.chars -= 1;
            true
        } else {
            false
        }
    }

    fn at_line_start(&self) -> bool {
        self.text.is_empty() || self.text.ends_with('\n')
    }
}

fn check_once(text: &str, source_count: usize) -> Pass {
    let mut out = Output {
        text: String::with_capacity(text.len()),
        chars: 0,
    };
    let mut pass = Pass {
        text: String::new(),
        citations: Vec::new(),
        removed: Vec::new(),
        changed: false,
    };
    let mut position = 0;
    while let Some(offset) = text[position..].find('[') {
        let open = position + offset;
        out.push(&text[position..open]);
        let Some(group) = parse_group(text, open) else {
            out.push("[");
            position = open + 1;
            continue;
        };
        let (valid, invalid) = classify(&group.numbers, source_count);
        let rewritten = !invalid.is_empty() || valid.len() != group.numbers.len();
        pass.changed |= rewritten;
        pass.removed.extend(invalid);
        position = group.range.end;
        if valid.is_empty() {
            position += remove_group_spacing(&mut out, &text[position..]);
            continue;
        }
        let start = out.chars;
        if rewritten {
            out.push(&format_group(&valid));
        } else {
            out.push(&text[group.range.clone()]);
        }
        let (start, end) = (to_u32(start), to_u32(out.chars));
        pass.citations.extend(
            valid
                .into_iter()
                .map(|source| CitationSpan { source, start, end }),
        );
    }
    out.push(&text[position..]);
    pass.text = out.text;
    pass
}

/// Removes the space that would be left doubled or dangling where a group was dropped:
/// one before the group, unless a word or another group follows directly; at the start of
/// a line, one after it. Returns how many bytes of `after` to skip.
fn remove_group_spacing(out: &mut Output, after: &str) -> usize {
    let next = after.chars().next();
    let word_follows = next.is_some_and(|c| c.is_alphanumeric() || c == '[');
    if !word_follows && out.pop_space() {
        return 0;
    }
    match next {
        Some(c) if out.at_line_start() && is_inline_space(c) => c.len_utf8(),
        _ => 0,
    }
}

/// Parses the bracket group starting at byte `open` (a `[`): decimal numbers separated by
/// commas, with optional spaces, not followed by `(` (which would make it a Markdown link).
fn parse_group(text: &str, open: usize) -> Option<Group<'_>> {
    let content_start = open + 1;
    let content_len = text[content_start..]
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || is_inline_space(c)))?;
    let close = content_start + content_len;
    if !text[close..].starts_with(']') || text[close + 1..].starts_with('(') {
        return None;
    }
    let numbers: Vec<&str> = text[content_start..close]
        .split(',')
        .map(str::trim)
        .collect();
    let well_formed = numbers
        .iter()
        .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    well_formed.then_some(Group {
        range: open..close + 1,
        numbers,
    })
}

/// Splits a group's numbers into the valid ones (deduplicated) and the invalid ones.
fn classify(numbers: &[&str], source_count: usize) -> (Vec<u32>, Vec<u32>) {
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    for written in numbers {
        let number = written.parse::<u32>().unwrap_or(u32::MAX);
        let in_range = number >= 1 && usize::try_from(number).is_ok_and(|n| n <= source_count);
        match (in_range, valid.contains(&number)) {
            (true, false) => valid.push(number),
            (true, true) => {}
            (false, _) => invalid.push(number),
        }
    }
    (valid, invalid)
}

/// Writes a group in its canonical form: `[1, 2]`.
fn format_group(numbers: &[u32]) -> String {
    let joined: Vec<String> = numbers.iter().map(u32::to_string).collect();
    format!("[{}]", joined.join(", "))
}

/// Spaces that separate words on a line.
fn is_inline_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{A0}')
}

/// A character offset as stored in a [`CitationSpan`].
fn to_u32(offset: usize) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(source: u32, start: u32, end: u32) -> CitationSpan {
        CitationSpan { source, start, end }
    }

    #[test]
    fn valid_citations_are_kept_with_spans() {
        let result = check("Yttrandefrihet gäller [1]. Se även [2, 3].", 3);
        assert_eq!(result.text, "Yttrandefrihet gäller [1]. Se även [2, 3].");
        assert_eq!(
            result.citations,
            vec![span(1, 22, 25), span(2, 35, 41), span(3, 35, 41)]
        );
        assert!(result.removed.is_empty());
    }

    #[test]
    fn compact_and_adjacent_groups_are_recognised() {
        let result = check("a [1,2,3] b [1][2]", 3);
        assert_eq!(result.text, "a [1,2,3] b [1][2]");
        assert_eq!(
            result.citations,
            vec![
                span(1, 2, 9),
                span(2, 2, 9),
                span(3, 2, 9),
                span(1, 12, 15),
                span(2, 15, 18),
            ]
        );
    }

    #[test]
    fn invalid_citations_are_removed_with_their_space() {
        let result = check("Detta gäller [9]. Och detta [0] också [12][1].", 2);
        assert_eq!(result.text, "Detta gäller. Och detta också [1].");
        assert_eq!(result.removed, vec![9, 0, 12]);
        assert_eq!(result.citations, vec![span(1, 30, 33)]);
    }

    #[test]
    fn removal_leaves_no_double_spaces_or_dangling_space() {
        for (input, expected) in [
            ("word [9] next", "word next"),
            ("word [9]", "word"),
            ("word [9]next", "word next"),
            ("word[9] next", "word next"),
            ("word [9] [1].", "word [1]."),
            ("word [1] [9].", "word [1]."),
            ("[9] Start", "Start"),
            ("line\n[9] Start", "line\nStart"),
            ("a [9], b", "a, b"),
        ] {
            let result = check(input, 1);
            assert_eq!(result.text, expected, "{input}");
            assert!(!result.text.contains("  "), "{input}");
        }
    }

    #[test]
    fn mixed_groups_keep_only_valid_numbers() {
        let result = check("Se [1, 9] och [3,2,7].", 3);
        assert_eq!(result.text, "Se [1] och [3, 2].");
        assert_eq!(result.removed, vec![9, 7]);
        assert_eq!(
            result.citations,
            vec![span(1, 3, 6), span(3, 11, 17), span(2, 11, 17)]
        );
    }

    #[test]
    fn removed_numbers_are_deduplicated_in_order() {
        let result = check("[5] a [4] b [5, 1] c [99999999999999999999]", 1);
        assert_eq!(result.removed, vec![5, 4, u32::MAX]);
        assert_eq!(result.text, "a b [1] c");
    }

    #[test]
    fn duplicates_inside_a_group_are_dropped() {
        let result = check("x [2, 2]", 2);
        assert_eq!(result.text, "x [2]");
        assert_eq!(result.citations, vec![span(2, 2, 5)]);
        assert!(result.removed.is_empty());
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let text = "Enligt 2 kap. 1 § gäller åsiktsfrihet [2].";
        let result = check(text, 2);
        let start = text.chars().position(|c| c == '[').expect("marker") as u32;
        assert_eq!(result.citations, vec![span(2, start, start + 3)]);
        assert_ne!(text.find('[').expect("marker") as u32, start);
        // After a removal the offsets refer to the returned text.
        let result = check("Å [7] § ö [1]", 1);
        assert_eq!(result.text, "Å § ö [1]");
        assert_eq!(result.citations, vec![span(1, 6, 9)]);
    }

    #[test]
    fn non_citations_are_untouched() {
        for text in [
            "[a] and [] and [ ]",
            "[text](https://example.com)",
            "[1](https://example.com/1)",
            "Se [SFS 1974:152] och [1974:152].",
            "[1,] [,1] [1 2] [-1] [1.5]",
            "[[x]]",
        ] {
            let result = check(text, 5);
            assert_eq!(result.text, text);
            assert!(result.citations.is_empty(), "{text}");
            assert!(result.removed.is_empty(), "{text}");
        }
    }

    #[test]
    fn no_sources_means_every_marker_goes() {
        let result = check("Svar [1] utan källor [2, 3].", 0);
        assert_eq!(result.text, "Svar utan källor.");
        assert_eq!(result.removed, vec![1, 2, 3]);
        assert!(result.citations.is_empty());
    }

    #[test]
    fn nested_removal_settles() {
        let result = check("a [[9]1] b", 1);
        assert_eq!(result.text, "a [1] b");
        assert_eq!(result.citations, vec![span(1, 2, 5)]);
        assert_eq!(result.removed, vec![9]);
    }

    #[test]
    fn checking_twice_changes_nothing() {
        for (text, sources) in [
            ("Detta [1, 9] gäller [7][2] och [3] [4].", 3),
            ("[9] början [1,1,8] slut [0]", 2),
            ("a [[9]1] b [[2]", 1),
            ("Å § [12] ö [2]", 2),
        ] {
            let first = check(text, sources);
            let second = check(&first.text, sources);
            assert_eq!(second.text, first.text, "{text}");
            assert!(second.removed.is_empty(), "{text}");
            assert_eq!(second.citations, first.citations, "{text}");
            assert!(!first.text.contains("  "), "{text}");
        }
    }
}
