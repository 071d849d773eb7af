//! Sentences as real documents write them.
//!
//! Hard-wrapped lines are joined: a line break inside a sentence does not end it. A blank
//! line, a rule (`-----`), a heading line, or a list marker starting a line (`(a)`, `iv)`,
//! `2.`, `3.2.`, `4 §` after a line that closed a clause; `-`, `*`, `•` always) ends one, so
//! an enumerated sub-clause such as `(a) … ; and` is a unit of its own. Within a unit a
//! sentence ends at `.`, `?` or `!` (and any closing quotes or brackets) before whitespace
//! and a word that does not start in lower case — except after an abbreviation (`e.g.`,
//! `Inc.`, `No.`, `Sec.`, `U.S.`, `kap.`, `st.`) or a leading enumerator (`1.`). Decimal
//! numbers (`3.2`, `2.0`) never end one: no whitespace follows their point. Decorations
//! are left out: rules, and the `*` borders of boxed text.
//!
//! Offsets are byte offsets into the text given; nothing here knows documents or chunks.
//! Extraction reads [`split`]'s sentences; the chunker cuts an over-long paragraph at
//! [`ranges_within`].

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// Words after which a period does not end a sentence: lower case, without the final
/// period. Runs of single letters with periods (`e.g.`, `i.e.`, `U.S.`, `v.`) need no entry.
const ABBREVIATIONS: &[&str] = &[
    "inc", "ltd", "co", "corp", "no", "nos", "nr", "sec", "secs", "art", "arts", "ch", "chap",
    "para", "paras", "pp", "cf", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "fig", "approx",
    "ca", "viz", "al", "jr", "sr", "ibid", "incl", "dept", "vol", "kap", "prop", "jfr", "dvs",
    "resp", "osv", "t.ex", "bl.a", "m.m", "s.k", "fr.o.m", "t.o.m", "ang", "enl", "f.d", "ff",
    "mom", "sfs",
];
/// Characters that may follow a sentence's final punctuation.
const CLOSING: &[char] = &['"', '\'', '”', '’', ')', ']', '»'];
/// Opening quotes that may precede a sentence's first word.
const OPENING_QUOTES: &[char] = &['"', '\'', '“', '‘', '«'];
/// Punctuation that closes a clause at the end of a line.
const CLAUSE_ENDS: &[char] = &['.', ':', ';', '!', '?'];
/// Words that may follow a clause's `;` at the end of an enumerated item (`…; and`).
const LIST_CONJUNCTIONS: &[&str] = &["and", "or", "och", "eller"];
/// Words a title leaves in lower case.
const TITLE_SMALL_WORDS: &[&str] = &[
    "a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "by", "with", "och", "i", "av",
    "för", "till", "med", "om", "på",
];
/// Lines with more words are never headings.
const HEADING_MAX_WORDS: usize = 8;

/// An enumerator at the start of a line, followed by whitespace: `(a)`, `(iv)`, `(12)`,
/// `a)`, `iv)`, `3)`, `2.`, `3.2`, `1.0.1.`, `a.`, `iv.`, `4 §`, `4 a §`, `2 kap.`.
static ENUMERATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:\((?:\d{1,3}|[a-zA-Z]|[ivxlcIVXLC]{1,7})\)|(?:\d{1,3}|[a-z]|[ivxlc]{1,7})\)|\d{1,3}\.(?:\d{1,3}\.?)*|[a-z]\.|[ivxlc]{1,7}\.|\d{1,3}(?: ?[a-z])? ?§|\d{1,3} kap\.)(?:\s|$)",
    )
    .expect("enumerator pattern")
});
/// A bullet or a Markdown heading at the start of a line: these start a unit wherever they
/// stand.
static BULLET_OR_MARKDOWN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[-*•–+·]|#{1,6})(?:\s|$)").expect("bullet pattern"));

