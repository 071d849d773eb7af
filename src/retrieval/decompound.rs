//! Swedish compound splitting for BM25, driven by the Hunspell dictionary `sv_SE`.
//!
//! The dictionary says which words may start (`COMPOUNDBEGIN`), continue (`COMPOUNDMIDDLE`)
//! or end (`COMPOUNDEND`) a compound, and its suffix rules whose continuation carries those
//! flags produce the linking forms (`arbete` → `arbets`, `skatt` → `skatte`, `förälder` →
//! `föräldra`). A word splits when it is a chain of such forms, at most
//! `COMPOUNDWORDMAX` long, with the last one possibly inflected (`lagen`); the split with
//! the fewest parts (then the longest) wins, and each part is split again. Words that are
//! not chains of compound forms (`förhandling`: `för` may not start a compound) and
//! proper names stay whole.
//!
//! The analyzer keeps the whole word and adds the parts, each as its dictionary word
//! (`tryckfrihets` → `tryckfrihet`, `lagen` → `lag`) and as written, so the Snowball
//! stemmer treats the parts like free-standing words.

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::{fs, io};

use hashbrown::{HashMap, HashSet};

use super::folding::fold_swedish_word;
use super::word_cache::{CACHE_ENTRIES, cache_index};

/// Dictionary file name inside the dictionary folder.
pub const DIC_FILE: &str = "sv_SE.dic";
/// Affix file name inside the dictionary folder.
pub const AFF_FILE: &str = "sv_SE.aff";

/// Fewest letters in a part (shorter dictionary entries are mostly abbreviations and
/// particles that would split ordinary words into junk).
const MIN_PART_CHARS: usize = 3;
/// Fewest letters in a word worth splitting.
const MIN_WORD_CHARS: usize = 2 * MIN_PART_CHARS;

/// The compound-related flags of the affix file.
#[derive(Debug, Clone, Copy)]
struct CompoundFlags {
    begin: char,
    middle: char,
    end: char,
    need_affix: char,
    only_in_compound: char,
    forbidden: char,
    max_parts: usize,
}

impl Default for CompoundFlags {
    fn default() -> Self {
        // Hunspell has no defaults for these; unset flags never match a real flag.
        Self {
            begin: '\0',
            middle: '\0',
            end: '\0',
            need_affix: '\0',
            only_in_compound: '\0',
            forbidden: '\0',
            max_parts: 4,
        }
    }
}

/// One letter position of a suffix rule's condition.
#[derive(Debug, Clone)]
enum CharClass {
    Any,
    OneOf(Vec<char>),
    NoneOf(Vec<char>),
}

impl CharClass {
    fn matches(&self, c: char) -> bool {
        match self {
            CharClass::Any => true,
            CharClass::OneOf(set) => set.contains(&c),
            CharClass::NoneOf(set) => !set.contains(&c),
        }
    }
}

/// A suffix rule: strip `strip` from a word ending in `condition`, append `add`.
#[derive(Debug, Clone)]
struct SuffixRule {
    flag: char,
    strip: String,
    add: String,
    /// Flags the derived form carries (compound flags for linking forms).
    continuation: String,
    condition: Vec<CharClass>,
}

impl SuffixRule {
    /// The form this rule derives from `root`, if it applies.
    fn apply(&self, root: &str) -> Option<String> {
        let stem = root.strip_suffix(self.strip.as_str())?;
        self.condition_holds(root)
            .then(|| format!("{stem}{}", self.add))
    }

    /// Whether the rule derives a linking form (its result may begin or continue a compound).
    fn links(&self, flags: &CompoundFlags) -> bool {
        self.continuation.contains(flags.begin) || self.continuation.contains(flags.middle)
    }

    fn condition_holds(&self, root: &str) -> bool {
        let mut letters = root.chars().rev();
        self.condition
            .iter()
            .rev()
            .all(|class| letters.next().is_some_and(|c| class.matches(c)))
    }
}

/// Which compound positions a linking form may take, and its dictionary word.
#[derive(Debug, Clone, Default)]
struct Link {
    begin: bool,
    middle: bool,
    root: Box<str>,
}

/// A part of a split word: the text as written and the dictionary word it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece<'a> {
    written: &'a str,
    word: &'a str,
}

