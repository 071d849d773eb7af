//! Case and accent folding of letters and words, as the BM25 analyzer and the Swedish
//! decompounder both need it.

/// Combining diacritical marks (decomposed accents).
pub(super) fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}')
}

/// `word` lowercased and folded as Swedish text is, or `None` when it holds anything but
/// letters.
pub(super) fn fold_swedish_word(word: &str) -> Option<String> {
    let mut folded = String::with_capacity(word.len());
    for c in word.chars() {
        if !c.is_alphabetic() {
            return None;
        }
        for lower in c.to_lowercase() {
            push_folded(true, lower, &mut folded);
        }
    }
    Some(folded)
}

/// Appends the lowercase letter `c`, folded: Latin accents to ASCII, except that Swedish
/// text (`swedish`) keeps å, ä, ö and writes æ, ø as ä, ö.
pub(super) fn push_folded(swedish: bool, c: char, out: &mut String) {
    if swedish {
        match c {
            'å' | 'ä' | 'ö' => return out.push(c),
            'æ' => return out.push('ä'),
            'ø' => return out.push('ö'),
            _ => {}
        }
    }
    match fold_latin(c) {
        Some(folded) => out.push_str(folded),
        None => out.push(c),
    }
}

/// ASCII replacement of a lowercase Latin letter with a diacritic (Latin-1
/// Supplement, Latin Extended-A and a few of Extended-B), if it has one.
fn fold_latin(c: char) -> Option<&'static str> {
    let folded = match c {
        'à'..='å' | '\u{100}'..='\u{105}' => "a",
        'æ' => "ae",
        'ç' | '\u{106}'..='\u{10D}' => "c",
        'ð' | '\u{10E}'..='\u{111}' => "d",
        'è'..='ë' | '\u{112}'..='\u{11B}' => "e",
        '\u{11C}'..='\u{123}' => "g",
        '\u{124}'..='\u{127}' => "h",
        'ì'..='ï' | '\u{128}'..='\u{131}' => "i",
        '\u{132}'..='\u{133}' => "ij",
        '\u{134}'..='\u{135}' => "j",
        '\u{136}'..='\u{138}' => "k",
        '\u{139}'..='\u{142}' => "l",
        'ñ' | '\u{143}'..='\u{14B}' => "n",
        'ò'..='ö' | 'ø' | '\u{14C}'..='\u{151}' => "o",
        '\u{152}'..='\u{153}' => "oe",
        '\u{154}'..='\u{159}' => "r",
        'ß' => "ss",
        '\u{15A}'..='\u{161}' | '\u{17F}' | '\u{219}' => "s",
        '\u{162}'..='\u{167}' | '\u{21B}' => "t",
        'þ' => "th",
        'ù'..='ü' | '\u{168}'..='\u{173}' => "u",
        '\u{174}'..='\u{175}' => "w",
        'ý' | 'ÿ' | '\u{176}'..='\u{178}' => "y",
        '\u{179}'..='\u{17E}' => "z",
        'ƒ' => "f",
        _ => return None,
    };
    Some(folded)
}