/// A sentence, or an enumerated sub-clause, of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// Its text on each line it spans, as byte ranges of the text: trimmed, decorations
    /// left out; never empty. The first piece starts the sentence, the last ends it.
    pub pieces: Vec<Range<usize>>,
}

impl Sentence {
    /// Byte offset of its first character.
    pub fn start(&self) -> usize {
        self.pieces[0].start
    }

    /// Byte offset just after its last character.
    pub fn end(&self) -> usize {
        self.pieces[self.pieces.len() - 1].end
    }

    /// The sentence on one line: runs of whitespace and line breaks as single spaces, and
    /// no space where a line ended in a hyphen after a letter and the next starts in lower
    /// case (`non-` + `exclusive`). Equals `text[start..end]` up to whitespace, apart from
    /// box borders inside it.
    pub fn flat(&self, text: &str) -> String {
        let mut flat = String::with_capacity(self.end() - self.start());
        for piece in &self.pieces {
            let line = &text[piece.clone()];
            let hyphenated = flat.ends_with('-')
                && flat[..flat.len() - 1]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_alphabetic)
                && line.chars().next().is_some_and(char::is_lowercase);
            if !flat.is_empty() && !hyphenated {
                flat.push(' ');
            }
            for (n, word) in line.split_whitespace().enumerate() {
                if n > 0 {
                    flat.push(' ');
                }
                flat.push_str(word);
            }
        }
        flat
    }

    /// Whether it ends a clause: with `.`, `:`, `;`, `!` or `?` (before any closing quotes
    /// or brackets), or with `; and` / `; or` as an enumerated item does.
    pub fn is_closed(&self, text: &str) -> bool {
        ends_clause(&text[self.pieces[self.pieces.len() - 1].clone()])
    }

    /// Whether it reads as a heading: a few words without closing punctuation, or in
    /// title case after any enumerator (`3. Grant of Patent License.`, `Apache License,
    /// Version 2.0.`).
    pub fn is_heading(&self, text: &str) -> bool {
        let first = &text[self.pieces[0].clone()];
        let numbering = ENUMERATOR.find(first).map_or(0, |m| m.end());
        let words: Vec<&str> = text[self.start() + numbering..self.end()]
            .split_whitespace()
            .collect();
        words.len() <= HEADING_MAX_WORDS && (!self.is_closed(text) || is_title_case(&words))
    }

    /// Whether it starts like the middle of a sentence — with a lower-case word that is
    /// not an enumerator — as text cut out of a longer one does.
    pub fn looks_cut(&self, text: &str) -> bool {
        let first = &text[self.pieces[0].clone()];
        first.chars().next().is_some_and(char::is_lowercase) && !ENUMERATOR.is_match(first)
    }
}

/// The sentences of `text`, in order.
pub fn split(text: &str) -> Vec<Sentence> {
    let lines = content_lines(text);
    let mut sentences = Vec::new();
    let mut unit: Vec<Range<usize>> = Vec::new();
    let mut previous_was_heading = false;
    for (index, line) in lines.iter().enumerate() {
        let Some(range) = line else {
            split_unit(text, &unit, &mut sentences);
            unit.clear();
            previous_was_heading = false;
            continue;
        };
        let current = &text[range.clone()];
        let previous = unit.last().map(|r| &text[r.clone()]);
        let next = lines
            .get(index + 1)
            .and_then(Option::as_ref)
            .map(|r| &text[r.clone()]);
        let may_be_heading = previous.is_none_or(ends_clause);
        let heading = may_be_heading && next.is_some_and(|next| is_heading(current, next));
        let starts_unit = previous.is_none_or(|previous| {
            previous_was_heading
                || heading
                || BULLET_OR_MARKDOWN.is_match(current)
                || (ENUMERATOR.is_match(current) && ends_clause(previous))
        });
        if starts_unit {
            split_unit(text, &unit, &mut sentences);
            unit.clear();
        }
        unit.push(range.clone());
        previous_was_heading = heading;
    }
    split_unit(text, &unit, &mut sentences);
    sentences
}

