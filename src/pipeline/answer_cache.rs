//! Cache of finished answers: the store behind the pipeline's lookup and storing stage
//! (`pipeline::cached`).
//!
//! An in-memory [`quick_cache`] bounded by entry count, keyed by the BLAKE3 [`AnswerKey`] of
//! everything in a request that can change its answer. An entry is served while it is
//! younger than the TTL and the write generations of the collections its answer searched
//! (and of the set of collections) are those it was answered at; otherwise the lookup is a
//! miss and the fresh answer replaces it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use super::AnswerRequest;
use super::types::{Answer, RequestedMode, TurnRole};
use crate::config::{AnswerConfig, Config};
use crate::llm::{AnswerMode, sampling_for};
use crate::service::GenerationSnapshot;

/// Hashed ahead of the fields, so keys of this cache never equal other BLAKE3 digests.
const KEY_DOMAIN: &[u8] = b"constitutional-rag/answer-cache/v1";

/// 32-byte BLAKE3 of a request's normalised question, requested mode, sorted collections,
/// history and the settings that change an answer (rerank, CRAG, sampling overrides); the
/// deadline is left out. Fields are length-prefixed so that they cannot run together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnswerKey([u8; 32]);

impl AnswerKey {
    /// The key of `request`, with rerank and CRAG resolved against `config` (so that
    /// leaving them out and asking for the default share an entry).
    pub fn new(request: &AnswerRequest, config: &AnswerConfig) -> Self {
        let mut key = KeyHasher::new();
        key.bytes(normalise_question(&request.question).as_bytes());
        key.bytes(requested_mode(request.mode).as_bytes());
        let mut collections: Vec<&str> = request.collections.iter().map(String::as_str).collect();
        collections.sort_unstable();
        collections.dedup();
        key.count(collections.len());
        for collection in collections {
            key.bytes(collection.as_bytes());
        }
        key.count(request.history.len());
        for turn in &request.history {
            key.bytes(match turn.role {
                TurnRole::User => b"user",
                TurnRole::Assistant => b"assistant",
            });
            key.bytes(turn.content.as_bytes());
        }
        key.flag(request.rerank.unwrap_or(config.rerank));
        key.flag(request.crag.unwrap_or(config.crag.enabled));
        let sampling = &request.sampling;
        key.option(sampling.temperature.map(|t| u64::from(t.to_bits())));
        key.option(sampling.top_p.map(|p| u64::from(p.to_bits())));
        key.option(sampling.max_tokens.map(u64::from));
        key.option(sampling.seed);
        key.option(sampling.repetition_penalty.map(|p| u64::from(p.to_bits())));
        key.count(sampling.stop.len());
        for stop in &sampling.stop {
            key.bytes(stop.as_bytes());
        }
        Self(*key.0.finalize().as_bytes())
    }
}

/// A BLAKE3 hasher fed length-prefixed fields.
struct KeyHasher(blake3::Hasher);

impl KeyHasher {
    fn new() -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(KEY_DOMAIN);
        Self(hasher)
    }

    fn count(&mut self, n: usize) {
        self.0.update(&(n as u64).to_le_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.0.update(bytes);
    }

    fn flag(&mut self, on: bool) {
        self.0.update(&[u8::from(on)]);
    }

    fn option(&mut self, value: Option<u64>) {
        match value {
            Some(value) => {
                self.flag(true);
                self.0.update(&value.to_le_bytes());
            }
            None => self.flag(false),
        }
    }
}

/// `question` trimmed, with runs of whitespace collapsed to one space, lowercased.
pub fn normalise_question(question: &str) -> String {
    question
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn requested_mode(mode: RequestedMode) -> &'static str {
    match mode {
        RequestedMode::Auto => "auto",
        RequestedMode::Chat => "chat",
        RequestedMode::Assist => "assist",
        RequestedMode::Evidence => "evidence",
    }
}

