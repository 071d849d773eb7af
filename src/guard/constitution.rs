//! The "constitution": whole-word term corrections applied to answers.
//!
//! A [`Constitution`] is a list of rules read from TOML (`assets/constitution.toml` is the
//! built-in set, documented there). [`Constitution::apply`] replaces each rule's `from` with
//! its `to` and reports what it changed. The guarantees:
//!
//! - Whole words only, Unicode-aware (`å`, `ä`, `ö` are letters); case-insensitive unless a
//!   rule says otherwise, with the match's initial capital carried over to the replacement.
//! - Nothing inside quotation marks (`"…"`, `”…”`, `“…”`, `„…“`, `«…»`, `»…»`) or on
//!   blockquote lines (`> …`) changes. An unclosed quotation mark quotes to the end of its
//!   paragraph.
//! - A match that already is part of some rule's `to` (compared ignoring case and
//!   whitespace) is left alone, so "konstitutionsutskottet (KU)" never becomes
//!   "konstitutionsutskottet (KU) (KU)" and "sekretesslagen" does not fire inside
//!   "offentlighets- och sekretesslagen".
//! - Idempotent: the rules are applied pass after pass until a pass changes nothing, so the
//!   result is a fixed point and applying it again changes nothing. Chains finish this way:
//!   "sekretesslagen" becomes "offentlighets- och sekretesslagen", which then gets "(OSL)".
//! - A `once` rule (used for abbreviations) corrects only the first eligible occurrence, and
//!   nothing when the text already contains its `to`.
//!
//! Loading rejects, naming the rule: an empty `from` or `to`, or one with surrounding
//! whitespace, a line break or a quotation mark (either could change what counts as quoted);
//! a `from` that does not start and end with a letter or digit (whole-word matching needs
//! word edges); a `to` starting with `>` (it would create a blockquote); `to` equal to `from`;
//! a `from` repeating an earlier rule's; `once` without `from` inside `to` (an earlier
//! correction could not be recognised, so "once" would become "every time"); and rule sets
//! whose passes do not settle on the rules' own terms (cycles such as `a → b`, `b → a`).

use std::cmp::Reverse;
use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

/// One correction rule applied to an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// The text as written.
    pub from: String,
    /// The corrected text.
    pub to: String,
    /// How many times it was replaced.
    pub count: u32,
}

/// The built-in rules.
const BUILTIN_TOML: &str = include_str!("../../assets/constitution.toml");

/// The built-in rules, parsed once.
static BUILTIN: LazyLock<Constitution> = LazyLock::new(|| {
    Constitution::from_toml(BUILTIN_TOML).expect("assets/constitution.toml is a valid rule set")
});

/// Characters that open or close a quotation; not allowed in rules.
const QUOTE_MARKS: [char; 6] = ['"', '“', '”', '„', '«', '»'];

/// Whitespace between the words of a `from`: any run of spaces, with at most one line break
/// (so a correction never joins two paragraphs).
const WORD_GAP: &str = r"(?:[^\S\n]+|[^\S\n]*\n[^\S\n]*)";

/// A set of term corrections; see the module documentation for its guarantees.
#[derive(Debug, Clone, Default)]
pub struct Constitution {
    rules: Vec<Rule>,
}

/// The TOML file's layout.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    correction: Vec<RuleSpec>,
}

/// One `[[correction]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    from: String,
    to: String,
    #[serde(default)]
    case_sensitive: bool,
    #[serde(default)]
    once: bool,
}

/// A validated rule with its compiled pattern.
#[derive(Debug, Clone)]
struct Rule {
    from: String,
    to: String,
    case_sensitive: bool,
    once: bool,
    pattern: Regex,
    /// Surroundings in which a match already is part of a corrected form.
    guards: Vec<Guard>,
}

/// The text around an occurrence of a rule's `from` inside some rule's `to`, folded
/// (lowercase, whitespace removed). A match with the same surroundings in the answer is
/// part of that corrected form already.
#[derive(Debug, Clone)]
struct Guard {
    before: Vec<char>,
    after: Vec<char>,
    /// Whether the corrected form is the rule's own `to`.
    own: bool,
}

