//! Conversation history checks and the rewrite of follow-up questions into standalone ones.
//!
//! A follow-up starts with a connective ("and", "what about", "och", "vad med", …), points
//! back with a pronoun ("What are *its* penalties?", "Vad säger *den* om …?"), or is elliptic
//! (a few content words, no statute of its own). It is rewritten with the subject of the
//! conversation: the statute last named (user turns first, then assistant turns, newest
//! first), else the topic of the last user question.

use std::sync::LazyLock;

use regex::Regex;

use super::language;
use super::mode;
use super::references;
use super::terms;
use super::types::{ResolvedMode, Turn, TurnRole};
use crate::error::{AppError, AppResult};
use crate::retrieval::analyzer::AnalyzerLanguage;

/// Limits on the conversation history of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    /// Most turns allowed.
    pub max_messages: usize,
    /// Most characters in one turn.
    pub max_message_chars: usize,
    /// Most characters in all turns together.
    pub max_total_chars: usize,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        Self {
            max_messages: 20,
            max_message_chars: 8000,
            max_total_chars: 32000,
        }
    }
}

/// Checks `history` against `limits`; a violation is a 400 naming the offending turn.
pub fn validate_history(history: &[Turn], limits: &HistoryLimits) -> AppResult<()> {
    if history.len() > limits.max_messages {
        return Err(AppError::invalid(
            "history_too_long",
            format!(
                "history has {} messages; at most {} are allowed",
                history.len(),
                limits.max_messages
            ),
        ));
    }
    let mut total = 0;
    for (index, turn) in history.iter().enumerate() {
        if turn.content.trim().is_empty() {
            return Err(AppError::invalid(
                "empty_history_message",
                format!("history[{index}] has empty content"),
            ));
        }
        let chars = turn.content.chars().count();
        if chars > limits.max_message_chars {
            return Err(AppError::invalid(
                "history_message_too_long",
                format!(
                    "history[{index}] has {chars} characters; at most {} are allowed per message",
                    limits.max_message_chars
                ),
            ));
        }
        total += chars;
    }
    if total > limits.max_total_chars {
        return Err(AppError::invalid(
            "history_too_large",
            format!(
                "history has {total} characters in all; at most {} are allowed",
                limits.max_total_chars
            ),
        ));
    }
    Ok(())
}

/// Leading words that continue the previous question, longest first.
const CONNECTIVES: &[&str] = &[
    "and what about",
    "and how about",
    "hur är det med",
    "och vad med",
    "what about",
    "how about",
    "vad med",
    "and",
    "och",
    "men",
    "but",
    "also",
    "också",
];

/// How a pronoun points back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PronounUse {
    /// `its`, `their`, `dess`, `deras`: replaced by the subject's genitive.
    Possessive,
    /// `där` ("there"): replaced by "i" and the subject.
    Place,
    /// Any other: replaced by the subject.
    Plain,
}

/// Pronouns that point back to the subject, with the pronoun in group `p`, most specific
/// first.
static PRONOUNS: LazyLock<Vec<(Regex, PronounUse)>> = LazyLock::new(|| {
    let pattern = |regex: &str, usage| {
        (
            Regex::new(&format!("(?i){regex}")).expect("valid pronoun regex"),
            usage,
        )
    };
    vec![
        pattern(r"\b(?P<p>its|their|dess|deras)\b", PronounUse::Possessive),
        pattern(
            r"\b(?:does|do|did|can|will|would|should)\s+(?P<p>it|they|this|that)\s+(?:say|mean|apply|cover|contain|require|state|allow|prohibit|include|govern|regulate)\b",
            PronounUse::Plain,
        ),
        pattern(
            r"\b(?:säger|innebär|omfattar|kräver|anger|tillåter|förbjuder|reglerar|innehåller)\s+(?P<p>den|det|de|denna|detta|dessa)\b",
            PronounUse::Plain,
        ),
        pattern(
            r"\bgäller\s+(?P<p>den|de|denna|detta|dessa)\b",
            PronounUse::Plain,
        ),
        pattern(
            r"\b(?:about|for|of|on|to|in|with|under|om|för|av|på|till|i|med|enligt)\s+(?P<p>it|them|this|that|den|det|dem|denna|detta|dessa)\s*[?.!]*\s*$",
            PronounUse::Plain,
        ),
        pattern(r"^\s*(?P<p>där)\b", PronounUse::Place),
        pattern(
            r"^\s*(?P<p>it|they|this|that|these|those|den|det|de|denna|detta|dessa)\b",
            PronounUse::Plain,
        ),
    ]
});

