//! Overhead of the OpenAI-compatible generation client over llama.cpp's own latency: the same
//! short streaming request is sent many times to llama.cpp's server on the test GGUF, directly
//! over a minimal keep-alive HTTP/1.1 connection and through `OpenAiGenerator`, interleaved
//! (the order alternates), and the per-pair difference of the end-to-end times is reported.
//! Run with `just bench` (needs `just test-peers`).
//!
//! Environment: `BENCH_PAIRS` (default 200 for 1 token; a fifth of it for 16 tokens).

use std::time::{Duration, Instant};

use constitutional_rag::llm::openai::OpenAiGenerator;
use constitutional_rag::llm::{ChatMessage, GenerationRequest, Generator, Role, Sampling, collect};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;

use common::percentile;
use constitutional_rag::config::Backend;

#[path = "../tests/common/exit.rs"]
#[allow(dead_code)]
mod exit;
#[path = "../tests/common/peers.rs"]
#[allow(dead_code)]
mod peers;
use peers::{LLAMA_MODEL, LlamaCpp, generation_config};

const QUESTION: &str = "What is the capital of Sweden?";

fn request(max_tokens: u32) -> GenerationRequest {
    GenerationRequest {
        messages: vec![ChatMessage::new(Role::User, QUESTION)],
        sampling: Sampling {
            temperature: 0.0,
            top_p: 1.0,
            max_tokens,
            stop: Vec::new(),
            seed: None,
            repetition_penalty: 1.0,
        },
    }
}

/// The fewest bytes a client needs to stream a completion: one keep-alive connection, a
/// hand-written request, and a scan for the end of the chunked body.
struct RawClient {
    stream: TcpStream,
    request: Vec<u8>,
    buffer: Vec<u8>,
}

impl RawClient {
    async fn connect(port: u16, max_tokens: u32) -> Self {
        let body = json!({
            "model": LLAMA_MODEL,
            "messages": [{"role": "user", "content": QUESTION}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "temperature": 0.0,
            "top_p": 1.0,
            "max_tokens": max_tokens,
            "repeat_penalty": 1.0,
            "repetition_penalty": 1.0
        })
        .to_string();
        let request = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream,
            request: request.into_bytes(),
            buffer: Vec::with_capacity(64 * 1024),
        }
    }

    /// Sends the request and reads until the stream's `[DONE]` and the body's last chunk.
    async fn complete(&mut self) {
        self.stream.write_all(&self.request).await.expect("write");
        self.buffer.clear();
        loop {
            let mut chunk = [0u8; 16 * 1024];
            let read = self.stream.read(&mut chunk).await.expect("read");
            assert!(read > 0, "llama.cpp closed the connection");
            self.buffer.extend_from_slice(&chunk[..read]);
            if self.buffer.ends_with(b"\r\n0\r\n\r\n") {
                let done = self.buffer.windows(12).any(|w| w == b"data: [DONE]");
                assert!(done, "{}", String::from_utf8_lossy(&self.buffer));
                return;
            }
        }
    }
}

/// How long `work` takes.
async fn timed(work: impl Future<Output = ()>) -> Duration {
    let started = Instant::now();
    work.await;
    started.elapsed()
}

/// Milliseconds of a duration.
fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// p50 of `values`.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile(&sorted, 0.5)
}

struct Row {
    max_tokens: u32,
    pairs: usize,
    direct: f64,
    client: f64,
    overhead: f64,
}

async fn measure(server: &LlamaCpp, max_tokens: u32, pairs: usize) -> Row {
    let generator =
        OpenAiGenerator::new(&generation_config(Backend::OpenAi, &server.base)).expect("generator");
    let mut raw = RawClient::connect(server.port, max_tokens).await;
    let via_client = || {
        timed(async {
            collect(generator.generate(request(max_tokens)))
                .await
                .expect("completion");
        })
    };
    for _ in 0..5 {
        via_client().await;
        timed(raw.complete()).await;
    }
    let (mut direct, mut client, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..pairs {
        let (ours, theirs) = if pair % 2 == 0 {
            let ours = via_client().await;
            (ours, timed(raw.complete()).await)
        } else {
            let theirs = timed(raw.complete()).await;
            (via_client().await, theirs)
        };
        direct.push(ms(theirs));
        client.push(ms(ours));
        overhead.push(ms(ours) - ms(theirs));
    }
    Row {
        max_tokens,
        pairs,
        direct: median(&direct),
        client: median(&client),
        overhead: median(&overhead),
    }
}

#[tokio::main]
async fn main() {
    let pairs: usize = std::env::var("BENCH_PAIRS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(200);
    let server = LlamaCpp::start();
    let mut rows = Vec::new();
    for (max_tokens, pairs) in [(1, pairs), (16, (pairs / 5).max(1))] {
        rows.push(measure(&server, max_tokens, pairs).await);
    }
    println!("\n## OpenAI client overhead over llama.cpp (SmolLM2-135M Q4_1, 1 thread)\n");
    println!(
        "| max_tokens | pairs | llama.cpp direct p50 (ms) | via OpenAiGenerator p50 (ms) | overhead p50 of pairs (ms) |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {} | {:.2} | {:.2} | {:+.3} |",
            row.max_tokens, row.pairs, row.direct, row.client, row.overhead
        );
    }
}
