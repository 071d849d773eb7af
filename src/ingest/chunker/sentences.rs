//! Sentence boundaries in legal text, found across hard line wraps: a sentence ends at
//! `.`, `!`, `?` or `;` followed by whitespace (a line break included), unless the `.`
//! ends an abbreviation, an initial or a short number, or the next word starts in lower
//! case, with a digit or with `§` (a wrapped citation such as `2 kap.\n3 §`).

/// Abbreviations after which a '.' does not end a sentence (lower case).
const ABBREVIATIONS: &[&str] = &[
    "kap.", "t.ex.", "e.g.", "i.e.", "no.", "nr.", "art.", "sec.", "m.m.", "bl.a.", "s.k.", "jfr.",
    "dvs.", "d.v.s.", "osv.", "o.s.v.", "p.", "st.", "prop.", "sfs.", "ca.", "etc.", "vs.", "cf.",
    "ch.", "para.", "fig.", "mr.", "mrs.", "ms.", "dr.", "prof.", "inc.", "ltd.", "co.", "corp.",
    "u.s.", "resp.", "f.d.", "fr.o.m.", "t.o.m.", "ang.", "enl.",
];

/// Byte ranges of the sentences of `text[start..end]`, trimmed, in order; the last one
/// runs to `end` whether or not it is terminated.
pub(super) fn sentence_ranges(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
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

/// True when the '.' ending `word` (which ends in '.') belongs to an abbreviation, an
/// initial or a short number rather than ending a sentence.
pub(super) fn is_abbreviation(word: &str) -> bool {
    let body = &word[..word.len() - 1];
    let short_number =
        !body.is_empty() && body.len() <= 3 && body.bytes().all(|b| b.is_ascii_digit());
    let initial = body.chars().count() == 1 && body.chars().all(char::is_uppercase);
    short_number || initial || ABBREVIATIONS.contains(&word.to_lowercase().as_str())
}

/// Shrinks `[start, end)` to exclude surrounding whitespace.
pub(super) fn trim_range(text: &str, start: usize, end: usize) -> (usize, usize) {
    let slice = &text[start..end];
    let trimmed_start = slice.trim_start();
    let new_start = start + (slice.len() - trimmed_start.len());
    (new_start, new_start + trimmed_start.trim_end().len())
}