/// Question words and verbs that open a question.
const QUESTION_OPENERS: &str = "what which who whom whose when where why how is are does do did \
    can could should would will may must has have vad vilka vilken vilket vem vems när var \
    varför hur är finns gäller kan får ska måste har säger innebär krävs";

/// Prepositions that make a phrase a circumstance ("for companies", "för företag").
const PREPOSITIONS: &str = "for in on at under with within during after before för i på vid \
    under med inom efter före hos";

/// Most content words of a question that still count as elliptic.
const ELLIPTIC_MAX_TERMS: usize = 4;
/// Most words of a question that still count as elliptic.
const ELLIPTIC_MAX_WORDS: usize = 6;
/// Most words taken from an earlier question as its topic.
const TOPIC_MAX_WORDS: usize = 6;

/// Whether `question` continues an earlier one: connective-led, a pronoun pointing back
/// (when it names no statute itself), or elliptic; never a chat message ("Tack!").
pub fn is_follow_up(question: &str) -> bool {
    let question = question.trim();
    let continues = connective_len(question).is_some()
        || (find_pronoun(question).is_some() && !names_statute(question))
        || is_elliptic(question);
    continues && mode::classify(question) != ResolvedMode::Chat
}

/// The standalone form of the follow-up `question`, or `None` when it is standalone or the
/// history gives nothing to complete it with.
pub fn decontextualize(question: &str, history: &[Turn]) -> Option<String> {
    if !is_follow_up(question) {
        return None;
    }
    let context = Context::from_history(history)?;
    let last_user = turns_newest_first(history, TurnRole::User)
        .next()
        .unwrap_or_default();
    let language = language::detect_or(question, language::detect(last_user));
    let rewritten = rewrite(question.trim(), &context, language)?;
    let rewritten = finish_question(&rewritten);
    (!rewritten.is_empty() && rewritten != question.trim()).then_some(rewritten)
}

/// What the conversation is about.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Context {
    /// The statute last named, as written (`RF`, `the Data Protection Act`).
    law: Option<String>,
    /// The chapter last referred to, for a follow-up naming only a section (`Och 2 §?`).
    chapter: Option<u32>,
    /// Content words of the last user question, without statutes and references.
    topic: Option<String>,
}

impl Context {
    /// The context of `history`, or `None` when it names no statute and has no topic.
    fn from_history(history: &[Turn]) -> Option<Self> {
        let ordered = || {
            turns_newest_first(history, TurnRole::User)
                .chain(turns_newest_first(history, TurnRole::Assistant))
        };
        let law = ordered().find_map(|content| references::law_names(content).into_iter().next());
        let chapter = ordered().find_map(|content| {
            references::find(content)
                .into_iter()
                .find_map(|reference| reference.chapter)
        });
        let topic = turns_newest_first(history, TurnRole::User)
            .filter(|content| mode::classify(content) != ResolvedMode::Chat)
            .find_map(topic_of);
        (law.is_some() || topic.is_some()).then_some(Self {
            law,
            chapter,
            topic,
        })
    }

    /// The statute, else the topic.
    fn subject(&self) -> Option<&str> {
        self.law.as_deref().or(self.topic.as_deref())
    }
}

/// Non-blank contents of the turns by `role`, newest first.
fn turns_newest_first(history: &[Turn], role: TurnRole) -> impl Iterator<Item = &str> {
    history
        .iter()
        .rev()
        .filter(move |turn| turn.role == role && !turn.content.trim().is_empty())
        .map(|turn| turn.content.as_str())
}