/// Swedish compound splitter over the Hunspell dictionary; load once and share.
#[derive(Debug)]
pub struct Decompounder {
    /// Tells this dictionary's entries in the per-thread split cache from another's.
    id: usize,
    flags: CompoundFlags,
    /// Lowercase, folded dictionary words and their flags.
    words: Words,
    /// Lowercase proper names of the dictionary (never split).
    names: HashSet<Box<str>>,
    /// Linking forms derived by suffix rules that carry compound flags.
    links: HashMap<Box<str>, Link>,
    /// Inflecting suffix rules by the text they append.
    inflections: HashMap<Box<str>, Vec<SuffixRule>>,
    /// Longest appended text of an inflecting rule, in bytes.
    longest_suffix: usize,
}

impl Decompounder {
    /// Loads `sv_SE.dic` and `sv_SE.aff` from `dir`.
    pub fn load(dir: &Path) -> io::Result<Self> {
        let aff = fs::read_to_string(dir.join(AFF_FILE))?;
        let dic = fs::read_to_string(dir.join(DIC_FILE))?;
        Ok(Self::from_sources(&aff, &dic))
    }

    /// Builds the splitter from the text of the affix and dictionary files.
    pub fn from_sources(aff: &str, dic: &str) -> Self {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(0);
        let (flags, rules) = parse_affixes(aff);
        let (mut words, names) = read_dictionary(dic, &flags);
        let mut links = linking_forms(&words, &rules, &flags);
        let mut inflections: HashMap<Box<str>, Vec<SuffixRule>> = HashMap::new();
        for rule in rules.into_iter().filter(|rule| !rule.links(&flags)) {
            inflections
                .entry(rule.add.as_str().into())
                .or_default()
                .push(rule);
        }
        let longest_suffix = inflections.keys().map(|add| add.len()).max().unwrap_or(0);
        words.shrink_to_fit();
        links.shrink_to_fit();
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            flags,
            words,
            names,
            links,
            inflections,
            longest_suffix,
        }
    }

    /// Number of dictionary words and linking forms known.
    pub fn form_count(&self) -> usize {
        self.words.len() + self.links.len()
    }

    /// Calls `emit` with every part of the lowercase Swedish word `word` (none when it does
    /// not split): each part as its dictionary word and as written, parts of parts too, each
    /// once and never the word itself.
    pub fn for_each_part(&self, word: &str, mut emit: impl FnMut(&str)) {
        SPLITS.with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                let mut parts = Vec::new();
                self.collect_parts(word, &mut parts);
                return parts.into_iter().for_each(emit);
            };
            if cache.is_empty() {
                cache.resize_with(CACHE_ENTRIES, || None);
            }
            let entry = &mut cache[cache_index(word)];
            let cached = entry
                .as_ref()
                .is_some_and(|e| e.dictionary == self.id && *e.word == *word);
            if !cached {
                let mut parts = Vec::new();
                self.collect_parts(word, &mut parts);
                *entry = Some(CachedSplit {
                    dictionary: self.id,
                    word: word.into(),
                    parts: parts.into_iter().map(Box::from).collect(),
                });
            }
            for part in entry.iter().flat_map(|e| e.parts.iter()) {
                emit(part);
            }
        });
    }

    /// The parts of `word` as [`for_each_part`](Self::for_each_part) emits them.
    pub fn parts(&self, word: &str) -> Vec<String> {
        let mut parts = Vec::new();
        self.for_each_part(word, |part| parts.push(part.to_owned()));
        parts
    }

    fn collect_parts<'a>(&'a self, word: &'a str, out: &mut Vec<&'a str>) {
        let Some(split) = self.best_split(word) else {
            return;
        };
        for piece in split {
            // The part as written too: Snowball does not always bring a form and its word
            // together (`föräldra` and `föräldrar`, not `förälder`; not `missbruket`).
            for part in [piece.word, piece.written] {
                if part != word && !out.contains(&part) {
                    out.push(part);
                    self.collect_parts(part, out);
                }
            }
        }
    }

    /// The split of `word` with the fewest parts, then the longest, if any.
    fn best_split<'a>(&'a self, word: &'a str) -> Option<Vec<Piece<'a>>> {
        if word.chars().count() < MIN_WORD_CHARS
            || self.names.contains(word)
            || !word.chars().all(char::is_alphabetic)
        {
            return None;
        }
        let mut best: Option<Vec<Piece<'a>>> = None;
        let mut current = Vec::new();
        self.search(word, 0, &mut current, &mut best);
        best
    }

    /// Depth-first search over the splits of `word[start..]` extending `current`.
    fn search<'a>(
        &'a self,
        word: &'a str,
        start: usize,
        current: &mut Vec<Piece<'a>>,
        best: &mut Option<Vec<Piece<'a>>>,
    ) {
        let rest = &word[start..];
        if let Some(best) = best
            && current.len() + 1 > best.len()
        {
            return;
        }
        if !current.is_empty()
            && rest.chars().count() >= MIN_PART_CHARS
            && current.last().is_none_or(|p| p.written != rest)
            && let Some(root) = self.end_root(rest)
        {
            current.push(Piece {
                written: rest,
                word: root,
            });
            if best.as_ref().is_none_or(|b| better(current, b)) {
                *best = Some(current.clone());
            }
            current.pop();
        }
        if current.len() + 2 > self.flags.max_parts {
            return;
        }
        let position = if current.is_empty() {
            Position::Begin
        } else {
            Position::Middle
        };
        for (offset, _) in rest.char_indices().skip(MIN_PART_CHARS) {
            let (head, tail) = rest.split_at(offset);
            if tail.chars().count() < MIN_PART_CHARS {
                break;
            }
            let Some(root) = self.inner_root(head, position) else {
                continue;
            };
            if current.last().is_some_and(|p| p.written == head) {
                continue;
            }
            current.push(Piece {
                written: head,
                word: root,
            });
            self.search(word, start + offset, current, best);
            current.pop();
        }
    }

    /// The dictionary word of `form` when it may stand at `position` inside a compound.
    fn inner_root<'a>(&'a self, form: &'a str, position: Position) -> Option<&'a str> {
        let flag = match position {
            Position::Begin => self.flags.begin,
            Position::Middle => self.flags.middle,
        };
        if let Some(link) = self.links.get(form) {
            let allowed = match position {
                Position::Begin => link.begin,
                Position::Middle => link.middle,
            };
            if allowed {
                return Some(&link.root);
            }
        }
        let (word, flags) = self.words.get_key_value(form)?;
        flags.contains(flag).then_some(word)
    }

    /// The dictionary word of `form` when `form` may end a compound: a word with the end
    /// flag, or an inflection of one (`lagen`: `lag`).
    fn end_root<'a>(&'a self, form: &'a str) -> Option<&'a str> {
        if let Some((word, flags)) = self.words.get_key_value(form)
            && flags.contains(self.flags.end)
            && !flags.contains(self.flags.need_affix)
        {
            return Some(word);
        }
        let longest = self.longest_suffix.min(form.len());
        (0..=longest).find_map(|len| {
            let cut = form.len() - len;
            let (stem, added) = (form.get(..cut)?, form.get(cut..)?);
            self.inflections.get(added)?.iter().find_map(|rule| {
                let root = format!("{stem}{}", rule.strip);
                let (word, flags) = self.words.get_key_value(root.as_str())?;
                (rule.condition_holds(&root)
                    && flags.contains(self.flags.end)
                    && flags.contains(rule.flag))
                .then_some(&**word)
            })
        })
    }
}