/// The sentences of `text[within]` as byte ranges of `text`, in order (each from its first
/// character to just after its last, so box borders inside one stay inside), each cut
/// again after every `;` before whitespace: the clauses of a long legal sentence are the
/// next places to cut it when it does not fit a chunk.
pub fn ranges_within(text: &str, within: Range<usize>) -> Vec<Range<usize>> {
    let offset = within.start;
    let mut ranges = Vec::new();
    for sentence in split(&text[within]) {
        let (start, end) = (offset + sentence.start(), offset + sentence.end());
        let sentence = &text[start..end];
        let clause_ends = sentence
            .match_indices(';')
            .map(|(i, _)| i + 1)
            .filter(|&after| sentence[after..].starts_with(char::is_whitespace));
        let mut clause_start = start;
        for after in clause_ends {
            ranges.push(trimmed(text, clause_start..start + after));
            clause_start = start + after;
        }
        ranges.push(trimmed(text, clause_start..end));
    }
    ranges
}

/// Each line's text without surrounding whitespace and decorations, as a byte range of
/// `text`; `None` for blank lines and rules, which end units.
fn content_lines(text: &str) -> Vec<Option<Range<usize>>> {
    let mut lines = Vec::new();
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let mut range = trimmed(line, 0..line.len());
        let content = &line[range.clone()];
        let boxed = content.len() >= 3
            && content.starts_with('*')
            && content.ends_with('*')
            && content[1..].starts_with(char::is_whitespace)
            && content[..content.len() - 1].ends_with(char::is_whitespace);
        if boxed {
            range = trimmed(line, range.start + 1..range.end - 1);
        }
        let content = &line[range.clone()];
        let rule = content
            .chars()
            .all(|c| matches!(c, '-' | '=' | '*' | '_' | '~' | '#' | '+'));
        lines.push((!rule).then(|| offset + range.start..offset + range.end));
        offset += raw.len();
    }
    lines
}

/// `range` of `line` without surrounding whitespace.
pub fn trimmed(line: &str, range: Range<usize>) -> Range<usize> {
    let slice = &line[range.clone()];
    let start = range.start + (slice.len() - slice.trim_start().len());
    start..start + slice.trim().len()
}

/// Whether `line` ends a clause (see [`Sentence::is_closed`]).
fn ends_clause(line: &str) -> bool {
    let line = line.trim_end_matches(CLOSING);
    if line.ends_with(CLAUSE_ENDS) {
        return true;
    }
    line.rsplit_once(char::is_whitespace)
        .is_some_and(|(before, last)| {
            LIST_CONJUNCTIONS.contains(&last.to_lowercase().as_str())
                && before.trim_end().ends_with([';', ','])
        })
}

/// Whether `line`, followed by `next` in the same block, is a heading: a Markdown heading,
/// or a short line without closing punctuation, numbered or in title case (small words
/// aside), before a line that starts like a sentence.
fn is_heading(line: &str, next: &str) -> bool {
    if line.starts_with('#') && BULLET_OR_MARKDOWN.is_match(line) {
        return true;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.len() > HEADING_MAX_WORDS
        || line
            .trim_end_matches(CLOSING)
            .ends_with([',', '.', ';', ':', '!', '?'])
        || !starts_like_sentence(next)
    {
        return false;
    }
    let numbered = line.starts_with(|c: char| c.is_ascii_digit()) || ENUMERATOR.is_match(line);
    numbered || is_title_case(&words)
}

/// Whether `words` are in title case: every word that starts with a letter capitalised,
/// small words (`of`, `and`, `the`) aside, but not the last.
fn is_title_case(words: &[&str]) -> bool {
    let lettered: Vec<&str> = words
        .iter()
        .map(|w| w.trim_start_matches(OPENING_QUOTES).trim_start_matches('('))
        .filter(|w| w.starts_with(char::is_alphabetic))
        .collect();
    let small = |word: &&str| {
        let word = word.trim_end_matches(|c: char| !c.is_alphanumeric());
        TITLE_SMALL_WORDS.contains(&word.to_lowercase().as_str())
    };
    lettered.iter().any(|w| w.starts_with(char::is_uppercase))
        && lettered
            .iter()
            .all(|w| w.starts_with(char::is_uppercase) || small(w))
        && !lettered.last().is_some_and(small)
}

/// Whether `line` starts as a sentence does: an upper-case letter or digit (after any
/// opening quote), `§`, a bracket, or a list marker.
fn starts_like_sentence(line: &str) -> bool {
    line.trim_start_matches(OPENING_QUOTES)
        .chars()
        .next()
        .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || matches!(c, '§' | '(' | '['))
        || BULLET_OR_MARKDOWN.is_match(line)
        || ENUMERATOR.is_match(line)
}

