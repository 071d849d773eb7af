//! Mode classification of a question (English and Swedish rules): chat, evidence or assist.
//!
//! * **Chat**: every clause of the message is a greeting, thanks, goodbye, small talk or a
//!   question about the assistant itself ("Hej!", "Thanks, bye", "vem är du?").
//! * **Evidence**: the question asks what the law says, asks for a quote or the exact wording,
//!   or names a statute reference ("SFS 1974:152", "RF 2:1", "Article 6").
//! * **Assist**: everything else.
//!
//! In `auto` mode the pipeline answers an assist question with quotes unless
//! `answer.auto_assist` is on: a generator may only get it where it is measured to stay
//! grounded in its sources (SmolLM2-135M, the default local model, is not: see
//! `answer.auto_assist`).

use std::sync::LazyLock;

use regex::Regex;

use super::references;
use super::types::ResolvedMode;

/// One clause of pure conversation (lowercase, punctuation removed, spaces collapsed).
static CHAT_CLAUSE: LazyLock<Regex> = LazyLock::new(|| {
    let alternatives = [
        // Greetings.
        r"(?:hej|hejsan|hejhej|hallå|tjena|tjenare|tja|goddag|god (?:morgon|dag|middag|kväll)|hello|hi|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening|day))(?: (?:there|där|du|allihop|everyone|all))?",
        // Thanks.
        r"(?:tack|tackar|tusen tack|stort tack|tack så mycket|tack för hjälpen|thanks|thank you|thank you (?:so|very) much|thanks a lot|many thanks|thx|cheers)(?: (?:for (?:the|your) help|så mycket))?",
        // Acknowledgements.
        r"ok|okay|okej|bra|perfekt|toppen|super|fint|great|cool|nice|awesome|got it|i see|jag förstår|förstått|uppfattat",
        // Goodbyes.
        r"hej då|hejdå|adjö|vi ses|ha det bra|god natt|bye|goodbye|good bye|see you|farewell|good night",
        // Small talk.
        r"how are you(?: doing)?(?: today)?|how's it going|how is it going|what's up|whats up|are you there|hur mår du|hur är läget|läget|hur har du det|allt bra|är du där",
        // The assistant itself.
        r"who are you|what are you|what is your name|what's your name|what can you (?:do|help (?:me )?with)|who (?:made|built|created) you|are you (?:a |an )?(?:bot|robot|human|ai|chatbot)|how do you work|what do you do",
        r"vem är du|vad är du|vad heter du|vad kan du(?: (?:göra|hjälpa (?:mig )?(?:till )?med))?|vem har (?:gjort|skapat|byggt) dig|är du en (?:bot|robot|människa|ai|chattbot)|hur fungerar du",
    ];
    Regex::new(&format!("^(?:{})$", alternatives.join("|"))).expect("valid chat regex")
});

/// Phrases that ask for what the law says, or for its exact wording.
static EVIDENCE_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    let alternatives = [
        r"\bquote\b",
        r"\bcitera\b",
        r"\bordagrann?t?\b",
        r"\bordalydelse",
        r"\bexakta (?:lydelsen|ordalydelsen|formuleringen|texten)\b",
        r"\bexact (?:wording|text|words)\b",
        r"\bverbatim\b",
        r"\bword for word\b",
        r"\bwhat (?:does|do) the (?:law|laws|statute|legislation|constitution|regulation|provision)s?\b.*\bsays?\b",
        r"\bvad (?:säger|anger|föreskriver|står det i) (?:lagen|lagstiftningen|lagtexten|grundlagen|författningen|förordningen|bestämmelsen|paragrafen)\b",
        r"\baccording to (?:the )?(?:law|statute|chapter|section|article|§)",
        r"\benligt (?:lagen|\d+ ?kap|\d+ ?§)",
    ];
    Regex::new(&format!("(?i){}", alternatives.join("|"))).expect("valid evidence regex")
});

/// "What does X say" / "vad säger X": evidence when X is a statute.
static SAYS_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bwhat (?:does|do)\b.*\bsays?\b|\bvad (?:säger|anger|föreskriver)\b")
        .expect("valid says regex")
});

/// The mode `question` should be answered in.
pub fn classify(question: &str) -> ResolvedMode {
    if is_chat(question) {
        ResolvedMode::Chat
    } else if asks_for_evidence(question) {
        ResolvedMode::Evidence
    } else {
        ResolvedMode::Assist
    }
}

