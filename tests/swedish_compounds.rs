//! Swedish compound splitting in BM25, over the Hunspell dictionary `just setup` installs
//! (these tests fail without it).
//!
//! The passages are written in-house in the style of Swedish statutes (hard-wrapped lines,
//! cross-references such as "enligt 12 §"); they are not real statute text. Print the recall
//! table with `cargo test --test swedish_compounds -- --nocapture`.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use constitutional_rag::retrieval::analyzer::AnalyzerLanguage;
use constitutional_rag::retrieval::bm25::{Bm25Index, Bm25Params, Slot};
use constitutional_rag::retrieval::decompound::Decompounder;

const SV: AnalyzerLanguage = AnalyzerLanguage::Swedish;

/// The real dictionary, loaded once.
fn dictionary() -> Arc<Decompounder> {
    static DICTIONARY: OnceLock<Arc<Decompounder>> = OnceLock::new();
    DICTIONARY
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/models/hunspell-sv");
            let loaded = Decompounder::load(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}; run `just setup`", dir.display()));
            Arc::new(loaded)
        })
        .clone()
}

fn index(language: AnalyzerLanguage, split: bool, passages: &[&str]) -> Bm25Index {
    let mut index = Bm25Index::new(language, Bm25Params::default());
    if split {
        index = index.with_decompounder(dictionary());
    }
    for (slot, text) in passages.iter().enumerate() {
        index.insert(slot as Slot, text);
    }
    index
}

fn ranked(index: &Bm25Index, query: &str) -> Vec<Slot> {
    index
        .search(query, 10, None)
        .into_iter()
        .map(|(slot, _)| slot)
        .collect()
}

/// Four passages on alcohol and drug care: one with the compound, one with its parts as
/// free words, one with only the head, one unrelated.
const CARE: [&str; 4] = [
    "3 § Den som till följd av ett alkoholmissbruk utsätter sin fysiska eller\n\
     psykiska hälsa för allvarlig fara ska beredas vård enligt denna lag.",
    "4 § Socialnämnden ska aktivt sörja för att den enskilde får den hjälp\n\
     och vård som han eller hon behöver för att komma ifrån missbruk av\n\
     alkohol, narkotika eller spel om pengar.",
    "5 § Vård enligt 3 § får beslutas även när missbruk av narkotika eller\n\
     flyktiga lösningsmedel föreligger.",
    "6 § Ansökan om vård görs hos förvaltningsrätten av socialnämnden.",
];

#[test]
fn a_part_finds_the_compound() {
    let plain = index(SV, false, &CARE);
    let split = index(SV, true, &CARE);
    assert_eq!(ranked(&plain, "missbruk"), [2, 1]);
    let hits = ranked(&split, "missbruk");
    assert_eq!(hits.len(), 3, "{hits:?}");
    assert!(hits.contains(&0), "{hits:?}");
}

#[test]
fn the_exact_compound_ranks_first() {
    let split = index(SV, true, &CARE);
    // The whole-word term matches only passage 0; its parts also match 1 (both parts)
    // and 2 (one part), in that order.
    assert_eq!(ranked(&split, "alkoholmissbruk"), [0, 1, 2]);
    assert_eq!(ranked(&split, "Alkoholmissbruket"), [0, 1, 2]);
}

#[test]
fn inflected_and_linked_parts_meet_their_words() {
    let passages = [
        "1 § Varje myndighet ska vid tillämpningen av offentlighetsprincipen\n\
         pröva en begäran att ta del av allmänna handlingar enligt 2 kap.\n\
         tryckfrihetsförordningen skyndsamt.",
        "7 § Tillståndsmyndigheten får återkalla ett serveringstillstånd om\n\
         tillståndshavaren inte längre uppfyller kraven enligt 8 kap. 12 §.",
        "2 § Föräldrapenning lämnas för vård av barn enligt 12 kap. 4 §\n\
         socialförsäkringsbalken.",
    ];
    let split = index(SV, true, &passages);
    let plain = index(SV, false, &passages);
    for (query, expected) in [
        ("principen om offentlighet", 0),
        ("förordningen om tryckfrihet", 0),
        ("vilken myndighet ger tillstånd", 1),
        ("penning till föräldrar", 2),
        ("socialförsäkring", 2),
    ] {
        assert_eq!(ranked(&split, query).first(), Some(&expected), "{query}");
        assert!(!ranked(&plain, query).starts_with(&[expected]), "{query}");
    }
}

