//! Answer pipeline benchmarks (issue: answer pipeline). Run with `just bench`; prints a
//! report and writes `bench/results/pipeline-<unix time>.json`.
//!
//! Over `BENCH_CHUNKS` chunks (default 100,000, the corpus of the retrieval bench):
//! - evidence mode (extractive, no LLM) end to end, without and with reranking of 16
//!   candidates, at concurrency 1 and 10, with per-stage p50/p95;
//! - assist mode with the local decoder and with llama.cpp's server (SmolLM2-135M Q4_1 on
//!   both): time to first token and the share of it spent before generation, at concurrency
//!   1 and 10.
//!
//! Passages are cut to 128 tokens for reranking unless `CRAG_INFERENCE_RERANK_MAX_LENGTH`
//! says otherwise; the answer cache is off. `BENCH_SKIP_ASSIST=1` stops after the evidence
//! scenarios.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use constitutional_rag::config::{Backend, Config};
use constitutional_rag::ops::Registry;
use constitutional_rag::pipeline::types::{Answer, PipelineEvent, RequestedMode};
use constitutional_rag::pipeline::{AnswerRequest, Events, Pipeline};
use constitutional_rag::service::Library;
use futures::future::join_all;
use serde_json::{Value, json};

mod common;
use common::corpus::{ingest_corpus, questions};
use common::summary;

#[path = "../tests/common/exit.rs"]
#[allow(dead_code)]
mod exit;
#[path = "../tests/common/peers.rs"]
#[allow(dead_code)]
mod peers;
use peers::{LlamaCpp, generation_config};

/// Defaults with `CRAG_*` overrides, reranking 16 candidates cut to 128 tokens.
fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::load(None, std::env::vars()).expect("configuration");
    config.storage.url = format!("surrealkv://{}", dir.join("db").display());
    config.cache.embedding_path = String::new();
    config.log.level = "warn".into();
    config.generation.backend = Backend::None;
    if std::env::var("CRAG_INFERENCE_RERANK_MAX_LENGTH").is_err() {
        config.inference.rerank_max_length = 128;
    }
    config.answer.rerank_candidates = 16;
    // Every scenario asks the same questions: measure the pipeline, not the answer cache.
    config.cache.answer_entries = 0;
    config
}

/// One answer and its time to first token (the first `token` event), in milliseconds.
async fn timed_answer(pipeline: &Pipeline, request: AnswerRequest) -> (Answer, f64, f64) {
    let (events, mut receiver) = Events::channel();
    let started = Instant::now();
    let first_token = tokio::spawn(async move {
        while let Some(event) = receiver.recv().await {
            if matches!(event, PipelineEvent::Token(_)) {
                let ttft = started.elapsed().as_secs_f64() * 1000.0;
                while receiver.recv().await.is_some() {}
                return ttft;
            }
        }
        f64::NAN
    });
    let answer = pipeline.answer(request, &events).await.expect("answer");
    let total = started.elapsed().as_secs_f64() * 1000.0;
    drop(events);
    (answer, first_token.await.unwrap_or(f64::NAN), total)
}