/// Splits one unit, the trimmed line `pieces` it spans, into sentences.
fn split_unit(text: &str, pieces: &[Range<usize>], sentences: &mut Vec<Sentence>) {
    let mut chars: Vec<(usize, char)> = Vec::new();
    for (n, piece) in pieces.iter().enumerate() {
        if n > 0 {
            chars.push((piece.start, '\n'));
        }
        chars.extend(
            text[piece.clone()]
                .char_indices()
                .map(|(i, c)| (piece.start + i, c)),
        );
    }
    let mut start = 0;
    let mut at = 0;
    while at < chars.len() {
        if matches!(chars[at].1, '.' | '?' | '!') {
            let mut after = at + 1;
            while after < chars.len() && CLOSING.contains(&chars[after].1) {
                after += 1;
            }
            if after < chars.len()
                && chars[after].1.is_whitespace()
                && ends_sentence(&chars, start, at, after)
            {
                push_sentence(pieces, &chars[start..after], sentences);
                start = after;
                at = after;
                continue;
            }
        }
        at += 1;
    }
    push_sentence(pieces, &chars[start..], sentences);
}

/// Whether the terminator at `at`, followed by whitespace at `after`, ends the sentence
/// that began at `start`.
fn ends_sentence(chars: &[(usize, char)], start: usize, at: usize, after: usize) -> bool {
    let mut rest = chars[after..]
        .iter()
        .map(|(_, c)| *c)
        .skip_while(|c| c.is_whitespace())
        .skip_while(|c| OPENING_QUOTES.contains(c));
    if rest.next().is_none_or(char::is_lowercase) {
        return false;
    }
    if chars[at].1 != '.' {
        return true;
    }
    let word_start = chars[start..at]
        .iter()
        .rposition(|(_, c)| c.is_whitespace())
        .map_or(start, |p| start + p + 1);
    let word: String = chars[word_start..at].iter().map(|(_, c)| *c).collect();
    let word = word
        .trim_start_matches(OPENING_QUOTES)
        .trim_start_matches('(');
    let leading_enumerator = word_start == 0 && is_enumerator(word);
    !(leading_enumerator || is_abbreviation(word))
}

/// Whether `word` (without its final period) is an abbreviation: a known one (`Inc`,
/// `kap`, `t.ex`) or a run of single letters with periods (`e.g`, `U.S`, `v`).
pub fn is_abbreviation(word: &str) -> bool {
    let initials = !word.is_empty()
        && word.split('.').all(|part| {
            let mut letters = part.chars();
            letters.next().is_some_and(char::is_alphabetic) && letters.next().is_none()
        });
    initials || ABBREVIATIONS.contains(&word.to_lowercase().as_str())
}

/// Whether `word` (without its final period) numbers a clause: `4`, `3.2`, `iv`.
fn is_enumerator(word: &str) -> bool {
    let numeric = !word.is_empty()
        && word.starts_with(|c: char| c.is_ascii_digit())
        && word.chars().all(|c| c.is_ascii_digit() || c == '.');
    let roman = !word.is_empty() && word.len() <= 7 && word.chars().all(|c| "ivxlc".contains(c));
    numeric || roman
}