/// The topic words of `question`: its content words outside statute names and references.
fn topic_of(question: &str) -> Option<String> {
    let rest = without_statutes(question);
    let words: Vec<&str> = terms::content_words(&rest, language::detect(question))
        .into_iter()
        .filter(|word| word.chars().count() > 1 && word.chars().any(char::is_alphabetic))
        .take(TOPIC_MAX_WORDS)
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// Rewrites `question` with `context`; `None` when nothing is left to ask.
fn rewrite(question: &str, context: &Context, language: AnalyzerLanguage) -> Option<String> {
    let rest = strip_connective(question);
    if !rest.chars().any(char::is_alphanumeric) {
        return None;
    }
    if let Some(replaced) = replace_pronoun(rest, context.subject()?, language) {
        return Some(shape_question(&replaced, true, false, context, language));
    }
    let own_law = !references::law_names(rest).is_empty();
    let (text, anchored) = match (&context.law, own_law) {
        (Some(law), false) => match with_law_before_reference(rest, law, context.chapter) {
            Some(text) => (text, true),
            None => (rest.to_owned(), false),
        },
        _ => (rest.to_owned(), own_law),
    };
    Some(shape_question(&text, anchored, own_law, context, language))
}

/// Turns `text` (a question or a phrase) into a question; `anchored` when it names its
/// statute, `own_law` when the follow-up itself named it.
fn shape_question(
    text: &str,
    anchored: bool,
    own_law: bool,
    context: &Context,
    language: AnalyzerLanguage,
) -> String {
    let swedish = language == AnalyzerLanguage::Swedish;
    let text = text.trim_end_matches(['?', '.', '!', ' ']);
    if is_question_form(text) {
        return match (anchored, &context.law, &context.topic) {
            (true, _, _) => text.to_owned(),
            (false, Some(law), _) if swedish => format!("{text} enligt {law}"),
            (false, Some(law), _) => format!("{text} under {law}"),
            (false, None, Some(topic)) if swedish => format!("{text} i fråga om {topic}"),
            (false, None, Some(topic)) => format!("{text} regarding {topic}"),
            (false, None, None) => text.to_owned(),
        };
    }
    if names_only_statutes(text) {
        let about = context.topic.as_deref().filter(|_| own_law || !anchored);
        return match (about, swedish) {
            (Some(topic), true) => format!("Vad säger {text} om {topic}"),
            (Some(topic), false) => format!("What does {text} say about {topic}"),
            (None, true) => format!("Vad säger {text}"),
            (None, false) => format!("What does {text} say"),
        };
    }
    let circumstance = starts_with_any(text, PREPOSITIONS);
    let text = &mid_sentence(text);
    match (anchored, &context.law, &context.topic, swedish) {
        (true, _, _, true) => format!("Hur är det med {text}"),
        (true, _, _, false) => format!("What about {text}"),
        (false, Some(law), _, true) if circumstance => format!("Vad gäller {text} enligt {law}"),
        (false, Some(law), _, false) if circumstance => format!("What applies {text} under {law}"),
        (false, Some(law), _, true) => format!("Vad säger {law} om {text}"),
        (false, Some(law), _, false) => format!("What does {law} say about {text}"),
        (false, None, Some(topic), true) => format!("Hur är det med {text} i fråga om {topic}"),
        (false, None, Some(topic), false) => format!("What about {text} regarding {topic}"),
        (false, None, None, true) => format!("Hur är det med {text}"),
        (false, None, None, false) => format!("What about {text}"),
    }
}

/// `text` with `law` written before its first statute reference that names no statute
/// (`2 kap. 2 §` → `RF 2 kap. 2 §`), and `chapter` before a lone `N §` (`2 §` →
/// `RF 2 kap. 2 §`); `None` when it has no such reference.
fn with_law_before_reference(text: &str, law: &str, chapter: Option<u32>) -> Option<String> {
    let reference = references::find(text)
        .into_iter()
        .find(|reference| reference.law.is_none())?;
    let start = text.find(&reference.text)?;
    let lone_section =
        reference.chapter.is_none() && reference.article.is_none() && reference.text.ends_with('§');
    let locator = match chapter.filter(|_| lone_section) {
        Some(chapter) => format!("{law} {chapter} kap."),
        None => law.to_owned(),
    };
    Some(format!("{}{locator} {}", &text[..start], &text[start..]))
}

/// Byte length of the connective `question` starts with, if any.
fn connective_len(question: &str) -> Option<usize> {
    CONNECTIVES.iter().find_map(|connective| {
        let head = question.get(..connective.len())?;
        let boundary = question[connective.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        (boundary && head.to_lowercase() == *connective).then_some(connective.len())
    })
}

/// `question` without its leading connective and the punctuation after it.
fn strip_connective(question: &str) -> &str {
    let rest = connective_len(question).map_or(question, |len| &question[len..]);
    rest.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | '-' | '–'))
        .trim_end()
}

/// The first pronoun of `text` that points back, with how it is used.
fn find_pronoun(text: &str) -> Option<(std::ops::Range<usize>, PronounUse)> {
    PRONOUNS.iter().find_map(|(regex, usage)| {
        let pronoun = regex.captures(text)?.name("p")?;
        Some((pronoun.range(), *usage))
    })
}