/// One replacement found by a pass.
struct Edit {
    rule: usize,
    range: Range<usize>,
    replacement: String,
}

impl Constitution {
    /// Parses a rule set from TOML (`[[correction]]` tables with `from`, `to` and the optional
    /// `case_sensitive` and `once`). The error names the offending rule.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: RuleFile =
            toml::from_str(text).map_err(|e| format!("invalid constitution TOML: {e}"))?;
        let mut rules = Vec::with_capacity(file.correction.len());
        for (index, spec) in file.correction.into_iter().enumerate() {
            let from = spec.from.clone();
            let rule = Rule::new(spec).map_err(|e| describe_rule_error(index, &from, &e))?;
            if let Some(earlier) = rules.iter().position(|r: &Rule| same_term(r, &rule)) {
                return Err(describe_rule_error(
                    index,
                    &from,
                    &format!("`from` repeats correction #{}", earlier + 1),
                ));
            }
            rules.push(rule);
        }
        add_guards(&mut rules);
        let constitution = Self { rules };
        constitution.check_settles()?;
        Ok(constitution)
    }

    /// Reads and parses a rule file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read constitution {}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The built-in rules from `assets/constitution.toml`.
    pub fn builtin() -> Self {
        BUILTIN.clone()
    }

    /// Applies the corrections to `text`, returning the corrected text and what was replaced,
    /// aggregated per rule in order of first replacement.
    pub fn apply(&self, text: &str) -> (String, Vec<Correction>) {
        let (text, corrections, _) = self.settle(text);
        (text, corrections)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Most passes [`Self::apply`] makes; enough for every chain of rules to finish.
    fn max_passes(&self) -> usize {
        self.rules.len() + 2
    }

    /// Runs passes until one changes nothing; the flag says whether that happened within
    /// [`Self::max_passes`].
    fn settle(&self, text: &str) -> (String, Vec<Correction>, bool) {
        let mut current = text.to_owned();
        let mut tally: Vec<(usize, Correction)> = Vec::new();
        for _ in 0..self.max_passes() {
            let edits = self.find_edits(&current);
            if edits.is_empty() {
                return (current, into_corrections(tally), true);
            }
            for edit in &edits {
                record(
                    &mut tally,
                    edit.rule,
                    &current[edit.range.clone()],
                    &edit.replacement,
                );
            }
            current = splice(&current, &edits);
        }
        let settled = self.find_edits(&current).is_empty();
        (current, into_corrections(tally), settled)
    }

    /// The non-overlapping replacements of one pass, in text order. Overlaps are resolved in
    /// favour of the earlier, then the longer match, then the earlier rule.
    fn find_edits(&self, text: &str) -> Vec<Edit> {
        let quoted = quoted_regions(text);
        let mut candidates = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            rule.collect_edits(index, text, &quoted, &mut candidates);
        }
        candidates.sort_by_key(|e| (e.range.start, Reverse(e.range.end), e.rule));
        let mut edits: Vec<Edit> = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            if edits
                .last()
                .is_none_or(|last| last.range.end <= candidate.range.start)
            {
                edits.push(candidate);
            }
        }
        edits
    }

    /// Rejects rule sets whose passes do not settle on the rules' own terms.
    fn check_settles(&self) -> Result<(), String> {
        for (index, rule) in self.rules.iter().enumerate() {
            let probes = [
                rule.from.clone(),
                rule.to.clone(),
                capitalize_first(&rule.from),
                format!("{} {}", rule.from, rule.from),
            ];
            if probes.iter().any(|probe| !self.settle(probe).2) {
                return Err(describe_rule_error(
                    index,
                    &rule.from,
                    "the corrections never settle (a cycle with other rules?)",
                ));
            }
        }
        Ok(())
    }
}