#[test]
fn english_is_never_split() {
    let passages = ["Treatment for alcoholmisuse", "misuse of alcohol"];
    let split = index(AnalyzerLanguage::English, true, &passages);
    assert_eq!(ranked(&split, "alkoholmissbruk"), Vec::<Slot>::new());
    assert_eq!(ranked(&split, "misuse"), [1]);
}

#[test]
fn a_question_in_the_other_language_meets_the_words_both_share() {
    // Passages are analysed in their collection's language and so is the question searched
    // there: an English question over Swedish statutes meets their names and terms of art,
    // a Swedish question over English licences meets the licence's name.
    let swedish = index(SV, true, CORPUS);
    let hits = ranked(&swedish, "When may a serveringstillstånd be revoked?");
    assert_eq!(hits.first(), Some(&1), "{hits:?}");
    let licences = [
        "Mozilla Public License Version 2.0: each Contributor hereby grants You a license.",
        "The Apache License grants a patent license to make and use the Work.",
    ];
    let english = index(AnalyzerLanguage::English, true, &licences);
    assert_eq!(
        ranked(&english, "Vad säger Apache License om patent?").first(),
        Some(&1)
    );
}

/// Statute-style passages (written in-house) whose key terms are compounds.
const CORPUS: &[&str] = &[
    // Alkohollag (style)
    "8 kap. 1 § Serveringstillstånd får meddelas endast den som visar att han\n\
     eller hon med hänsyn till sina personliga och ekonomiska förhållanden är\n\
     lämplig att utöva verksamheten.",
    "8 kap. 17 § Tillståndsmyndigheten ska återkalla ett serveringstillstånd\n\
     om tillståndshavaren inte längre uppfyller kraven enligt 12 §.",
    "9 kap. 2 § Kommunen och Polismyndigheten har den omedelbara tillsynen\n\
     över servering av alkoholdrycker.",
    // Lag om vård av missbrukare (style)
    "4 § Tvångsvård ska beslutas om någon till följd av ett fortgående\n\
     alkoholmissbruk är i behov av vård för att komma ifrån sitt missbruk.",
    "13 § Socialnämnden ska ansöka om vård hos förvaltningsrätten när\n\
     förutsättningar enligt 4 § föreligger.",
    // Socialförsäkringsbalken (style)
    "12 kap. 2 § Föräldrapenning lämnas till en förälder som avstår från\n\
     förvärvsarbete för att vårda barnet.",
    "12 kap. 9 § Rätt till tillfällig föräldrapenning har en förälder som\n\
     behöver avstå från förvärvsarbete vid barnets sjukdom.",
    "27 kap. 2 § Sjukpenning lämnas vid sjukdom som sätter ned den\n\
     försäkrades arbetsförmåga med minst en fjärdedel.",
    // Arbetsmiljölag (style)
    "3 kap. 2 § Arbetsgivaren ska vidta alla åtgärder som behövs för att\n\
     förebygga att arbetstagaren utsätts för ohälsa eller olycksfall.",
    "3 kap. 2 a § Arbetsgivaren ska systematiskt planera, leda och kontrollera\n\
     verksamheten så att arbetsmiljöansvaret fullgörs.",
    "6 kap. 2 § Skyddsombud ska utses på varje arbetsställe där fem eller\n\
     flera arbetstagare regelbundet sysselsätts.",
    // Offentlighets- och sekretesslag / Tryckfrihetsförordningen (style)
    "2 kap. 1 § Till främjande av ett fritt meningsutbyte har varje svensk\n\
     medborgare rätt att ta del av allmänna handlingar.",
    "6 kap. 3 § Myndigheten ska pröva om en uppgift omfattas av\n\
     sekretessbestämmelserna innan en allmän handling lämnas ut.",
    "1 kap. 1 § Offentlighetsprincipen innebär att allmänheten har insyn\n\
     i statens och kommunernas verksamhet.",
    "21 kap. 7 § Sekretess gäller för personuppgifter om det kan antas att\n\
     ett utlämnande skulle medföra att uppgiften behandlas i strid med\n\
     dataskyddsförordningen.",
    // Skattebrottslag (style)
    "2 § Den som uppsåtligen lämnar oriktig uppgift till en myndighet och\n\
     därigenom orsakar att skatt undandras döms för skattebrott.",
    "4 § Är brott som avses i 2 § att anse som grovt döms för grovt\n\
     skattebrott till fängelse i lägst sex månader.",
    "10 § Den som uppsåtligen eller av grov oaktsamhet underlåter att\n\
     fullgöra sin bokföringsskyldighet döms för försvårande av skattekontroll.",
    // Rättegångsbalken / Förvaltningslag (style)
    "5 kap. 1 § Förhandling vid domstol ska vara offentlig.",
    "23 kap. 1 § Förundersökning ska inledas så snart det finns anledning\n\
     att anta att ett brott som hör under allmänt åtal har förövats.",
    "9 § Varje ärende där någon enskild är part ska handläggas så enkelt,\n\
     snabbt och kostnadseffektivt som möjligt utan att rättssäkerheten\n\
     eftersätts.",
    "32 § Ett beslut som kan antas påverka någons situation ska innehålla en\n\
     klargörande motivering.",
];