/// Whether every clause of `message` is conversation (and there is at least one).
fn is_chat(message: &str) -> bool {
    let clauses: Vec<String> = message
        .split(['.', '!', '?', ',', ';', ':', '\n'])
        .map(normalize_clause)
        .filter(|clause| !clause.is_empty())
        .collect();
    !clauses.is_empty() && clauses.iter().all(|clause| CHAT_CLAUSE.is_match(clause))
}

/// `clause` lowercased, without symbols (emoji, quotes), spaces collapsed.
fn normalize_clause(clause: &str) -> String {
    let kept: String = clause
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == '\'')
        .collect::<String>()
        .to_lowercase();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `question` asks what a statute says, for its wording, or names a reference.
fn asks_for_evidence(question: &str) -> bool {
    let question = question.split_whitespace().collect::<Vec<_>>().join(" ");
    EVIDENCE_PHRASE.is_match(&question)
        || !references::find(&question).is_empty()
        || (SAYS_PHRASE.is_match(&question) && !references::law_names(&question).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_mode(mode: ResolvedMode, questions: &[&str]) {
        for question in questions {
            assert_eq!(classify(question), mode, "{question}");
        }
    }

    #[test]
    fn english_chat() {
        assert_mode(
            ResolvedMode::Chat,
            &[
                "hello",
                "Hi there!",
                "thanks!",
                "Thank you very much 🙏",
                "good morning",
                "Who are you?",
                "What can you do?",
                "Thanks, bye!",
                "How are you today?",
            ],
        );
    }

    #[test]
    fn swedish_chat() {
        assert_mode(
            ResolvedMode::Chat,
            &[
                "hej",
                "Hejsan!",
                "tack",
                "Tack så mycket!",
                "God morgon",
                "vem är du",
                "Vad kan du hjälpa till med?",
                "Hej då",
                "Hur mår du?",
            ],
        );
    }

    #[test]
    fn english_evidence() {
        assert_mode(
            ResolvedMode::Evidence,
            &[
                "What does the law say about consent?",
                "Quote the provision on data retention.",
                "Give me the exact wording of the rule.",
                "What does SFS 1974:152 contain?",
                "Explain Article 6",
                "What does Section 4 cover?",
                "According to chapter 2 § 1, who decides?",
                "What does the Data Protection Act say about consent?",
                "Hello! What does RF 2:1 say?",
            ],
        );
    }

    #[test]
    fn swedish_evidence() {
        assert_mode(
            ResolvedMode::Evidence,
            &[
                "Vad säger lagen om allemansrätt?",
                "Citera RF 2 kap. 1 §",
                "Återge ordagrant vad TF föreskriver",
                "Vilka rättigheter gäller enligt 2 kap.?",
                "Hej! Vad säger RF 2 kap. 1 §?",
                "Vad säger regeringsformen om yttrandefrihet?",
                "Vad innebär SFS 2009:400?",
                "Vilken är den exakta lydelsen?",
            ],
        );
    }

    #[test]
    fn english_assist() {
        assert_mode(
            ResolvedMode::Assist,
            &[
                "How do I apply for a building permit?",
                "Explain the principle of public access to official records.",
                "Hello, can you help me understand my rights as a tenant?",
                "What does the guide say about deadlines?",
                "Which agency handles asylum applications?",
                "Summarise the debate on data retention.",
                "Thanks! And how long does an appeal take?",
                "What is the difference between a bill and a motion?",
            ],
        );
    }

    #[test]
    fn swedish_assist() {
        assert_mode(
            ResolvedMode::Assist,
            &[
                "Hur överklagar jag ett beslut från Skatteverket?",
                "Vad är offentlighetsprincipen?",
                "Hej, kan du förklara hur riksdagen stiftar lagar?",
                "Vilka myndigheter hanterar bygglov?",
                "Sammanfatta forskningen om digitalt utanförskap.",
                "Tack! Hur lång tid tar en ansökan?",
                "Vad är skillnaden mellan en proposition och en motion?",
                "Hur ansöker jag om föräldrapenning?",
            ],
        );
    }

    #[test]
    fn blank_is_not_chat() {
        assert_eq!(classify("  "), ResolvedMode::Assist);
        assert_eq!(classify("🙂"), ResolvedMode::Assist);
    }
}