/// `text` with its first back-pointing pronoun replaced by `subject`, if it has one.
fn replace_pronoun(text: &str, subject: &str, language: AnalyzerLanguage) -> Option<String> {
    let (range, usage) = find_pronoun(text)?;
    let replacement = match usage {
        PronounUse::Possessive => genitive(subject, language),
        PronounUse::Place => format!("i {subject}"),
        PronounUse::Plain => subject.to_owned(),
    };
    Some(format!(
        "{}{replacement}{}",
        &text[..range.start],
        &text[range.end..]
    ))
}

/// The genitive of `subject`: `the Act's`, `RF:s`, `regeringsformens`.
fn genitive(subject: &str, language: AnalyzerLanguage) -> String {
    if language == AnalyzerLanguage::English {
        return format!("{subject}'s");
    }
    match subject.chars().next_back() {
        Some(last) if last.is_uppercase() || last.is_ascii_digit() || last == '§' => {
            format!("{subject}:s")
        }
        Some('s' | 'x' | 'z') => subject.to_owned(),
        _ => format!("{subject}s"),
    }
}

/// Whether `text` names a statute or a statute reference.
fn names_statute(text: &str) -> bool {
    !references::law_names(text).is_empty() || !references::find(text).is_empty()
}

/// Whether `text` is nothing but statute names and references.
fn names_only_statutes(text: &str) -> bool {
    names_statute(text)
        && terms::content_words(&without_statutes(text), language::detect(text)).is_empty()
}

/// `text` with its statute names and statute references blanked out.
fn without_statutes(text: &str) -> String {
    let mut rest = text.to_owned();
    for name in references::law_names(text) {
        rest = rest.replace(&name, " ");
    }
    let found = references::find(&rest);
    for reference in found {
        rest = rest.replace(&reference.text, " ");
    }
    rest
}

/// Whether `question` is a short question of a few content words and no statute.
fn is_elliptic(question: &str) -> bool {
    let terms = terms::content_terms(question, language::detect(question));
    !terms.is_empty()
        && terms.len() <= ELLIPTIC_MAX_TERMS
        && question.split_whitespace().count() <= ELLIPTIC_MAX_WORDS
        && !names_statute(question)
}

/// `text` as it reads inside a sentence: a capitalised first word (`For`, `Tryckfriheten`)
/// lowercased, unless it is an abbreviation or starts a statute name.
fn mid_sentence(text: &str) -> String {
    let first_word = text.split_whitespace().next().unwrap_or_default();
    let mut letters = first_word.chars().filter(|c| c.is_alphabetic());
    let capitalised = letters.next().is_some_and(char::is_uppercase)
        && letters.clone().next().is_some()
        && letters.all(char::is_lowercase);
    let starts_statute = references::law_names(text)
        .first()
        .is_some_and(|name| text.starts_with(name.as_str()));
    if !capitalised || starts_statute {
        return text.to_owned();
    }
    let mut chars = text.chars();
    let first: String = chars
        .next()
        .into_iter()
        .flat_map(char::to_lowercase)
        .collect();
    format!("{first}{}", chars.as_str())
}

/// Whether `text` opens with a question word or verb.
fn is_question_form(text: &str) -> bool {
    starts_with_any(text, QUESTION_OPENERS)
}

/// Whether the first word of `text` (case-insensitive) is one of the words of `list`.
fn starts_with_any(text: &str, list: &str) -> bool {
    let first = text
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_lowercase();
    list.split_whitespace().any(|word| word == first)
}