/// Adds the sentence of `chars` (a stretch of the unit over `pieces`), trimmed, unless it
/// is blank.
fn push_sentence(pieces: &[Range<usize>], chars: &[(usize, char)], sentences: &mut Vec<Sentence>) {
    let Some(first) = chars.iter().position(|(_, c)| !c.is_whitespace()) else {
        return;
    };
    let last = chars
        .iter()
        .rposition(|(_, c)| !c.is_whitespace())
        .expect("a non-blank stretch has a last character");
    let start = chars[first].0;
    let end = chars[last].0 + chars[last].1.len_utf8();
    let pieces = pieces
        .iter()
        .filter(|piece| piece.end > start && piece.start < end)
        .map(|piece| piece.start.max(start)..piece.end.min(end))
        .collect();
    sentences.push(Sentence { pieces });
}

/// A hard-wrapped licence section with enumerated sub-clauses, as real licences are laid
/// out: the fixture of the tests that split such text.
#[cfg(test)]
pub(crate) const WRAPPED_SECTION: &str = "\
3.2. Distribution of Executable Form

If You distribute Covered Software in Executable Form then:

(a) such Covered Software must also be made available in Source Code
    Form, as described in Section 3.1, and You must inform recipients of
    the Executable Form how they can obtain a copy of such Source Code
    Form by reasonable means in a timely manner, at a charge no more
    than the cost of distribution to the recipient; and

(b) You may distribute such Executable Form under the terms of this
    License, or sublicense it under different terms, provided that the
    license for the Executable Form does not attempt to limit or alter
    the recipients' rights in the Source Code Form under this License.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(text: &str) -> Vec<String> {
        split(text).iter().map(|s| s.flat(text)).collect()
    }

    /// Text without whitespace, to compare up to whitespace.
    fn squeeze(text: &str) -> String {
        text.split_whitespace().collect()
    }

    /// Clause 4 of the Apache License 2.0 as its text file wraps it.
    const REDISTRIBUTION: &str = "\
   4. Redistribution. You may reproduce and distribute copies of the
      Work or Derivative Works thereof in any medium, with or without
      modifications, and in Source or Object form, provided that You
      meet the following conditions:

      (a) You must give any other recipients of the Work or
          Derivative Works a copy of this License; and