impl Rule {
    /// Validates a rule as written and compiles its pattern.
    fn new(spec: RuleSpec) -> Result<Self, String> {
        validate_term("from", &spec.from)?;
        validate_term("to", &spec.to)?;
        let starts_and_ends_with_word_char =
            spec.from.chars().next().is_some_and(char::is_alphanumeric)
                && spec.from.chars().last().is_some_and(char::is_alphanumeric);
        if !starts_and_ends_with_word_char {
            return Err("`from` must start and end with a letter or digit".to_owned());
        }
        if spec.to.starts_with('>') {
            return Err("`to` must not start with \">\" (it would start a blockquote)".to_owned());
        }
        if normalize_spaces(&spec.from) == normalize_spaces(&spec.to) {
            return Err("`to` equals `from`, so the rule has no effect".to_owned());
        }
        let pattern = compile_pattern(&spec.from, spec.case_sensitive)?;
        if spec.once && !contains_with_more(&pattern, &spec.to) {
            return Err(
                "`once = true` needs `to` to contain `from` (plus more text), so that an earlier \
                 correction can be recognised"
                    .to_owned(),
            );
        }
        Ok(Self {
            from: spec.from,
            to: spec.to,
            case_sensitive: spec.case_sensitive,
            once: spec.once,
            pattern,
            guards: Vec::new(),
        })
    }

    /// Adds this rule's replacements for `text` to `edits`, skipping matches that are quoted,
    /// already corrected or would not change anything. A `once` rule adds at most its first
    /// match, and none when its `to` is already in the text.
    fn collect_edits(
        &self,
        index: usize,
        text: &str,
        quoted: &[Range<usize>],
        edits: &mut Vec<Edit>,
    ) {
        let mut first = None;
        for found in self.pattern.find_iter(text) {
            let range = found.range();
            if self.once && self.is_guarded(text, &range, true) {
                return;
            }
            if overlaps_any(quoted, &range) || self.is_guarded(text, &range, false) {
                continue;
            }
            let replacement = self.replacement_for(found.as_str());
            if replacement == found.as_str() {
                continue;
            }
            let edit = Edit {
                rule: index,
                range,
                replacement,
            };
            if !self.once {
                edits.push(edit);
            } else if first.is_none() {
                first = Some(edit);
            }
        }
        edits.extend(first);
    }

    /// Whether the match at `range` already sits inside a corrected form (only this rule's
    /// own `to` when `own_only`).
    fn is_guarded(&self, text: &str, range: &Range<usize>, own_only: bool) -> bool {
        self.guards
            .iter()
            .filter(|guard| guard.own || !own_only)
            .any(|guard| guard.surrounds(text, range))
    }

    /// The replacement for a match: `to`, with an initial capital when the match has one.
    fn replacement_for(&self, matched: &str) -> String {
        let capital = matched.chars().next().is_some_and(char::is_uppercase);
        if capital && !self.case_sensitive {
            capitalize_first(&self.to)
        } else {
            self.to.clone()
        }
    }
}

impl Guard {
    /// Whether the text around `range` matches this guard's surroundings.
    fn surrounds(&self, text: &str, range: &Range<usize>) -> bool {
        let before = folded(&text[..range.start]).rev().take(self.before.len());
        let after = folded(&text[range.end..]).take(self.after.len());
        before.eq(self.before.iter().rev().copied()) && after.eq(self.after.iter().copied())
    }
}

/// Checks the parts of a term that every rule needs.
fn validate_term(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("`{field}` is empty"));
    }
    if value.trim() != value {
        return Err(format!("`{field}` starts or ends with whitespace"));
    }
    if value.contains(['\n', '\r']) {
        return Err(format!("`{field}` contains a line break"));
    }
    if value.contains(QUOTE_MARKS) {
        return Err(format!("`{field}` contains a quotation mark"));
    }
    Ok(())
}