/// Runs `questions` through `pipeline` `concurrency` at a time; end-to-end, time to first
/// token, and per-stage latency summaries.
async fn scenario(
    name: &str,
    pipeline: &Pipeline,
    questions: &[String],
    concurrency: usize,
    request: impl Fn(&str) -> AnswerRequest,
) -> Value {
    let mut totals = Vec::new();
    let mut ttfts = Vec::new();
    let mut outside_generation = Vec::new();
    let mut stages: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut refused = 0;
    for batch in questions.chunks(concurrency) {
        let answers = join_all(batch.iter().map(|q| timed_answer(pipeline, request(q)))).await;
        for (answer, ttft, total) in answers {
            totals.push(total);
            refused += usize::from(answer.saknas_underlag);
            if ttft.is_finite() {
                ttfts.push(ttft);
                if answer.mode == constitutional_rag::llm::AnswerMode::Assist {
                    outside_generation.push(before_generation_ms(&answer) / ttft);
                }
            }
            for timing in answer.timings {
                stages.entry(timing.stage).or_default().push(timing.ms);
            }
        }
    }
    let total = summary(totals);
    let ttft = summary(ttfts);
    println!(
        "{name} (concurrency {concurrency}): p50 {:.1} ms, p95 {:.1} ms, ttft p50 {:.1} ms, refused {refused}",
        total["p50_ms"], total["p95_ms"], ttft["p50_ms"]
    );
    let stages: serde_json::Map<String, Value> = stages
        .into_iter()
        .map(|(stage, ms)| (stage, summary(ms)))
        .collect();
    for (stage, s) in &stages {
        println!(
            "  {stage:>12}: p50 {:.2} ms, p95 {:.2} ms",
            s["p50_ms"], s["p95_ms"]
        );
    }
    let mut report = json!({"end_to_end": total, "time_to_first_token": ttft, "stages": stages, "refused": refused});
    if !outside_generation.is_empty() {
        outside_generation.sort_by(f64::total_cmp);
        let share = outside_generation[outside_generation.len() / 2];
        println!(
            "  share of time to first token outside generation: p50 {:.1}%",
            share * 100.0
        );
        report["outside_generation_share_p50"] = json!(share);
    }
    report
}

/// Time spent in the stages before generation (they run one after another, so their sum is
/// the wall time before the generator was called).
fn before_generation_ms(answer: &Answer) -> f64 {
    answer
        .timings
        .iter()
        .take_while(|t| t.stage != "generate")
        .map(|t| t.ms)
        .sum()
}

fn evidence(rerank: bool) -> impl Fn(&str) -> AnswerRequest {
    move |question| AnswerRequest {
        question: question.to_string(),
        mode: RequestedMode::Evidence,
        rerank: Some(rerank),
        crag: Some(false),
        ..AnswerRequest::default()
    }
}

fn assist(question: &str) -> AnswerRequest {
    let mut request = AnswerRequest {
        question: question.to_string(),
        mode: RequestedMode::Assist,
        crag: Some(false),
        ..AnswerRequest::default()
    };
    request.sampling.max_tokens = Some(16);
    request
}

#[tokio::main]
async fn main() {
    let chunks: usize = std::env::var("BENCH_CHUNKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Arc::new(config(dir.path()));
    let library = Library::open(config.clone()).await.expect("open");
    let mut report = serde_json::Map::new();
    report.insert("corpus".into(), ingest_corpus(&library, chunks).await);
    let questions = questions(40);

    let pipeline = Pipeline::new(library.clone(), &Registry::new()).expect("pipeline");
    for (name, rerank) in [("evidence_no_rerank", false), ("evidence_rerank_16", true)] {
        for concurrency in [1, 10] {
            let result = scenario(name, &pipeline, &questions, concurrency, evidence(rerank)).await;
            report.insert(format!("{name}_c{concurrency}"), result);
        }
    }

    if std::env::var("BENCH_SKIP_ASSIST").is_ok() {
        return common::write_results("pipeline", &report);
    }
    let llama = tokio::task::spawn_blocking(LlamaCpp::start).await.unwrap();
    let mut local = (*config).clone();
    local.generation.backend = Backend::Local;
    let mut remote = (*config).clone();
    remote.generation = generation_config(Backend::OpenAi, &llama.base);
    for (name, generation) in [("assist_local", local), ("assist_llamacpp", remote)] {
        let pipeline = common::generating_pipeline(&library, generation).await;
        for concurrency in [1, 10] {
            let result = scenario(name, &pipeline, &questions[..20], concurrency, assist).await;
            report.insert(format!("{name}_c{concurrency}"), result);
        }
    }

    common::write_results("pipeline", &report);
}
