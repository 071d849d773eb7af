//! Intent classification by keyword rules and routing of an intent to collections.
//!
//! The rules live in a TOML table (built in: `assets/routing.toml`, which documents the
//! format): per intent, keywords (English and Swedish), primary and support collections,
//! and how many candidates to take from each tier.

use std::path::Path;

use serde::Deserialize;

use super::references;
use super::types::Intent;

/// The built-in routing table.
const BUILTIN: &str = include_str!("../../assets/routing.toml");

/// Intents that keywords can select, in tie-break order (most specific first).
const CLASSIFIED: [Intent; 4] = [
    Intent::Practical,
    Intent::ParliamentPolicy,
    Intent::Research,
    Intent::LegalText,
];

/// The routing table as written in TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutingFile {
    legal_text: IntentSection,
    practical: IntentSection,
    parliament_policy: IntentSection,
    research: IntentSection,
    unknown: IntentSection,
}

/// One intent's section of the TOML table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentSection {
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    primary: Vec<String>,
    #[serde(default)]
    support: Vec<String>,
    primary_budget: usize,
    #[serde(default)]
    support_budget: usize,
}

/// A keyword: lowercase words, optionally open (`*`) at either end.
#[derive(Debug, Clone)]
struct Keyword {
    /// The keyword without `*`, lowercase, single spaces.
    core: String,
    /// Any letters may come before the core.
    open_start: bool,
    /// Any letters may come after the core.
    open_end: bool,
}

/// One intent's keywords and collections.
#[derive(Debug, Clone)]
struct IntentRule {
    intent: Intent,
    keywords: Vec<Keyword>,
    primary: Vec<String>,
    support: Vec<String>,
    primary_budget: usize,
    support_budget: usize,
}

/// Keyword rules per intent and the collections each intent is routed to.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    rules: Vec<IntentRule>,
}

/// Where one question is searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Collections searched first (all available ones when `fallback`).
    pub primary: Vec<String>,
    /// Collections searched for supporting material; never also in `primary`.
    pub support: Vec<String>,
    /// Routed collections that do not exist (the caller logs a warning).
    pub skipped: Vec<String>,
    /// Candidates taken from the primary tier.
    pub primary_budget: usize,
    /// Candidates taken from the support tier (0 when it is empty).
    pub support_budget: usize,
    /// True when no routed primary collection exists and every available one is searched.
    pub fallback: bool,
}

impl RoutingTable {
    /// Parses and checks a routing table written in TOML.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: RoutingFile =
            toml::from_str(text).map_err(|err| format!("invalid routing table: {err}"))?;
        if !file.unknown.keywords.is_empty() {
            return Err("invalid routing table: [unknown] takes no keywords".to_owned());
        }
        let sections = [
            (Intent::LegalText, file.legal_text),
            (Intent::Practical, file.practical),
            (Intent::ParliamentPolicy, file.parliament_policy),
            (Intent::Research, file.research),
            (Intent::Unknown, file.unknown),
        ];
        let rules = sections
            .into_iter()
            .map(|(intent, section)| IntentRule::new(intent, section))
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// Reads a routing table from a TOML file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        Self::from_toml(&text).map_err(|err| format!("{}: {err}", path.display()))
    }

    /// The built-in table (`assets/routing.toml`).
    pub fn builtin() -> Self {
        Self::from_toml(BUILTIN).expect("the built-in routing table is valid")
    }

    /// The rule of `intent`.
    fn rule(&self, intent: Intent) -> &IntentRule {
        self.rules
            .iter()
            .find(|rule| rule.intent == intent)
            .expect("every intent has a rule")
    }

    /// Where a question of `intent` is searched, given the collections that exist.
    ///
    /// Routed collections that are not `available` are `skipped`; when no primary one is
    /// available, every available collection becomes primary (`fallback`) and the support
    /// tier is empty.
    pub fn route(&self, intent: Intent, available: &[String]) -> Route {
        let rule = self.rule(intent);
        let is_available = |name: &String| available.contains(name);
        let mut primary = unique(rule.primary.iter().filter(|name| is_available(name)));
        let mut support = unique(
            rule.support
                .iter()
                .filter(|name| is_available(name) && !primary.contains(name)),
        );
        let skipped = unique(
            rule.primary
                .iter()
                .chain(&rule.support)
                .filter(|name| !is_available(name)),
        );
        let fallback = primary.is_empty();
        if fallback {
            primary = unique(available.iter());
            support.clear();
        }
        let support_budget = if support.is_empty() {
            0
        } else {
            rule.support_budget
        };
        Route {
            primary,
            support,
            skipped,
            primary_budget: rule.primary_budget,
            support_budget,
            fallback,
        }
    }
}

