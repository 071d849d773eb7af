//! Grounding of assist answers on the real-text development set (`tests/data/legal_dev/`):
//! every positive question is asked in assist mode of each generation backend — the local
//! decoder and llama.cpp's OpenAI-compatible server, both on SmolLM2-135M-Instruct Q4_1,
//! greedy — and the support check counts the generated sentences its sources support. This
//! measurement decides `answer.auto_assist`.
//!
//! Run with `cargo bench --bench grounding` (llama.cpp needs `just test-peers`). Prints one
//! table row per backend and writes every answer to `bench/results/grounding-<unix time>.json`.
//! `GROUNDING_BACKENDS` (default `local,llamacpp`) picks the backends, `GROUNDING_MAX_TOKENS`
//! (default 160) caps each answer, `GROUNDING_QUESTIONS` asks only the first n positives.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use constitutional_rag::config::{Backend, Config, GenerationConfig};
use constitutional_rag::eval::dev_run::{DevBackend, LibraryBackend};
use constitutional_rag::eval::dev_set::{DevSet, QuestionKind, contains_quote};
use constitutional_rag::llm::AnswerMode;
use constitutional_rag::pipeline::types::RequestedMode;
use constitutional_rag::pipeline::{AnswerRequest, Events, Pipeline};
use constitutional_rag::service::Library;
use serde_json::{Value, json};

mod common;
use common::summary;

#[path = "../tests/common/exit.rs"]
#[allow(dead_code)]
mod exit;
#[path = "../tests/common/peers.rs"]
#[allow(dead_code)]
mod peers;
use peers::{LlamaCpp, generation_config};

const COLLECTION: &str = "legal_dev";

/// Defaults, an on-disk database in `dir`, no answer cache, greedy decoding.
fn config(dir: &Path) -> Config {
    let mut config = Config::load(None, std::env::vars()).expect("configuration");
    config.storage.url = format!("surrealkv://{}", dir.join("db").display());
    config.cache.embedding_path = String::new();
    config.cache.answer_entries = 0;
    config.log.level = "warn".into();
    config.generation.backend = Backend::None;
    config
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Tallies of one backend.
#[derive(Default)]
struct Tally {
    asked: usize,
    refused: usize,
    kept: usize,
    fell_back: usize,
    unsupported: usize,
    fully_supported: usize,
    quote_in_answer: usize,
    shares: Vec<f64>,
    generate_ms: Vec<f64>,
}

/// Asks every question of `questions` in assist mode through `pipeline`.
async fn measure(
    name: &str,
    pipeline: &Pipeline,
    questions: &[&constitutional_rag::eval::dev_set::DevQuestion],
    max_tokens: u32,
) -> Value {
    let mut tally = Tally::default();
    let mut answers = Vec::new();
    for question in questions {
        let mut request = AnswerRequest {
            question: question.question.clone(),
            mode: RequestedMode::Assist,
            collections: vec![COLLECTION.into()],
            ..AnswerRequest::default()
        };
        request.sampling.max_tokens = Some(max_tokens);
        let started = Instant::now();
        let answer = pipeline
            .answer(request, &Events::none())
            .await
            .expect("answer");
        let elapsed = started.elapsed().as_secs_f64();
        tally.asked += 1;
        let quote = question.normalised_quote().unwrap_or_default();
        if answer.saknas_underlag {
            tally.refused += 1;
        } else if let Some(share) = answer.supported_share {
            tally.unsupported += answer.unsupported_sentences.len();
            tally.shares.push(share);
            tally.fully_supported += usize::from(share >= 1.0);
            if answer.mode == AnswerMode::Assist {
                tally.kept += 1;
            } else {
                tally.fell_back += 1;
            }
            tally.quote_in_answer += usize::from(contains_quote(&answer.answer, &quote));
        }
        if let Some(generate) = answer.timings.iter().find(|t| t.stage == "generate") {
            tally.generate_ms.push(generate.ms);
        }
        println!(
            "  {:<16} {:>5.1} s  share {:>4}  {}",
            question.id,
            elapsed,
            answer
                .supported_share
                .map_or("-".into(), |s| format!("{s:.2}")),
            if answer.saknas_underlag {
                "refused".to_string()
            } else {
                format!("{:?}", answer.mode).to_lowercase()
            }
        );
        answers.push(json!({
            "id": question.id,
            "kind": question.kind.name(),
            "mode": answer.mode,
            "refused": answer.saknas_underlag,
            "supported_share": answer.supported_share,
            "answer": answer.answer,
            "unsupported_sentences": answer.unsupported_sentences,
            "quote_in_answer": contains_quote(&answer.answer, &quote),
        }));
    }
    let mean_share = mean(&tally.shares);
    println!(
        "{name}: {} asked, {} refused, {} kept as assist, {} fell back to quotes; mean supported share {:.2}; {} unsupported sentences; fully supported {}; quote in answer {}; generate p50 {:.0} ms",
        tally.asked,
        tally.refused,
        tally.kept,
        tally.fell_back,
        mean_share,
        tally.unsupported,
        tally.fully_supported,
        tally.quote_in_answer,
        summary(tally.generate_ms.clone())["p50_ms"]
    );
    json!({
        "asked": tally.asked,
        "refused": tally.refused,
        "kept_as_assist": tally.kept,
        "fell_back_to_quotes": tally.fell_back,
        "mean_supported_share": mean_share,
        "unsupported_sentences": tally.unsupported,
        "fully_supported": tally.fully_supported,
        "quote_in_answer": tally.quote_in_answer,
        "generate": summary(tally.generate_ms),
        "answers": answers,
    })
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

#[tokio::main]
async fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let set = DevSet::load(
        &root.join("tests/data/legal_dev"),
        &root.join(".cache/legal-corpus"),
    )
    .expect("the development set (run `just setup`)");
    let limit = env_or("GROUNDING_QUESTIONS", usize::MAX);
    let max_tokens = env_or("GROUNDING_MAX_TOKENS", 160u32);
    let backends = std::env::var("GROUNDING_BACKENDS").unwrap_or("local,llamacpp".into());
    let questions: Vec<_> = set
        .questions
        .iter()
        .filter(|q| q.kind != QuestionKind::Negative)
        .take(limit)
        .collect();

    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = config(dir.path());
    config.generation.deterministic = true;
    let config = Arc::new(config);
    let library = Library::open(config.clone()).await.expect("open");
    LibraryBackend::new(library.clone())
        .expect("backend")
        .ingest(COLLECTION, set.language.analyzer(), &set.documents)
        .await
        .expect("ingest");

    let mut report = serde_json::Map::new();
    report.insert("max_tokens".into(), json!(max_tokens));
    let mut llama = None;
    for backend in backends.split(',') {
        let mut generating = (*config).clone();
        generating.generation = match backend {
            "local" => GenerationConfig {
                backend: Backend::Local,
                ..config.generation.clone()
            },
            "llamacpp" => {
                let server = llama.get_or_insert_with(LlamaCpp::start);
                generation_config(Backend::OpenAi, &server.base)
            }
            other => panic!("unknown backend {other:?}: expected local or llamacpp"),
        };
        generating.generation.deterministic = true;
        let pipeline = common::generating_pipeline(&library, generating).await;
        println!(
            "{backend}: {} questions, max_tokens {max_tokens}",
            questions.len()
        );
        let result = measure(backend, &pipeline, &questions, max_tokens).await;
        report.insert(backend.into(), result);
    }
    common::write_results("grounding", &report);
}