/// The parts of a recently split word.
struct CachedSplit {
    dictionary: usize,
    word: Box<str>,
    parts: Box<[Box<str>]>,
}

thread_local! {
    /// Parts of recently seen words (most words are frequent and most do not split; a
    /// split costs dozens of lookups).
    static SPLITS: RefCell<Vec<Option<CachedSplit>>> = const { RefCell::new(Vec::new()) };
}

/// Makes `root` the root of `link` when it is the better one: of several roots deriving
/// one form the longest (`nyhets`: `nyhet`), then the first in order, so the choice does
/// not depend on hash order.
fn keep_root(link: &mut Link, root: &str) {
    let key = |word: &str| (word.chars().count(), std::cmp::Reverse(word.to_owned()));
    if link.root.is_empty() || key(root) > key(&link.root) {
        link.root = root.into();
    }
}

#[derive(Debug, Clone, Copy)]
enum Position {
    Begin,
    Middle,
}

/// Fewer parts first, then the larger sum of squared part lengths (longer parts), then the
/// shorter last part (Swedish compounds branch to the left: `arbetsmiljö|ansvar`).
fn better(candidate: &[Piece<'_>], best: &[Piece<'_>]) -> bool {
    let key = |split: &[Piece<'_>]| {
        let weight: usize = split.iter().map(|p| p.written.chars().count().pow(2)).sum();
        let last = split.last().map_or(0, |p| p.written.len());
        (
            std::cmp::Reverse(split.len()),
            weight,
            std::cmp::Reverse(last),
        )
    };
    key(candidate) > key(best)
}

/// Lowercase, folded dictionary words and their flags.
type Words = HashMap<Box<str>, Box<str>>;