/// Whether `answer` to `request` may be cached: never a chat answer, one cut short by the
/// deadline (`skipped_stages`) or graded under a timeout, nor an assist answer sampled with
/// a temperature above 0 and no seed (unless `generation.deterministic`). Refusals may be.
pub fn cacheable(answer: &Answer, request: &AnswerRequest, config: &Config) -> bool {
    if answer.mode == AnswerMode::Chat
        || !answer.skipped_stages.is_empty()
        || answer.gradings.iter().any(|g| g.grader == "timeout")
    {
        return false;
    }
    if answer.mode == AnswerMode::Assist {
        let sampling = sampling_for(config, answer.mode, request.sampling.clone());
        return sampling.temperature <= 0.0 || sampling.seed.is_some();
    }
    true
}

/// One cached answer and what it was answered from.
struct Entry {
    answer: Answer,
    /// The collections its answer searched: routed primary, then support.
    collections: Vec<String>,
    /// [`GenerationSnapshot::of`] those collections when the answer started.
    generations: Vec<u64>,
    stored: Instant,
}

/// A bounded cache of finished answers; share it behind the pipeline.
pub struct AnswerCache {
    entries: Cache<AnswerKey, Arc<Entry>>,
    ttl: Duration,
}

impl AnswerCache {
    /// A cache of at most `entries` answers (at least 1), each served for at most `ttl`.
    pub fn new(entries: usize, ttl: Duration) -> Self {
        Self {
            entries: Cache::new(entries.max(1)),
            ttl,
        }
    }

    /// The answer stored under `key` when it is younger than the TTL and the generations of
    /// what it searched are those of `now`; a stale entry is removed.
    pub fn get(&self, key: &AnswerKey, now: &GenerationSnapshot) -> Option<Answer> {
        let entry = self.entries.get(key)?;
        if entry.stored.elapsed() < self.ttl && now.of(&entry.collections) == entry.generations {
            return Some(entry.answer.clone());
        }
        self.entries
            .remove_if(key, |current| Arc::ptr_eq(current, &entry));
        None
    }