";

    #[test]
    fn hard_wrapped_sentences_are_joined_across_lines() {
        let text = WRAPPED_SECTION;
        let sentences = flat(text);
        assert_eq!(
            sentences,
            [
                "3.2. Distribution of Executable Form",
                "If You distribute Covered Software in Executable Form then:",
                "(a) such Covered Software must also be made available in Source Code Form, as \
                 described in Section 3.1, and You must inform recipients of the Executable Form \
                 how they can obtain a copy of such Source Code Form by reasonable means in a \
                 timely manner, at a charge no more than the cost of distribution to the \
                 recipient; and",
                "(b) You may distribute such Executable Form under the terms of this License, or \
                 sublicense it under different terms, provided that the license for the \
                 Executable Form does not attempt to limit or alter the recipients' rights in \
                 the Source Code Form under this License.",
            ]
        );
        let clause = &split(text)[2];
        assert_eq!(clause.pieces.len(), 5);
        assert!(clause.is_closed(text) && !clause.looks_cut(text));
    }

    #[test]
    fn sentences_split_inside_a_wrapped_paragraph_but_not_at_its_line_breaks() {
        let text = REDISTRIBUTION;
        assert_eq!(
            flat(text),
            [
                "4. Redistribution.",
                "You may reproduce and distribute copies of the Work or Derivative Works thereof \
                 in any medium, with or without modifications, and in Source or Object form, \
                 provided that You meet the following conditions:",
                "(a) You must give any other recipients of the Work or Derivative Works a copy of \
                 this License; and",
            ]
        );
    }

    #[test]
    fn ranges_within_cut_a_range_at_sentences_then_semicolons() {
        let heading = "Apache License\nVersion 2.0, January 2004\n\n";
        let text = &format!("{heading}{REDISTRIBUTION}");
        let within = heading.len()..text.len();
        let ranges = ranges_within(text, within.clone());
        assert!(
            ranges
                .iter()
                .all(|r| within.start <= r.start && r.end <= within.end)
        );
        let pieces: Vec<String> = ranges
            .iter()
            .map(|r| {
                text[r.clone()]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            pieces,
            [
                "4. Redistribution.",
                "You may reproduce and distribute copies of the Work or Derivative Works thereof \
                 in any medium, with or without modifications, and in Source or Object form, \
                 provided that You meet the following conditions:",
                "(a) You must give any other recipients of the Work or Derivative Works a copy of \
                 this License;",
                "and",
            ]
        );
    }

    #[test]
    fn abbreviations_and_decimal_numbers_do_not_end_sentences() {
        let text = "\
This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
If a copy of the MPL was not distributed with this file, You can obtain one at
https://mozilla.org/MPL/2.0/. Portions are Copyright (c) 2009 Example Software Inc. and
its contributors, e.g. the U.S. Government under Contract No. 12 (Sec. 3.2 applies), i.e.
those named in the NOTICE file. Ändringar enligt 2 kap. 3 § första st. Ny lydelse gäller.
Apache License, Version 2.0. That version applies.";
        assert_eq!(
            flat(text),
            [
                "This Source Code Form is subject to the terms of the Mozilla Public License, v. \
                 2.0.",
                "If a copy of the MPL was not distributed with this file, You can obtain one at \
                 https://mozilla.org/MPL/2.0/.",
                "Portions are Copyright (c) 2009 Example Software Inc. and its contributors, e.g. \
                 the U.S. Government under Contract No. 12 (Sec. 3.2 applies), i.e. those named \
                 in the NOTICE file.",
                "Ändringar enligt 2 kap. 3 § första st. Ny lydelse gäller.",
                "Apache License, Version 2.0.",
                "That version applies.",
            ]
        );
    }

    #[test]
    fn boxes_and_rules_are_left_out() {
        let text = "\
************************************************************************
*                                                                      *
*  6. Disclaimer of Warranty                                           *
*  -------------------------                                           *
*                                                                      *
*  Covered Software is provided under this License on an \"as is\"       *
*  basis, without warranty of any kind, either expressed, implied, or  *
*  statutory, including, without limitation, warranties that the       *
*  Covered Software is free of defects. The entire risk as to the      *
*  quality and performance of the Covered Software is with You.        *
*                                                                      *
************************************************************************

MIT License (MIT)
-----------------
";
        let sentences = split(text);
        assert_eq!(
            sentences.iter().map(|s| s.flat(text)).collect::<Vec<_>>(),
            [
                "6. Disclaimer of Warranty",
                "Covered Software is provided under this License on an \"as is\" basis, without \
                 warranty of any kind, either expressed, implied, or statutory, including, \
                 without limitation, warranties that the Covered Software is free of defects.",
                "The entire risk as to the quality and performance of the Covered Software is \
                 with You.",
                "MIT License (MIT)",
            ]
        );
        let covered = &sentences[1];
        assert!(text[covered.start()..covered.end()].contains("  *\n*  "));
        assert!(
            covered
                .pieces
                .iter()
                .all(|p| !text[p.clone()].contains('*'))
        );
    }

    #[test]
    fn list_markers_start_units_only_after_a_closed_clause() {
        let text = "\
Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:
1. Redistributions of source code must retain the above copyright notice,
   this list of conditions and the following disclaimer.
  * Neither the name of the copyright holder nor the names of its
    contributors may be used to endorse or promote products derived from
    this software without specific prior written permission.
Licensed under the Apache License, Version
2.0 (the \"License\"); you may not use this file except in compliance
with the License, as described in paragraph
(3) of the notice.
";
        assert_eq!(
            flat(text),
            [
                "Redistribution and use in source and binary forms, with or without \
                 modification, are permitted provided that the following conditions are met:",
                "1. Redistributions of source code must retain the above copyright notice, this \
                 list of conditions and the following disclaimer.",
                "* Neither the name of the copyright holder nor the names of its contributors \
                 may be used to endorse or promote products derived from this software without \
                 specific prior written permission.",
                "Licensed under the Apache License, Version 2.0 (the \"License\"); you may not use \
                 this file except in compliance with the License, as described in paragraph (3) \
                 of the notice.",
            ]
        );
    }

    #[test]
    fn headings_end_units_but_short_wrapped_lines_do_not() {
        let text = "\
Section 4 Consent
Personal data may be processed only if the data subject has given consent.
This product includes software developed at
The Apache Software Foundation (http://www.apache.org/).
## Terms
1.1. \"Contributor\"
    means each individual or legal entity that creates, contributes to
    the creation of, or owns Covered Software.
";
        assert_eq!(
            flat(text),
            [
                "Section 4 Consent",
                "Personal data may be processed only if the data subject has given consent.",
                "This product includes software developed at The Apache Software Foundation \
                 (http://www.apache.org/).",
                "## Terms",
                "1.1. \"Contributor\" means each individual or legal entity that creates, \
                 contributes to the creation of, or owns Covered Software.",
            ]
        );
        let cut = "means each individual or legal entity that creates it.\n(iv) the Work.";
        let cut_sentences = split(cut);
        assert!(cut_sentences[0].looks_cut(cut));
        assert!(!cut_sentences[1].looks_cut(cut));
    }

    #[test]
    fn headings_are_told_from_sentences() {
        let text = "\
   3. Grant of Patent License. Subject to the terms and conditions of
      this License, each Contributor hereby grants to You a patent license.

   7. Disclaimer of Warranty.

Copyright 2019 Nils Reimers
All rights reserved.
";
        let headings: Vec<(String, bool)> = split(text)
            .iter()
            .map(|s| (s.flat(text), s.is_heading(text)))
            .collect();
        let expected = [
            ("3. Grant of Patent License.", true),
            (
                "Subject to the terms and conditions of this License, each Contributor hereby \
                 grants to You a patent license.",
                false,
            ),
            ("7. Disclaimer of Warranty.", true),
            ("Copyright 2019 Nils Reimers", true),
            ("All rights reserved.", false),
        ];
        let expected: Vec<(String, bool)> =
            expected.iter().map(|(s, h)| (s.to_string(), *h)).collect();
        assert_eq!(headings, expected);
    }

    #[test]
    fn swedish_sections_and_hyphenated_breaks() {
        let text = "1 kap. Statsskickets grunder\r\n\r\n1 § All offentlig makt i Sverige utgår från \
                    folket.\r\nDen svenska folkstyrelsen bygger på fri åsikts-\r\nbildning och på \
                    allmän och lika rösträtt.\r\n";
        assert_eq!(
            flat(text),
            [
                "1 kap. Statsskickets grunder",
                "1 § All offentlig makt i Sverige utgår från folket.",
                "Den svenska folkstyrelsen bygger på fri åsikts-bildning och på allmän och lika \
                 rösträtt.",
            ]
        );
    }

    #[test]
    fn every_sentence_is_its_text_up_to_whitespace() {
        let text = "  (i) the power, direct or indirect, to cause the direction\n\tor management \
                    of such entity.  «Quoted» text?  Yes!\n\n\n   last line without end";
        let sentences = split(text);
        assert_eq!(sentences.len(), 4);
        for sentence in &sentences {
            let slice = &text[sentence.start()..sentence.end()];
            assert_eq!(squeeze(slice), squeeze(&sentence.flat(text)));
            assert_eq!(slice.trim(), slice);
        }
        assert!(!sentences[3].is_closed(text));
    }

    #[test]
    fn empty_and_decoration_only_texts_have_no_sentences() {
        assert!(split("").is_empty());
        assert!(split("\n\n   \n-----\n****\n*    *\n").is_empty());
    }
}