impl IntentRule {
    /// Checks and compiles one intent's section.
    fn new(intent: Intent, section: IntentSection) -> Result<Self, String> {
        let name = intent_name(intent);
        if section.primary_budget == 0 {
            return Err(format!(
                "invalid routing table: [{name}] primary_budget must be > 0"
            ));
        }
        let mut names = section.primary.iter().chain(&section.support);
        if let Some(blank) = names.find(|collection| collection.trim().is_empty()) {
            return Err(format!(
                "invalid routing table: [{name}] has a blank collection name {blank:?}"
            ));
        }
        let keywords = section
            .keywords
            .iter()
            .map(|keyword| Keyword::new(keyword).map_err(|err| format!("[{name}] {err}")))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            intent,
            keywords,
            primary: section.primary,
            support: section.support,
            primary_budget: section.primary_budget,
            support_budget: section.support_budget,
        })
    }

    /// Number of this intent's keywords found in `question` (normalised by [`normalize`]).
    fn hits(&self, question: &str) -> usize {
        self.keywords
            .iter()
            .filter(|keyword| keyword.is_in(question))
            .count()
    }
}

impl Keyword {
    /// Parses `keyword`: whole words, a `*` at an end matching any letters there.
    fn new(keyword: &str) -> Result<Self, String> {
        let trimmed = keyword.trim();
        let core = normalize(trimmed.trim_matches('*'));
        if core.is_empty() {
            return Err(format!("invalid routing table: empty keyword {keyword:?}"));
        }
        Ok(Self {
            core,
            open_start: trimmed.starts_with('*'),
            open_end: trimmed.ends_with('*'),
        })
    }

    /// Whether the keyword occurs in the normalised `text` with its word boundaries.
    fn is_in(&self, text: &str) -> bool {
        let needs_start = !self.open_start && self.core.starts_with(char::is_alphanumeric);
        let needs_end = !self.open_end && self.core.ends_with(char::is_alphanumeric);
        text.match_indices(&self.core).any(|(start, found)| {
            let before = text[..start].chars().next_back();
            let after = text[start + found.len()..].chars().next();
            let glued_before = needs_start && before.is_some_and(char::is_alphanumeric);
            let glued_after = needs_end && after.is_some_and(char::is_alphanumeric);
            !glued_before && !glued_after
        })
    }
}

/// The intent of `question`: the one with the most keyword hits (statute references count
/// for legal text); ties go to the more specific intent; `Unknown` without any hit.
pub fn classify_intent(question: &str, table: &RoutingTable) -> Intent {
    let references = references::find(question).len();
    let question = normalize(question);
    let mut best = (Intent::Unknown, 0);
    for intent in CLASSIFIED {
        let mut hits = table.rule(intent).hits(&question);
        if intent == Intent::LegalText {
            hits += references;
        }
        if hits > best.1 {
            best = (intent, hits);
        }
    }
    best.0
}

/// `text` lowercased with single spaces, as keywords are matched.
fn normalize(text: &str) -> String {
    text.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The TOML section name of `intent`.
fn intent_name(intent: Intent) -> &'static str {
    match intent {
        Intent::LegalText => "legal_text",
        Intent::Practical => "practical",
        Intent::ParliamentPolicy => "parliament_policy",
        Intent::Research => "research",
        Intent::Unknown => "unknown",
    }
}

