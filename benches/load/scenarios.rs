//! The load scenarios of issue 7 item 8, each bounded in requests and time: answers at
//! concurrency 1 and 10, one question 100 times (answer cache), a 100-hit search, a
//! 20-message conversation, assist answers, and hybrid search at concurrency 1, 10 and 50.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::client::Api;
use super::ingest::COLLECTIONS;
use super::monitor::Monitor;
use super::runner::{Bounds, run};
use super::server::Server;
use super::stats::{Latency, Outcome, Summary, mean};
use crate::common::corpus::{questions, section_pool};

/// Concurrency levels of the search-only scenarios.
pub const SEARCH_CONCURRENCY: [usize; 3] = [1, 10, 50];

/// One scenario's numbers.
#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    /// Scenario name.
    pub name: String,
    /// Clients sending at once.
    pub concurrency: usize,
    /// Requests, statuses, latency, throughput and stages.
    pub summary: Summary,
    /// Server RSS in MiB before, after, and the highest sampled during the scenario.
    pub rss_mib: RssWindow,
    /// Scenario-specific figures.
    pub details: Value,
}

/// Server memory around a scenario, in MiB.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RssWindow {
    pub before: f64,
    pub after: f64,
    pub max: f64,
}

/// An evidence-mode answer request for `question` over the corpus.
pub fn evidence(question: &str) -> Value {
    json!({"question": question, "mode": "evidence", "collections": COLLECTIONS})
}

/// An assist-mode answer request generating at most `max_tokens` tokens.
pub fn assist(question: &str, max_tokens: u32) -> Value {
    json!({"question": question, "mode": "assist", "collections": COLLECTIONS,
           "max_tokens": max_tokens})
}

/// A hybrid search for `query` returning at most `limit` hits.
pub fn search(query: &str, limit: u32) -> Value {
    json!({"query": query, "collections": COLLECTIONS, "mode": "hybrid", "limit": limit})
}

/// Search query `i`: three words of a corpus section; distinct for the first 16,000 `i`.
pub fn search_query(pool: &[Vec<String>], i: usize) -> String {
    let text = &pool[i % pool.len()][(i / pool.len()) % 100];
    let words: Vec<&str> = text.split_whitespace().skip(1).collect();
    let start = (i / 2_000) % 8;
    words[start..start + 3].join(" ")
}

/// Runs every scenario against `server`; `assist_answers` 0 skips the assist scenario.
pub async fn run_all(server: &Server, api: &Api, assist_answers: usize) -> Vec<ScenarioResult> {
    let questions = Arc::new(questions(100));
    let pool = Arc::new(section_pool());
    let mut results = Vec::new();

    let q = questions.clone();
    let bounds = limits(1, 30, 120);
    results.push(
        scenario(server, "single_query", bounds, api, move |api, i| {
            let body = evidence(&q[i]);
            async move { api.answer("evidence", &body).await.0 }
        })
        .await
        .0,
    );

    let q = questions.clone();
    let bounds = limits(10, 50, 120);
    results.push(
        scenario(server, "concurrent_10", bounds, api, move |api, i| {
            let body = evidence(&q[30 + i]);
            async move { api.answer("evidence", &body).await.0 }
        })
        .await
        .0,
    );

    results.push(same_query(server, api, &questions[99]).await);
    results.push(large_result(server, api, pool.clone()).await);
    results.push(conversation(server, api, &pool).await);

    if assist_answers > 0 {
        let q = questions.clone();
        let bounds = limits(1, assist_answers, 300);
        results.push(
            scenario(server, "assist", bounds, api, move |api, i| {
                let body = assist(&q[80 + i % 19], 32);
                async move { api.answer("assist", &body).await.0 }
            })
            .await
            .0,
        );
    }

    for (level, concurrency) in SEARCH_CONCURRENCY.into_iter().enumerate() {
        let pool = pool.clone();
        let offset = 2_000 + level * 3_000;
        let bounds = limits(concurrency, 200 * concurrency.min(5), 30);
        let name = format!("search_hybrid_c{concurrency}");
        results.push(
            scenario(server, &name, bounds, api, move |api, i| {
                let body = search(&search_query(&pool, offset + i), 10);
                async move { api.search("search", &body).await.0 }
            })
            .await
            .0,
        );
    }
    results
}

fn limits(concurrency: usize, max_requests: usize, max_seconds: u64) -> Bounds {
    Bounds {
        concurrency,
        max_requests,
        max_time: Duration::from_secs(max_seconds),
    }
}