/// The whole-word pattern for `from`.
fn compile_pattern(from: &str, case_sensitive: bool) -> Result<Regex, String> {
    let words: Vec<String> = from.split_whitespace().map(regex::escape).collect();
    let flags = if case_sensitive { "" } else { "(?i)" };
    let pattern = format!(r"{flags}\b{}\b", words.join(WORD_GAP));
    Regex::new(&pattern).map_err(|e| format!("cannot compile `from`: {e}"))
}

/// Whether `pattern` matches inside `to` with other text around the match.
fn contains_with_more(pattern: &Regex, to: &str) -> bool {
    pattern.find_iter(to).any(|found| {
        !(to[..found.start()].trim().is_empty() && to[found.end()..].trim().is_empty())
    })
}

/// Fills in every rule's guards: one per whole-word occurrence of its `from` inside any
/// rule's `to`, unless that occurrence is the entire `to` (a plain chain `a → b`, `b → c`,
/// which later passes finish).
fn add_guards(rules: &mut [Rule]) {
    let tos: Vec<String> = rules.iter().map(|r| r.to.clone()).collect();
    for (index, rule) in rules.iter_mut().enumerate() {
        for (owner, to) in tos.iter().enumerate() {
            for found in rule.pattern.find_iter(to) {
                let (before, after) = (&to[..found.start()], &to[found.end()..]);
                if before.is_empty() && after.is_empty() {
                    continue;
                }
                rule.guards.push(Guard {
                    before: folded(before).collect(),
                    after: folded(after).collect(),
                    own: owner == index,
                });
            }
        }
    }
}

/// Whether two rules match the same term.
fn same_term(a: &Rule, b: &Rule) -> bool {
    normalize_spaces(&a.from).to_lowercase() == normalize_spaces(&b.from).to_lowercase()
}

/// Prefixes a rule error with the rule's number and `from`.
fn describe_rule_error(index: usize, from: &str, error: &str) -> String {
    format!("correction #{} (from = {from:?}): {error}", index + 1)
}

/// Collapses whitespace runs to single spaces.
fn normalize_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The characters of `text` without whitespace, lowercased one to one.
fn folded(text: &str) -> impl DoubleEndedIterator<Item = char> + '_ {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_lowercase().next().unwrap_or(c))
}

/// `text` with its first character in upper case.
fn capitalize_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Whether `range` overlaps any of `regions`.
fn overlaps_any(regions: &[Range<usize>], range: &Range<usize>) -> bool {
    regions
        .iter()
        .any(|region| region.start < range.end && range.start < region.end)
}

/// `text` with the (sorted, non-overlapping) edits applied.
fn splice(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len() + 16 * edits.len());
    let mut position = 0;
    for edit in edits {
        out.push_str(&text[position..edit.range.start]);
        out.push_str(&edit.replacement);
        position = edit.range.end;
    }
    out.push_str(&text[position..]);
    out
}

/// Counts one replacement by `rule`; the first one's texts name the entry.
fn record(tally: &mut Vec<(usize, Correction)>, rule: usize, from: &str, to: &str) {
    match tally.iter_mut().find(|(r, _)| *r == rule) {
        Some((_, correction)) => correction.count += 1,
        None => tally.push((
            rule,
            Correction {
                from: from.to_owned(),
                to: to.to_owned(),
                count: 1,
            },
        )),
    }
}

/// The tallied corrections in order of first replacement.
fn into_corrections(tally: Vec<(usize, Correction)>) -> Vec<Correction> {
    tally
        .into_iter()
        .map(|(_, correction)| correction)
        .collect()
}

/// Byte ranges where nothing may change: blockquote lines and quotations. A quotation ends
/// at its closing mark, or at the end of its paragraph when it is never closed.
fn quoted_regions(text: &str) -> Vec<Range<usize>> {
    let mut regions = Vec::new();
    let mut open: Option<(usize, &'static [char])> = None;
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let line_end = line_start + line.len();
        if is_blockquote(line) {
            regions.push(line_start..line_end);
        } else if line.trim().is_empty() {
            if let Some((start, _)) = open.take() {
                regions.push(start..line_start);
            }
        } else {
            for (offset, c) in line.char_indices() {
                let at = line_start + offset;
                match open {
                    Some((start, closers)) if closers.contains(&c) => {
                        regions.push(start..at + c.len_utf8());
                        open = None;
                    }
                    Some(_) => {}
                    None => open = closing_marks(c).map(|closers| (at, closers)),
                }
            }
        }
        line_start = line_end;
    }
    if let Some((start, _)) = open {
        regions.push(start..text.len());
    }
    regions
}