/// The names, each once, in order.
fn unique<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for name in names {
        if !kept.contains(name) {
            kept.push(name.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    fn intent(question: &str) -> Intent {
        classify_intent(question, &RoutingTable::builtin())
    }

    #[test]
    fn builtin_table_is_valid() {
        let table = RoutingTable::builtin();
        assert_eq!(table.rules.len(), 5);
    }

    #[test]
    fn legal_text_questions() {
        for question in [
            "Vad säger lagen om allemansrätt?",
            "Vad står i RF 2 kap. 1 §?",
            "What does the statute say about consent?",
            "Explain Article 6",
            "Vad innebär SFS 2009:400?",
            "Vilka bestämmelser finns i förvaltningslagen?",
        ] {
            assert_eq!(intent(question), Intent::LegalText, "{question}");
        }
    }

    #[test]
    fn practical_questions() {
        for question in [
            "Hur ansöker jag om bygglov?",
            "How do I apply for a residence permit?",
            "Vilken blankett ska jag använda?",
            "What is the deadline to appeal?",
            "Hur överklagar jag ett beslut enligt förvaltningslagen?",
        ] {
            assert_eq!(intent(question), Intent::Practical, "{question}");
        }
    }

    #[test]
    fn parliament_policy_questions() {
        for question in [
            "Vad beslutade riksdagen om försvaret?",
            "Which committee handled the bill on data retention?",
            "Finns det en motion om vargjakt?",
            "Vad står i konstitutionsutskottets betänkande?",
        ] {
            assert_eq!(intent(question), Intent::ParliamentPolicy, "{question}");
        }
    }

    #[test]
    fn research_questions() {
        for question in [
            "Finns det forskning om digitalt utanförskap?",
            "Is there a study on the effects of camera surveillance?",
            "Vad kom utredningen fram till i SOU 2020:1?",
        ] {
            assert_eq!(intent(question), Intent::Research, "{question}");
        }
    }

    #[test]
    fn unknown_questions() {
        for question in [
            "Hej",
            "Vem var Gustav Vasa?",
            "What is the capital of Norway?",
        ] {
            assert_eq!(intent(question), Intent::Unknown, "{question}");
        }
    }

    fn keyword_in(keyword: &str, text: &str) -> bool {
        Keyword::new(keyword).unwrap().is_in(&normalize(text))
    }

    #[test]
    fn keywords_match_whole_words_and_wildcards() {
        assert!(keyword_in("lag", "en ny lag."));
        assert!(!keyword_in("lag", "förslag"));
        assert!(!keyword_in("lag", "lagen"));
        assert!(keyword_in("överklaga*", "Hur Överklagar jag?"));
        assert!(keyword_in("*lagen", "förvaltningslagen gäller"));
        assert!(keyword_in("*lagen", "lagen gäller"));
        assert!(!keyword_in("*lagen", "förvaltningslagens"));
        assert!(keyword_in("How do I", "So, how  do\nI apply?"));
        assert!(keyword_in("§", "1§"));
        assert!(keyword_in("kap.", "2 kap.1 §"));
        assert!(Keyword::new("*").is_err());
        assert!(Keyword::new(" ** ").is_err());
    }

    #[test]
    fn routes_to_available_collections() {
        let table = RoutingTable::builtin();
        let available = names(&["sfs", "prop", "riksdagen", "myndigheter"]);
        let route = table.route(Intent::LegalText, &available);
        assert_eq!(route.primary, ["sfs"]);
        assert_eq!(route.support, ["prop"]);
        assert_eq!(route.skipped, ["lagtext", "statutes", "forarbeten"]);
        assert_eq!((route.primary_budget, route.support_budget), (20, 8));
        assert!(!route.fallback);
        let route = table.route(Intent::Practical, &available);
        assert_eq!(route.primary, ["myndigheter"]);
        assert_eq!(route.support, ["sfs"]);
    }

    #[test]
    fn a_collection_is_never_in_both_tiers() {
        let table = RoutingTable::builtin();
        let available = names(&["riksdagen", "prop", "sou", "sfs"]);
        let route = table.route(Intent::ParliamentPolicy, &available);
        assert_eq!(route.primary, ["riksdagen", "prop", "sou"]);
        assert_eq!(route.support, ["sfs"]);
        let route = table.route(Intent::Research, &available);
        assert_eq!(route.primary, ["sou"]);
        assert_eq!(route.support, ["riksdagen"]);
        assert_eq!(route.skipped, ["research"]);
    }

    #[test]
    fn falls_back_to_every_available_collection() {
        let table = RoutingTable::builtin();
        let available = names(&["laws", "guides_en", "prop"]);
        let route = table.route(Intent::LegalText, &available);
        assert!(route.fallback);
        assert_eq!(route.primary, available);
        assert!(route.support.is_empty());
        assert_eq!(route.support_budget, 0);
        assert_eq!(route.skipped, ["sfs", "lagtext", "statutes", "forarbeten"]);
        let route = table.route(Intent::Unknown, &available);
        assert!(route.fallback);
        assert_eq!(route.primary, available);
        assert!(route.skipped.is_empty());
        let route = table.route(Intent::Unknown, &[]);
        assert!(route.fallback && route.primary.is_empty());
    }

    #[test]
    fn custom_tables_and_errors() {
        let text = BUILTIN.replace(
            "primary = [\"sfs\", \"lagtext\", \"statutes\"]",
            "primary = [\"laws\"]",
        );
        let table = RoutingTable::from_toml(&text).unwrap();
        let route = table.route(Intent::LegalText, &names(&["laws", "sfs"]));
        assert_eq!(route.primary, ["laws"]);
        assert!(RoutingTable::from_toml("").is_err());
        let unknown_field = format!("{BUILTIN}\n[other]\nprimary_budget = 1\n");
        assert!(RoutingTable::from_toml(&unknown_field).is_err());
        let zero_budget = BUILTIN.replace("primary_budget = 20", "primary_budget = 0");
        let error = RoutingTable::from_toml(&zero_budget).unwrap_err();
        assert!(error.contains("primary_budget"), "{error}");
        let keywords_for_unknown =
            BUILTIN.replace("[unknown]\n", "[unknown]\nkeywords = [\"x\"]\n");
        assert!(RoutingTable::from_toml(&keywords_for_unknown).is_err());
    }

    #[test]
    fn load_reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("routing.toml");
        std::fs::write(&path, BUILTIN).unwrap();
        assert!(RoutingTable::load(&path).is_ok());
        let missing = RoutingTable::load(&dir.path().join("missing.toml")).unwrap_err();
        assert!(missing.contains("missing.toml"), "{missing}");
    }
}