/// The words of a `.dic` file with their flags (forbidden words left out), and its proper
/// names that are not also common words.
fn read_dictionary(dic: &str, flags: &CompoundFlags) -> (Words, HashSet<Box<str>>) {
    let mut words = Words::new();
    let mut names = HashSet::new();
    for line in dic.lines().skip(1) {
        let (word, word_flags) = line.split_once('/').unwrap_or((line, ""));
        let word_flags = word_flags.split_whitespace().next().unwrap_or("");
        if word_flags.contains(flags.forbidden) {
            continue;
        }
        let Some(folded) = fold_swedish_word(word) else {
            continue;
        };
        if word.chars().any(char::is_uppercase) {
            names.insert(folded.into_boxed_str());
            continue;
        }
        words
            .entry(folded.into_boxed_str())
            .and_modify(|known| *known = format!("{known}{word_flags}").into())
            .or_insert_with(|| word_flags.into());
    }
    names.retain(|name| !words.contains_key(name));
    (words, names)
}

/// The linking forms of `words`: derived by the rules that carry compound flags
/// (`arbete` → `arbets`), and those listed as words of their own (`skatte`), whose root is
/// the word such a rule would derive them from.
fn linking_forms(
    words: &Words,
    rules: &[SuffixRule],
    flags: &CompoundFlags,
) -> HashMap<Box<str>, Link> {
    let mut by_flag: HashMap<char, Vec<&SuffixRule>> = HashMap::new();
    for rule in rules.iter().filter(|rule| rule.links(flags)) {
        by_flag.entry(rule.flag).or_default().push(rule);
    }
    let mut links: HashMap<Box<str>, Link> = HashMap::new();
    for (word, word_flags) in words {
        for flag in word_flags.chars() {
            for rule in by_flag.get(&flag).into_iter().flatten() {
                let Some(form) = rule.apply(word) else {
                    continue;
                };
                let link = links.entry(form.into_boxed_str()).or_default();
                keep_root(link, word);
                link.begin |= rule.continuation.contains(flags.begin);
                link.middle |= rule.continuation.contains(flags.middle);
            }
        }
    }
    for (form, form_flags) in words {
        if !form_flags.contains(flags.only_in_compound) {
            continue;
        }
        let root = rules
            .iter()
            .filter(|rule| rule.links(flags))
            .filter_map(|rule| {
                let stem = form.strip_suffix(rule.add.as_str())?;
                let root = format!("{stem}{}", rule.strip);
                let (known, known_flags) = words.get_key_value(root.as_str())?;
                (rule.condition_holds(&root) && !known_flags.contains(flags.only_in_compound))
                    .then_some(known)
            })
            .max_by_key(|root| (root.chars().count(), std::cmp::Reverse(*root)));
        if let Some(root) = root {
            let link = links.entry(form.clone()).or_default();
            link.begin |= form_flags.contains(flags.begin);
            link.middle |= form_flags.contains(flags.middle);
            keep_root(link, root);
        }
    }
    links
}

/// The compound flags and suffix rules of an affix file.
fn parse_affixes(aff: &str) -> (CompoundFlags, Vec<SuffixRule>) {
    let mut flags = CompoundFlags::default();
    let mut rules = Vec::new();
    let first_char = |value: Option<&str>| value.and_then(|v| v.chars().next()).unwrap_or('\0');
    for line in aff.lines() {
        let mut fields = line.split_whitespace();
        match fields.next() {
            Some("COMPOUNDBEGIN") => flags.begin = first_char(fields.next()),
            Some("COMPOUNDMIDDLE") => flags.middle = first_char(fields.next()),
            Some("COMPOUNDEND") => flags.end = first_char(fields.next()),
            Some("NEEDAFFIX") => flags.need_affix = first_char(fields.next()),
            Some("ONLYINCOMPOUND") => flags.only_in_compound = first_char(fields.next()),
            Some("FORBIDDENWORD") => flags.forbidden = first_char(fields.next()),
            Some("COMPOUNDWORDMAX") => {
                if let Some(max) = fields.next().and_then(|v| v.parse().ok()) {
                    flags.max_parts = max;
                }
            }
            Some("SFX") => {
                let fields: Vec<&str> = fields.collect();
                // Rule lines have four fields or more; the header has three.
                if let [flag, strip, add, condition, ..] = fields[..] {
                    let (add, continuation) = add.split_once('/').unwrap_or((add, ""));
                    let zero = |s: &str| {
                        if s == "0" {
                            String::new()
                        } else {
                            s.to_owned()
                        }
                    };
                    rules.push(SuffixRule {
                        flag: first_char(Some(flag)),
                        strip: zero(strip),
                        add: zero(add),
                        continuation: continuation.to_owned(),
                        condition: parse_condition(condition),
                    });
                }
            }
            _ => {}
        }
    }
    (flags, rules)
}