/// Questions naming a compound's parts (or the compound), and the passage they seek.
const QUESTIONS: &[(&str, usize)] = &[
    ("vem återkallar tillstånd för servering", 1),
    ("tillstånd för servering", 0),
    ("tillsyn över drycker med alkohol", 2),
    ("vård vid missbruk av alkohol", 3),
    ("tvång vid missbruk", 3),
    ("penning till föräldrar", 5),
    ("tillfällig penning när barnet är sjukt", 6),
    ("ansvar för arbetsmiljön", 9),
    ("vem är ombud för skyddet", 10),
    ("bestämmelser om sekretess", 12),
    ("principen om offentlighet", 13),
    ("förordningen om dataskydd", 14),
    ("grovt brott mot skatt", 16),
    ("kontroll av skatt och bokföring", 17),
    ("undersökning före åtal", 19),
    ("säkerhet i rättsliga ärenden", 20),
    ("serveringstillstånd", 0),
    ("föräldrapenning", 5),
    ("skattebrott", 15),
    ("förhandling vid domstol", 18),
];

/// (recall@5, MRR@10) of `index` over [`QUESTIONS`].
fn score(index: &Bm25Index) -> (f64, f64) {
    let (mut found, mut reciprocal) = (0.0, 0.0);
    for &(question, wanted) in QUESTIONS {
        let hits = ranked(index, question);
        if let Some(rank) = hits.iter().position(|&slot| slot as usize == wanted) {
            found += f64::from(rank < 5);
            reciprocal += 1.0 / (rank + 1) as f64;
        }
    }
    let n = QUESTIONS.len() as f64;
    (found / n, reciprocal / n)
}

#[test]
fn decompounding_raises_recall_on_statute_passages() {
    let plain = score(&index(SV, false, CORPUS));
    let split = score(&index(SV, true, CORPUS));
    println!(
        "{} questions over {} passages\n\
         | BM25 | recall@5 | MRR@10 |\n| --- | --- | --- |\n\
         | whole words | {:.3} | {:.3} |\n| with compound parts | {:.3} | {:.3} |",
        QUESTIONS.len(),
        CORPUS.len(),
        plain.0,
        plain.1,
        split.0,
        split.1
    );
    assert!(
        split.0 > plain.0 && split.1 > plain.1,
        "{plain:?} {split:?}"
    );
    assert!(split.0 >= 0.9, "{split:?}");
}