/// Runs `request` within `bounds` while sampling the server's memory; the result and the
/// outcomes (in request order when `bounds.concurrency` is 1).
async fn scenario<F, Fut>(
    server: &Server,
    name: &str,
    bounds: Bounds,
    api: &Api,
    request: F,
) -> (ScenarioResult, Vec<Outcome>)
where
    F: Fn(Api, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Outcome> + Send,
{
    let api = api.clone();
    measured(server, name, bounds.concurrency, async move {
        run(bounds, move |i| request(api.clone(), i)).await
    })
    .await
}

/// Awaits `work` (outcomes and wall seconds) while sampling RSS every 250 ms; its result and
/// the outcomes.
async fn measured(
    server: &Server,
    name: &str,
    concurrency: usize,
    work: impl std::future::Future<Output = (Vec<Outcome>, f64)>,
) -> (ScenarioResult, Vec<Outcome>) {
    let before = server.rss_mib();
    let monitor = Monitor::start(server.pid(), Duration::from_millis(250), None);
    let (outcomes, wall_s) = work.await;
    let samples = monitor.finish().await;
    let after = server.rss_mib();
    let max = samples.iter().map(|s| s.rss_mib).fold(after, f64::max);
    let summary = Summary::of(&outcomes, wall_s);
    println!("{name} (c={concurrency}): {}", summary.line());
    let result = ScenarioResult {
        name: name.to_string(),
        concurrency,
        summary,
        rss_mib: RssWindow { before, after, max },
        details: Value::Null,
    };
    (result, outcomes)
}

/// The same question 100 times: the first answer is computed, the rest should be cache hits.
async fn same_query(server: &Server, api: &Api, question: &str) -> ScenarioResult {
    let body = Arc::new(evidence(question));
    let bounds = limits(1, 100, 60);
    let (mut result, outcomes) = scenario(server, "same_query_100", bounds, api, move |api, _| {
        let body = body.clone();
        async move { api.answer("evidence", &body).await.0 }
    })
    .await;
    let hits: Vec<f64> = outcomes.iter().filter(|o| o.cached).map(|o| o.ms).collect();
    result.details = json!({
        "first_ms": outcomes.first().map(|o| o.ms),
        "first_cached": outcomes.first().map(|o| o.cached),
        "cached_responses": hits.len(),
        "hit_latency": Latency::of(hits),
    });
    result
}

/// Hybrid searches asking for 100 hits: response size, server time and the rest of the
/// latency (serialisation and transfer), and memory.
async fn large_result(server: &Server, api: &Api, pool: Arc<Vec<Vec<String>>>) -> ScenarioResult {
    let bounds = limits(1, 20, 60);
    let (mut result, outcomes) =
        scenario(server, "large_result_100", bounds, api, move |api, i| {
            let body = search(&search_query(&pool, 12_000 + i), 100);
            async move { api.search("search", &body).await.0 }
        })
        .await;
    let answered: Vec<&Outcome> = outcomes.iter().filter(|o| o.server_ms.is_some()).collect();
    result.details = json!({
        "min_hits": answered.iter().filter_map(|o| o.items).min(),
        "mean_response_bytes": result.summary.mean_bytes,
        "server_took_mean_ms": mean(answered.iter().filter_map(|o| o.server_ms)),
        "serialisation_and_transfer_mean_ms":
            mean(answered.iter().map(|o| o.ms - o.server_ms.unwrap_or(0.0))),
    });
    result
}

/// A conversation of 20 follow-up turns; each carries the last 20 messages as history.
async fn conversation(server: &Server, api: &Api, pool: &[Vec<String>]) -> ScenarioResult {
    let api = api.clone();
    let topics: Vec<String> = (0..20).map(|i| search_query(pool, 15_000 + i)).collect();
    let turns = Arc::new(Mutex::new(Vec::new()));
    let kept = turns.clone();
    let (mut result, _) = measured(server, "conversation_20", 1, async move {
        let started = std::time::Instant::now();
        let mut history: Vec<Value> = Vec::new();
        let mut outcomes = Vec::new();
        for (turn, topic) in topics.iter().enumerate() {
            let question = match turn {
                0 => format!("What does § 3 say about {topic}?"),
                t if t % 2 == 1 => format!("And what about § {}?", 1 + t % 20),
                _ => format!("What does it say about {topic}?"),
            };
            let start = history.len().saturating_sub(20);
            let mut body = evidence(&question);
            body["history"] = Value::Array(history[start..].to_vec());
            let (outcome, answer) = api.answer("evidence", &body).await;
            let decontextualize = outcome
                .stages
                .iter()
                .find(|(stage, _)| stage == "decontextualize")
                .map(|(_, ms)| *ms);
            kept.lock().unwrap().push(json!({
                "turn": turn + 1, "history_messages": history.len() - start,
                "ms": outcome.ms, "decontextualize_ms": decontextualize,
                "rewritten": answer.as_ref().map(|a| a["question"].clone()),
            }));
            let reply: String = answer
                .as_ref()
                .and_then(|a| a["answer"].as_str())
                .unwrap_or("")
                .chars()
                .take(1_000)
                .collect();
            history.push(json!({"role": "user", "content": question}));
            history.push(json!({"role": "assistant", "content": reply}));
            outcomes.push(outcome);
        }
        (outcomes, started.elapsed().as_secs_f64())
    })
    .await;
    result.details = json!({
        "rss_growth_mib": result.rss_mib.after - result.rss_mib.before,
        "turns": *turns.lock().unwrap(),
    });
    result
}