/// A condition such as `[^ae]`, `.` or `lå`, one class per letter.
fn parse_condition(condition: &str) -> Vec<CharClass> {
    let mut classes = Vec::new();
    let mut chars = condition.chars();
    while let Some(c) = chars.next() {
        let class = match c {
            '.' => CharClass::Any,
            '[' => {
                let mut set: Vec<char> = chars.by_ref().take_while(|&c| c != ']').collect();
                if set.first() == Some(&'^') {
                    set.remove(0);
                    CharClass::NoneOf(set)
                } else {
                    CharClass::OneOf(set)
                }
            }
            c => CharClass::OneOf(vec![c]),
        };
        classes.push(class);
    }
    classes
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    /// The dictionary `just setup` installs; the tests fail without it.
    fn swedish() -> &'static Decompounder {
        static DICTIONARY: OnceLock<Decompounder> = OnceLock::new();
        DICTIONARY.get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/models/hunspell-sv");
            Decompounder::load(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}; run `just setup`", dir.display()))
        })
    }

    /// The chosen split as written.
    fn split(word: &str) -> Vec<&str> {
        swedish()
            .best_split(word)
            .unwrap_or_default()
            .into_iter()
            .map(|piece| piece.written)
            .collect()
    }

    #[test]
    fn splits_legal_compounds_at_their_linking_letters() {
        let cases: &[(&str, &[&str])] = &[
            ("alkoholmissbruk", &["alkohol", "missbruk"]),
            ("föräldrapenningen", &["föräldra", "penningen"]),
            (
                "tryckfrihetsförordningen",
                &["tryckfrihets", "förordningen"],
            ),
            ("arbetsmiljöansvar", &["arbetsmiljö", "ansvar"]),
            ("tillståndsmyndigheten", &["tillstånds", "myndigheten"]),
            ("offentlighetsprincipen", &["offentlighets", "principen"]),
            ("sekretesslagstiftningen", &["sekretess", "lagstiftningen"]),
            ("skattebrottslagen", &["skattebrotts", "lagen"]),
            ("rättegångsbalken", &["rättegångs", "balken"]),
            ("socialtjänstlagen", &["socialtjänst", "lagen"]),
            ("utlänningslagen", &["utlännings", "lagen"]),
            ("personuppgifter", &["person", "uppgifter"]),
        ];
        for (word, parts) in cases {
            assert_eq!(split(word), *parts, "{word}");
        }
    }

    #[test]
    fn parts_name_dictionary_words_and_split_again() {
        let cases: &[(&str, &[&str])] = &[
            (
                "tryckfrihetsförordningen",
                &[
                    "tryckfrihet",
                    "tryck",
                    "frihet",
                    "tryckfrihets",
                    "frihets",
                    "förordning",
                    "förordningen",
                ],
            ),
            (
                "arbetsmiljöansvar",
                &["arbetsmiljö", "arbeta", "arbets", "miljö", "ansvar"],
            ),
            (
                "föräldrapenningen",
                &["förälder", "föräldra", "penning", "penningen"],
            ),
            (
                "skattebrottslagen",
                &[
                    "skattebrott",
                    "skatta",
                    "skatte",
                    "brott",
                    "skattebrotts",
                    "brotts",
                    "lag",
                    "lagen",
                ],
            ),
        ];
        for (word, parts) in cases {
            assert_eq!(swedish().parts(word), *parts, "{word}");
        }
    }

    #[test]
    fn keeps_plain_words_short_words_and_names_whole() {
        for word in [
            "sambo",
            "förhandling",
            "förhandlingen",
            "myndigheten",
            "regeringen",
            "bestämmelse",
            "domstolen",
            "ersättning",
            "lagstiftning",
            "föreskrifter",
            "handlingar",
            "missbruk",
            "lag",
            "brott",
            "karlsson",
            "andersson",
            "1974",
            "",
        ] {
            assert_eq!(swedish().parts(word), Vec::<String>::new(), "{word}");
        }
    }

    #[test]
    fn rule_conditions_read_hunspell_classes() {
        let rule = SuffixRule {
            flag: 'u',
            strip: String::new(),
            add: "es".into(),
            continuation: "WXZ".into(),
            condition: parse_condition("[^ae]"),
        };
        assert_eq!(rule.apply("säd").as_deref(), Some("sädes"));
        assert_eq!(rule.apply("hyra"), None);
    }
}