/// Whether a line is a Markdown blockquote line.
fn is_blockquote(line: &str) -> bool {
    line.trim_start_matches([' ', '\t']).starts_with('>')
}

/// The marks that close a quotation opened by `c`, if `c` opens one.
fn closing_marks(c: char) -> Option<&'static [char]> {
    match c {
        '"' => Some(&['"']),
        '”' => Some(&['”']),
        '“' => Some(&['”', '“']),
        '„' => Some(&['“', '”']),
        '«' => Some(&['»']),
        '»' => Some(&['»', '«']),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin_apply(text: &str) -> String {
        Constitution::builtin().apply(text).0
    }

    fn rules(toml: &str) -> Constitution {
        Constitution::from_toml(toml).expect("valid rules")
    }

    #[test]
    fn builtin_rules_parse() {
        let constitution = Constitution::builtin();
        assert!(constitution.len() >= 12);
        assert!(!constitution.is_empty());
        assert!(Constitution::default().is_empty());
    }

    #[test]
    fn abbreviation_is_added_once() {
        let (text, corrections) = Constitution::builtin()
            .apply("Enligt regeringsformen gäller detta. Även regeringsformen säger så.");
        assert_eq!(
            text,
            "Enligt regeringsformen (RF) gäller detta. Även regeringsformen säger så."
        );
        assert_eq!(
            corrections,
            vec![Correction {
                from: "regeringsformen".into(),
                to: "regeringsformen (RF)".into(),
                count: 1,
            }]
        );
    }

    #[test]
    fn abbreviation_already_introduced_is_not_repeated() {
        for text in [
            "konstitutionsutskottet (KU) granskar. Sedan konstitutionsutskottet igen.",
            "konstitutionsutskottet(KU) granskar.",
            "konstitutionsutskottet   (KU) granskar.",
            "konstitutionsutskottet\n(KU) granskar.",
            "Konstitutionsutskottet (ku) granskar.",
        ] {
            let (out, corrections) = Constitution::builtin().apply(text);
            assert_eq!(out, text);
            assert!(corrections.is_empty());
        }
    }

    #[test]
    fn whole_words_only() {
        for text in [
            "regeringsformens regler",
            "xregeringsformen",
            "regeringsformenå",
            "åregeringsformen",
            "regeringsformen2",
            "sekretesslagens",
        ] {
            assert_eq!(builtin_apply(text), text);
        }
        assert_eq!(builtin_apply("(regeringsformen)"), "(regeringsformen (RF))");
        assert_eq!(
            builtin_apply("regeringsformen-ändringen"),
            "regeringsformen (RF)-ändringen"
        );
    }

    #[test]
    fn case_insensitive_with_initial_capital_preserved() {
        assert_eq!(
            builtin_apply("Regeringsformen är en grundlag."),
            "Regeringsformen (RF) är en grundlag."
        );
        assert_eq!(
            builtin_apply("REGERINGSFORMEN är en grundlag."),
            "Regeringsformen (RF) är en grundlag."
        );
        assert_eq!(
            builtin_apply("Grundlagsutskottet granskar."),
            "Konstitutionsutskottet (KU) granskar."
        );
    }

    #[test]
    fn case_sensitive_rules_match_exact_casing() {
        let constitution = rules(
            r#"
            [[correction]]
            from = "EKMR"
            to = "Europakonventionen (EKMR)"
            case_sensitive = true
            "#,
        );
        assert_eq!(
            constitution.apply("enligt EKMR och ekmr").0,
            "enligt Europakonventionen (EKMR) och ekmr"
        );
        let once = constitution.apply("enligt EKMR").0;
        assert_eq!(constitution.apply(&once).0, once);
    }

    #[test]
    fn wrong_terms_are_corrected_everywhere() {
        let (text, corrections) = Constitution::builtin()
            .apply("En riksdagsmedlem och flera riksdagsmedlemmar. Riksdagsmedlemmen talade.");
        assert_eq!(
            text,
            "En riksdagsledamot och flera riksdagsledamöter. Riksdagsledamoten talade."
        );
        assert_eq!(corrections.len(), 3);
        let (_, corrections) =
            Constitution::builtin().apply("grundlagsutskottet, Grundlagsutskottet");
        assert_eq!(
            corrections[0],
            Correction {
                from: "grundlagsutskottet".into(),
                to: "konstitutionsutskottet".into(),
                count: 2,
            }
        );
    }

    #[test]
    fn chained_rules_finish_in_later_passes() {
        let (text, corrections) =
            Constitution::builtin().apply("Enligt sekretesslagen och sekretesslagen.");
        assert_eq!(
            text,
            "Enligt offentlighets- och sekretesslagen (OSL) och offentlighets- och sekretesslagen."
        );
        assert_eq!(
            corrections,
            vec![
                Correction {
                    from: "sekretesslagen".into(),
                    to: "offentlighets- och sekretesslagen".into(),
                    count: 2,
                },
                Correction {
                    from: "offentlighets- och sekretesslagen".into(),
                    to: "offentlighets- och sekretesslagen (OSL)".into(),
                    count: 1,
                },
            ]
        );
    }

    #[test]
    fn rule_never_fires_inside_another_rules_correction() {
        for text in [
            "offentlighets- och sekretesslagen (OSL) gäller.",
            "Offentlighets- och sekretesslagen(OSL) gäller.",
        ] {
            assert_eq!(builtin_apply(text), text);
        }
        assert_eq!(
            builtin_apply("offentlighets- och sekretesslagen gäller."),
            "offentlighets- och sekretesslagen (OSL) gäller."
        );
        assert_eq!(
            builtin_apply("offentlighets-  och\nsekretesslagen gäller."),
            "offentlighets- och sekretesslagen (OSL) gäller."
        );
    }

    #[test]
    fn quotations_and_blockquotes_stay_verbatim() {
        for text in [
            "Han skrev \"regeringsformen\" i brevet.",
            "Lagen kallas ”grundlagsutskottet” i texten.",
            "Hon sa “riksdagsmedlem” först.",
            "Det står «sekretesslagen» där.",
            "Det står »sekretesslagen» där.",
            "> regeringsformen säger\n> riksdagsmedlem",
            "Han sa \"sekretesslagen och resten utan slut",
        ] {
            assert_eq!(builtin_apply(text), text, "{text}");
        }
        assert_eq!(
            builtin_apply("\"regeringsformen\" och regeringsformen"),
            "\"regeringsformen\" och regeringsformen (RF)"
        );
        assert_eq!(
            builtin_apply("> riksdagsmedlem\n\nEn riksdagsmedlem."),
            "> riksdagsmedlem\n\nEn riksdagsledamot."
        );
        // An unclosed quotation ends with its paragraph.
        assert_eq!(
            builtin_apply("Han sa \"riksdagsmedlem\n\nEn riksdagsmedlem."),
            "Han sa \"riksdagsmedlem\n\nEn riksdagsledamot."
        );
    }

    #[test]
    fn applying_twice_changes_nothing() {
        let constitution = Constitution::builtin();
        for text in [
            "grundlagsutskottet och konstitutionsutskottet",
            "sekretesslagen, regeringsformen, Riksdagsordningen och tryckfrihetslagen",
            "Konstitutionsutskottet (KU) (KU)",
        ] {
            let once = constitution.apply(text).0;
            let (twice, corrections) = constitution.apply(&once);
            assert_eq!(twice, once);
            assert!(corrections.is_empty());
        }
    }

    #[test]
    fn empty_rule_file_is_empty_constitution() {
        let constitution = rules("");
        assert!(constitution.is_empty());
        assert_eq!(constitution.apply("regeringsformen").0, "regeringsformen");
    }

    #[test]
    fn invalid_rules_are_rejected_with_their_number() {
        let cases = [
            (
                "from = \"\"\nto = \"x\"",
                "#1 (from = \"\"): `from` is empty",
            ),
            ("from = \" rf\"\nto = \"x\"", "whitespace"),
            ("from = \"a\"\nto = \"\\\"a\\\"\"", "quotation mark"),
            ("from = \"(KU)\"\nto = \"x\"", "letter or digit"),
            ("from = \"a\"\nto = \"a\"", "no effect"),
            ("from = \"a\"\nto = \"> a\"", "blockquote"),
            ("from = \"a\"\nto = \"b\"\nonce = true", "`once = true`"),
            ("from = \"a\"\nto = \"b\"\nfoo = 1", "unknown field"),
            ("from = \"a\"\nto = \"b\\nc\"", "line break"),
        ];
        for (body, expected) in cases {
            let toml = format!("[[correction]]\n{body}\n");
            let error = Constitution::from_toml(&toml).expect_err(body);
            assert!(
                error.contains(expected),
                "{error} should contain {expected}"
            );
        }
    }

    #[test]
    fn duplicate_and_cyclic_rules_are_rejected() {
        let duplicate = r#"
            [[correction]]
            from = "riksdagen"
            to = "Riksdagen"
            [[correction]]
            from = "RIKSDAGEN"
            to = "riksdag"
        "#;
        let error = Constitution::from_toml(duplicate).expect_err("duplicate");
        assert!(
            error.contains("#2") && error.contains("repeats correction #1"),
            "{error}"
        );
        let cycle = r#"
            [[correction]]
            from = "alfa"
            to = "beta"
            [[correction]]
            from = "beta"
            to = "alfa"
        "#;
        let error = Constitution::from_toml(cycle).expect_err("cycle");
        assert!(error.contains("never settle"), "{error}");
    }

    #[test]
    fn load_reads_a_file_and_names_it_in_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let good = dir.path().join("good.toml");
        std::fs::write(&good, "[[correction]]\nfrom = \"a\"\nto = \"b\"\n").expect("write");
        assert_eq!(Constitution::load(&good).expect("loads").len(), 1);
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[[correction]]\nfrom = 1\n").expect("write");
        let error = Constitution::load(&bad).expect_err("bad");
        assert!(error.contains("bad.toml"), "{error}");
        let missing = dir.path().join("missing.toml");
        assert!(
            Constitution::load(&missing)
                .expect_err("missing")
                .contains("cannot read")
        );
    }

    mod properties {
        use std::sync::LazyLock;

        use proptest::prelude::*;
        use regex::Regex;

        use super::super::Constitution;

        static BUILTIN: LazyLock<Constitution> = LazyLock::new(Constitution::builtin);

        /// Doubled suffixes such as "(KU) (KU)" for every abbreviation rule.
        static DOUBLED: LazyLock<Vec<Regex>> = LazyLock::new(|| {
            ["KU", "RF", "TF", "YGL", "SO", "RO", "OSL", "JO"]
                .iter()
                .map(|abbr| Regex::new(&format!(r"(?i)\({abbr}\)\s*\({abbr}\)")).expect("valid"))
                .collect()
        });

        /// Words and fragments of unquoted text.
        fn word() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => prop::sample::select(vec![
                    "konstitutionsutskottet", "Konstitutionsutskottet", "KONSTITUTIONSUTSKOTTET",
                    "konstitutionsutskottet (KU)", "konstitutionsutskottet(KU)", "(KU)", "(ku)",
                    "regeringsformen", "Regeringsformen", "regeringsformens", "regeringsformen (RF)",
                    "sekretesslagen", "Sekretesslagen", "offentlighets- och sekretesslagen",
                    "offentlighets- och sekretesslagen (OSL)", "offentlighets-", "och",
                    "grundlagsutskottet", "riksdagsmedlem", "riksdagsmedlemmar",
                    "riksdagsledamot", "tryckfrihetslagen", "tryckfrihetsförordningen (TF)",
                    "yttrandefrihetsgrundlagen", "successionsordningen", "riksdagsordningen",
                    "justitieombudsmannen", "(JO)", "(OSL)", "(RF)",
                ])
                .prop_map(str::to_owned),
                2 => "[a-zåäöA-ZÅÄÖ]{1,8}",
                1 => prop::sample::select(vec![".", ",", ";", ":", "?", "!", "-", "§", "(", ")"])
                    .prop_map(str::to_owned),
            ]
        }

        /// What joins two pieces of unquoted text; "" glues words together.
        fn gap() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![" ", " ", " ", "", "  ", "\n", ", "])
        }

        /// One piece of text: plain words, a quotation or a blockquote line.
        #[derive(Debug, Clone)]
        enum Piece {
            Plain(Vec<(String, &'static str)>),
            Quoted(&'static str, &'static str, Vec<String>),
            Blockquote(Vec<String>),
        }

        fn piece() -> impl Strategy<Value = Piece> {
            let words = || prop::collection::vec(word(), 1..5);
            prop_oneof![
                4 => prop::collection::vec((word(), gap()), 1..8).prop_map(Piece::Plain),
                2 => (
                    prop::sample::select(vec![
                        ("\"", "\""), ("”", "”"), ("“", "”"), ("«", "»"), ("»", "»"),
                    ]),
                    words(),
                )
                    .prop_map(|((open, close), words)| Piece::Quoted(open, close, words)),
                1 => words().prop_map(Piece::Blockquote),
            ]
        }

        fn render(pieces: &[Piece]) -> String {
            let mut text = String::new();
            for piece in pieces {
                match piece {
                    Piece::Plain(words) => {
                        for (word, gap) in words {
                            text.push_str(word);
                            text.push_str(gap);
                        }
                    }
                    Piece::Quoted(open, close, words) => {
                        text.push(' ');
                        text.push_str(open);
                        text.push_str(&words.join(" "));
                        text.push_str(close);
                        text.push(' ');
                    }
                    Piece::Blockquote(words) => {
                        text.push_str("\n> ");
                        text.push_str(&words.join(" "));
                        text.push('\n');
                    }
                }
            }
            text
        }

        /// The quotations of a generated text, in order (unquoted words hold no quote marks).
        fn quotations(text: &str) -> Vec<String> {
            let mut found = Vec::new();
            let mut chars = text.char_indices();
            while let Some((start, c)) = chars.next() {
                let close = match c {
                    '"' => '"',
                    '”' | '“' => '”',
                    '«' => '»',
                    '»' => '»',
                    _ => continue,
                };
                if let Some((end, _)) = chars.by_ref().find(|&(_, d)| d == close) {
                    found.push(text[start..end + close.len_utf8()].to_owned());
                }
            }
            found
        }

        fn blockquote_lines(text: &str) -> Vec<&str> {
            text.lines().filter(|line| line.starts_with('>')).collect()
        }

        fn doubled_count(text: &str) -> usize {
            DOUBLED.iter().map(|r| r.find_iter(text).count()).sum()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn apply_is_idempotent_and_respects_quotes(
                pieces in prop::collection::vec(piece(), 1..8)
            ) {
                let text = render(&pieces);
                let (once, _) = BUILTIN.apply(&text);
                let (twice, corrections) = BUILTIN.apply(&once);
                prop_assert_eq!(&twice, &once);
                prop_assert!(corrections.is_empty());
                prop_assert!(doubled_count(&once) <= doubled_count(&text));
                prop_assert_eq!(quotations(&once), quotations(&text));
                prop_assert_eq!(blockquote_lines(&once), blockquote_lines(&text));
            }
        }
    }
}