/// `text` with collapsed spaces, a capital first letter and a single `?` at the end.
fn finish_question(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = text.trim_end_matches(['?', '.', '!', ' ']);
    if text.is_empty() {
        return String::new();
    }
    let mut chars = text.chars();
    let first: String = chars
        .next()
        .into_iter()
        .flat_map(char::to_uppercase)
        .collect();
    format!("{first}{}?", chars.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(content: &str) -> Turn {
        Turn {
            role: TurnRole::User,
            content: content.to_owned(),
        }
    }

    fn assistant(content: &str) -> Turn {
        Turn {
            role: TurnRole::Assistant,
            content: content.to_owned(),
        }
    }

    fn rewritten(question: &str, history: &[Turn]) -> String {
        let standalone = decontextualize(question, history);
        standalone.unwrap_or_else(|| panic!("{question} was not rewritten"))
    }

    fn assert_contains(text: &str, parts: &[&str]) {
        for part in parts {
            assert!(text.contains(part), "{text:?} lacks {part:?}");
        }
    }

    fn rf_history() -> Vec<Turn> {
        vec![
            user("Vad säger RF 2 kap. 1 § om yttrandefrihet?"),
            assistant("Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet [1]."),
        ]
    }

    #[test]
    fn swedish_section_follow_up_takes_the_statute() {
        let question = rewritten("Och 2 kap. 2 §?", &rf_history());
        assert_contains(&question, &["RF", "2 kap. 2 §"]);
        assert_eq!(question, "Vad säger RF 2 kap. 2 §?");
    }

    #[test]
    fn swedish_topic_follow_up_takes_the_statute() {
        let question = rewritten("vad med tryckfriheten?", &rf_history());
        assert_contains(&question, &["tryckfriheten", "RF"]);
        assert_eq!(question, "Vad säger RF om tryckfriheten?");
    }

    #[test]
    fn english_section_follow_up_takes_the_act() {
        let history = [
            user("What does the Data Protection Act section 4 say about consent?"),
            assistant("Section 4 requires consent to be freely given [1]."),
        ];
        let question = rewritten("And what about section 5?", &history);
        assert_contains(&question, &["Data Protection Act", "section 5"]);
        assert_eq!(question, "What does the Data Protection Act section 5 say?");
    }

    #[test]
    fn possessive_pronoun_becomes_the_statute() {
        let history = [
            user("What is the Environmental Code?"),
            assistant("It is the main environmental statute [1]."),
        ];
        let question = rewritten("What are its penalties?", &history);
        assert_contains(&question, &["Environmental Code", "penalties"]);
        assert_eq!(question, "What are the Environmental Code's penalties?");
        let question = rewritten("Vilka är dess undantag?", &rf_history());
        assert_eq!(question, "Vilka är RF:s undantag?");
    }

    #[test]
    fn pronoun_object_and_subject_are_replaced() {
        let history = [user("What does the Environmental Code regulate?")];
        let question = rewritten("What does it say about noise?", &history);
        assert_eq!(
            question,
            "What does the Environmental Code say about noise?"
        );
        let question = rewritten("Vad säger den om tryckfrihet?", &rf_history());
        assert_eq!(question, "Vad säger RF om tryckfrihet?");
        let question = rewritten("Are there exceptions to it?", &history);
        assert_eq!(question, "Are there exceptions to the Environmental Code?");
    }

    #[test]
    fn lone_section_takes_the_chapter() {
        assert_eq!(
            rewritten("Och 2 §?", &rf_history()),
            "Vad säger RF 2 kap. 2 §?"
        );
        let history = [user("What does GDPR Article 6 say?")];
        assert_eq!(
            rewritten("And Article 7?", &history),
            "What does GDPR Article 7 say?"
        );
    }

    #[test]
    fn connective_and_pronoun_together() {
        let history = [user("What does GDPR Article 6 say?")];
        assert_eq!(
            rewritten("What about its fines?", &history),
            "What about GDPR's fines?"
        );
        let question = rewritten("Vad med dess undantag?", &rf_history());
        assert_eq!(question, "Hur är det med RF:s undantag?");
    }

    #[test]
    fn chat_turns_give_no_topic() {
        let history = [user("Hej"), assistant("Hej! Vad undrar du?")];
        assert_eq!(
            decontextualize("Vad är offentlighetsprincipen?", &history),
            None
        );
    }

    #[test]
    fn statute_named_only_by_the_assistant_is_used() {
        let history = [
            user("Får myndigheter censurera tidningar?"),
            assistant("Nej, enligt tryckfrihetsförordningen råder censurförbud [1]."),
        ];
        let question = rewritten("Och böcker?", &history);
        assert_contains(&question, &["tryckfrihetsförordningen", "böcker"]);
    }

    #[test]
    fn newest_user_statute_wins() {
        let history = [
            user("Vad säger TF om censur?"),
            assistant("TF förbjuder censur [1]."),
            user("Vad säger RF om yttrandefrihet?"),
            assistant("RF skyddar yttrandefriheten [1]."),
        ];
        assert_eq!(
            rewritten("Och 2 kap. 2 §?", &history),
            "Vad säger RF 2 kap. 2 §?"
        );
    }

    #[test]
    fn own_statute_follow_up_keeps_the_topic() {
        let question = rewritten("Och TF?", &rf_history());
        assert_eq!(question, "Vad säger TF om yttrandefrihet?");
    }

    #[test]
    fn elliptic_and_circumstance_questions() {
        let history = [user("What does the Data Protection Act say about consent?")];
        let question = rewritten("For children?", &history);
        assert_eq!(
            question,
            "What applies for children under the Data Protection Act?"
        );
        let question = rewritten("Vad är offentlighetsprincipen?", &rf_history());
        assert_eq!(question, "Vad är offentlighetsprincipen enligt RF?");
    }

    #[test]
    fn topic_is_the_fallback_subject() {
        let history = [user("How is money laundering punished?")];
        let question = rewritten("And what about attempts?", &history);
        assert_contains(&question, &["attempts", "money laundering"]);
    }

    #[test]
    fn standalone_questions_are_kept() {
        let history = rf_history();
        for question in [
            "Vad säger TF 1 kap. 1 § om tryckfrihet?",
            "What does the Data Protection Act say about consent for children under 13?",
            "Hur ansöker jag om bygglov hos kommunen i Stockholm?",
            "Is it legal to record a phone call without consent in Sweden?",
        ] {
            assert_eq!(decontextualize(question, &history), None, "{question}");
        }
    }

    #[test]
    fn no_usable_history_gives_none() {
        assert_eq!(decontextualize("Och 2 kap. 2 §?", &[]), None);
        assert_eq!(decontextualize("Och?", &rf_history()), None);
        let history = [user("Hej"), assistant("Hej! Vad undrar du?")];
        assert_eq!(
            decontextualize("Och 2 kap. 2 §?", &[history[1].clone()]),
            None
        );
    }

    #[test]
    fn follow_up_detection() {
        for question in [
            "And what about section 5?",
            "what about penalties?",
            "How about companies?",
            "Och 2 kap. 2 §?",
            "vad med tryckfriheten?",
            "Hur är det med sekretess?",
            "Men om det gäller en myndighet?",
            "Also, does it apply to schools?",
            "What are its penalties?",
            "Vilka är dess undantag?",
            "Does it apply to companies?",
            "Den gäller alltså även kommuner?",
            "Penalties?",
        ] {
            assert!(is_follow_up(question), "{question}");
        }
        for question in [
            "What does the Data Protection Act section 4 say about consent?",
            "Vad säger RF 2 kap. 1 § om yttrandefrihet?",
            "How do I apply for a building permit in my municipality?",
            "Andersson v. Sweden concerned which rights under the convention?",
            "Is it legal to record a phone call without consent in Sweden?",
            "Tack!",
            "Thanks, bye",
        ] {
            assert!(!is_follow_up(question), "{question}");
        }
    }

    fn turns(count: usize, content: &str) -> Vec<Turn> {
        (0..count).map(|_| user(content)).collect()
    }

    fn error_code(history: &[Turn], limits: &HistoryLimits) -> Option<&'static str> {
        validate_history(history, limits)
            .err()
            .map(|error| error.code())
    }

    #[test]
    fn history_limits() {
        let limits = HistoryLimits::default();
        assert_eq!(limits.max_messages, 20);
        assert_eq!(error_code(&turns(20, "fråga"), &limits), None);
        assert_eq!(error_code(&[], &limits), None);
        assert_eq!(
            error_code(&turns(21, "fråga"), &limits),
            Some("history_too_long")
        );
        let long = "å".repeat(8001);
        assert_eq!(
            error_code(&turns(1, &long), &limits),
            Some("history_message_too_long")
        );
        assert_eq!(error_code(&turns(1, &"å".repeat(8000)), &limits), None);
        let large = turns(5, &"x".repeat(7000));
        assert_eq!(error_code(&large, &limits), Some("history_too_large"));
        let mut blank = turns(3, "fråga");
        blank[1].content = "  \n".to_owned();
        assert_eq!(error_code(&blank, &limits), Some("empty_history_message"));
    }

    #[test]
    fn history_errors_name_the_turn() {
        let mut history = turns(3, "fråga");
        history[2].content = "x".repeat(11);
        let limits = HistoryLimits {
            max_messages: 5,
            max_message_chars: 10,
            max_total_chars: 100,
        };
        let message = validate_history(&history, &limits).unwrap_err().to_string();
        assert!(message.contains("history[2]"), "{message}");
        assert!(message.contains("10"), "{message}");
    }
}