    /// Stores `answer` under `key`, with the generations its collections had at `started`
    /// (a snapshot taken before the answer read anything), replacing any older entry.
    pub fn insert(&self, key: AnswerKey, answer: &Answer, started: &GenerationSnapshot) {
        let collections: Vec<String> = answer
            .routing
            .primary
            .iter()
            .chain(&answer.routing.support)
            .cloned()
            .collect();
        let entry = Entry {
            generations: started.of(&collections),
            collections,
            answer: answer.clone(),
            stored: Instant::now(),
        };
        self.entries.insert(key, Arc::new(entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::types::{AnswerUsage, EvidenceLevel, Grading, Intent, Routing, Turn};

    fn answer(mode: AnswerMode) -> Answer {
        Answer {
            answer: "RF 2 kap. 1 §: \"Var och en\" [1]".into(),
            mode,
            saknas_underlag: false,
            refusal_reason: None,
            evidence_level: EvidenceLevel::High,
            question: "q".into(),
            intent: Intent::LegalText,
            routing: Routing {
                primary: vec!["sfs".into()],
                ..Routing::default()
            },
            sources: Vec::new(),
            citations: Vec::new(),
            quotes: Vec::new(),
            removed_citations: Vec::new(),
            corrections: Vec::new(),
            gradings: Vec::new(),
            supported_share: None,
            unsupported_sentences: Vec::new(),
            skipped_stages: Vec::new(),
            timings: Vec::new(),
            usage: AnswerUsage::default(),
            corpus_version: 0,
            cached: false,
        }
    }

    fn request(question: &str) -> AnswerRequest {
        AnswerRequest {
            question: question.into(),
            ..AnswerRequest::default()
        }
    }

    fn key(request: &AnswerRequest) -> AnswerKey {
        AnswerKey::new(request, &AnswerConfig::default())
    }

    #[test]
    fn questions_normalise_case_and_spacing() {
        assert_eq!(
            normalise_question("  Vad  SÄGER\tRF\n2 kap.   1 §?  "),
            "vad säger rf 2 kap. 1 §?"
        );
        assert_eq!(normalise_question("\u{a0}Åsikt\u{2003}fri "), "åsikt fri");
        assert_eq!(
            key(&request("What does  Section 4 say?")),
            key(&request(" what does section 4 SAY? "))
        );
        assert_ne!(
            key(&request("What does Section 4 say?")),
            key(&request("What does Section 5 say?"))
        );
    }

    #[test]
    fn collections_are_a_set_and_defaults_resolve() {
        let mut a = request("q");
        a.collections = vec!["sfs".into(), "guides".into(), "sfs".into()];
        let mut b = request("q");
        b.collections = vec!["guides".into(), "sfs".into()];
        assert_eq!(key(&a), key(&b));
        b.collections = vec!["guides".into()];
        assert_ne!(key(&a), key(&b));

        let mut explicit = request("q");
        explicit.rerank = Some(AnswerConfig::default().rerank);
        explicit.crag = Some(AnswerConfig::default().crag.enabled);
        explicit.deadline_ms = Some(1_500);
        assert_eq!(key(&explicit), key(&request("q")));
        explicit.rerank = Some(!AnswerConfig::default().rerank);
        assert_ne!(key(&explicit), key(&request("q")));
    }

    #[test]
    fn mode_history_and_sampling_are_part_of_the_key() {
        let plain = key(&request("q"));
        let mut evidence = request("q");
        evidence.mode = RequestedMode::Evidence;
        assert_ne!(key(&evidence), plain);

        let turn = |role, content: &str| Turn {
            role,
            content: content.into(),
        };
        let mut history = request("q");
        history.history = vec![turn(TurnRole::User, "a")];
        let mut other = request("q");
        other.history = vec![turn(TurnRole::Assistant, "a")];
        assert_ne!(key(&history), plain);
        assert_ne!(key(&history), key(&other));

        let mut seeded = request("q");
        seeded.sampling.seed = Some(7);
        assert_ne!(key(&seeded), plain);
        let mut warm = request("q");
        warm.sampling.temperature = Some(0.0);
        assert_ne!(key(&warm), plain);
        assert_ne!(key(&warm), key(&seeded));
    }

    #[test]
    fn only_reproducible_answers_are_cacheable() {
        let q = request("q");
        let config = Config::default();
        assert!(cacheable(&answer(AnswerMode::Evidence), &q, &config));
        assert!(!cacheable(&answer(AnswerMode::Chat), &q, &config));
        let mut cut = answer(AnswerMode::Evidence);
        cut.skipped_stages = vec!["crag".into()];
        assert!(!cacheable(&cut, &q, &config));
        let mut timed_out = answer(AnswerMode::Evidence);
        timed_out.gradings = vec![Grading {
            chunk_id: "c".into(),
            relevant: true,
            score: 0.5,
            grader: "timeout".into(),
        }];
        assert!(!cacheable(&timed_out, &q, &config));

        let assist = answer(AnswerMode::Assist);
        assert!(!cacheable(&assist, &q, &config), "assist samples at 0.4");
        let mut seeded = request("q");
        seeded.sampling.seed = Some(1);
        assert!(cacheable(&assist, &seeded, &config));
        let mut greedy = request("q");
        greedy.sampling.temperature = Some(0.0);
        assert!(cacheable(&assist, &greedy, &config));
        let mut deterministic = Config::default();
        deterministic.generation.deterministic = true;
        assert!(cacheable(&assist, &q, &deterministic));
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let now = GenerationSnapshot::default();
        let k = key(&request("q"));
        let kept = AnswerCache::new(4, Duration::from_secs(60));
        kept.insert(k, &answer(AnswerMode::Evidence), &now);
        assert_eq!(kept.get(&k, &now), Some(answer(AnswerMode::Evidence)));
        assert_eq!(kept.get(&key(&request("other")), &now), None);
        let expired = AnswerCache::new(4, Duration::ZERO);
        expired.insert(k, &answer(AnswerMode::Evidence), &now);
        assert_eq!(expired.get(&k, &now), None);
        assert_eq!(expired.entries.len(), 0, "a stale entry is removed");
    }
}
