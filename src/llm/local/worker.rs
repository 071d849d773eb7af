//! The thread that owns the decoder and runs continuous batching: every step feeds each
//! active sequence's next tokens (one when decoding, a chunk of its prompt when prefilling)
//! through one forward pass; new requests join between steps.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;

use tokio::sync::mpsc::UnboundedSender;

use super::sampler::Sampler;
use super::text::TextStream;
use crate::inference::bpe::BpeTokenizer;
use crate::inference::llama::{KvCache, Llama, Segment};
use crate::llm::{FinishReason, GenerationError, GenerationEvent, Sampling, Usage};

/// Where a sequence's events go; closed when the caller dropped its stream.
pub type Events = UnboundedSender<Result<GenerationEvent, GenerationError>>;

/// A request handed to the worker.
pub struct Job {
    /// Prompt token ids (fits the context window with room for one more).
    pub prompt: Vec<u32>,
    /// How to sample.
    pub sampling: Sampling,
    /// Where its events go.
    pub events: Events,
}

/// How the worker schedules.
pub struct Limits {
    /// Most sequences decoding together.
    pub max_sequences: usize,
    /// Most prompt tokens fed in one step, over all prefilling sequences.
    pub prefill_chunk: usize,
    /// Context window in tokens.
    pub context: usize,
    /// Forces greedy decoding.
    pub greedy: bool,
}

/// One active generation.
struct Sequence {
    /// Prompt and generated tokens; `cache` holds all but (while decoding) the last.
    tokens: Vec<u32>,
    prompt_len: usize,
    cache: KvCache,
    sampler: Sampler,
    text: TextStream,
    max_tokens: usize,
    events: Events,
}

impl Sequence {
    fn generated(&self) -> usize {
        self.tokens.len() - self.prompt_len
    }

    fn finish(self, reason: FinishReason, tail: String) {
        if !tail.is_empty() {
            let _ = self.events.send(Ok(GenerationEvent::Delta(tail)));
        }
        let usage = Usage {
            prompt_tokens: self.prompt_len as u32,
            completion_tokens: self.generated() as u32,
        };
        let _ = self.events.send(Ok(GenerationEvent::Finished {
            usage,
            finish_reason: reason,
        }));
    }
}

/// Serves jobs from `jobs` until every sender is gone and no sequence is left. `waiting`
/// counts jobs sent but not yet admitted.
pub fn run(
    model: Llama,
    tokenizer: Arc<BpeTokenizer>,
    jobs: Receiver<Job>,
    waiting: Arc<AtomicUsize>,
    limits: Limits,
) {
    let mut queue: VecDeque<Job> = VecDeque::new();
    let mut active: Vec<Sequence> = Vec::new();
    loop {
        if active.is_empty() && queue.is_empty() {
            match jobs.recv() {
                Ok(job) => queue.push_back(job),
                Err(_) => return,
            }
        }
        queue.extend(jobs.try_iter());
        active.retain(|s| !s.events.is_closed());
        while active.len() < limits.max_sequences
            && let Some(job) = queue.pop_front()
        {
            waiting.fetch_sub(1, Ordering::Relaxed);
            if !job.events.is_closed() {
                active.push(admit(job, &model, &limits));
            }
        }
        if active.is_empty() {
            continue;
        }
        if let Err(e) = step(&model, &tokenizer, &mut active, &limits) {
            tracing::error!(error = %e, "local decoder step failed");
            for s in active.drain(..) {
                let _ = s.events.send(Err(GenerationError::Internal(
                    "the local decoder failed".into(),
                )));
            }
        }
    }
}

fn admit(job: Job, model: &Llama, limits: &Limits) -> Sequence {
    Sequence {
        prompt_len: job.prompt.len(),
        tokens: job.prompt,
        cache: model.new_cache(),
        sampler: Sampler::new(&job.sampling, limits.greedy),
        text: TextStream::new(&job.sampling.stop),
        max_tokens: job.sampling.max_tokens as usize,
        events: job.events,
    }
}

/// One forward pass over all active sequences, then one token for each that is past its
/// prompt. Finished sequences leave `active`.
fn step(
    model: &Llama,
    tokenizer: &BpeTokenizer,
    active: &mut Vec<Sequence>,
    limits: &Limits,
) -> Result<(), crate::inference::InferenceError> {
    let mut budget = limits.prefill_chunk;
    // (index into active, whether its segment reaches its last token)
    let mut fed = Vec::with_capacity(active.len());
    let mut segments = Vec::with_capacity(active.len());
    for (i, s) in active.iter_mut().enumerate() {
        let pending = s.tokens.len() - s.cache.len();
        let n = if pending == 1 { 1 } else { pending.min(budget) };
        if n == 0 {
            continue;
        }
        if pending > 1 {
            budget -= n;
        }
        let start = s.cache.len();
        fed.push((i, n == pending));
        segments.push(Segment {
            cache: &mut s.cache,
            tokens: &s.tokens[start..start + n],
        });
    }
    let logits = model.forward(&mut segments)?;
    drop(segments);
    let mut finished = Vec::new();
    for (row, (i, complete)) in fed.into_iter().enumerate() {
        if !complete {
            continue;
        }
        let s = &mut active[i];
        let mut row_logits = Vec::<f32>::try_from(logits.get(row as i64))?;
        let token = s.sampler.next(&mut row_logits, &s.tokens);
        if let Some(reason) = advance(s, token, tokenizer, limits.context) {
            finished.push((i, reason));
        }
    }
    for (i, (reason, tail)) in finished.into_iter().rev() {
        active.swap_remove(i).finish(reason, tail);
    }
    Ok(())
}

/// Adds a sampled token; returns why the sequence ends (with the text still held) if it does.
fn advance(
    s: &mut Sequence,
    token: u32,
    tokenizer: &BpeTokenizer,
    context: usize,
) -> Option<(FinishReason, String)> {
    if tokenizer.ends_generation(token) {
        return Some((FinishReason::Stop, take_tail(&mut s.text)));
    }
    s.tokens.push(token);
    let piece = s.text.push(tokenizer.token_bytes(token));
    if !piece.text.is_empty() {
        let _ = s.events.send(Ok(GenerationEvent::Delta(piece.text)));
    }
    if piece.stopped {
        return Some((FinishReason::Stop, String::new()));
    }
    if s.generated() >= s.max_tokens || s.tokens.len() >= context {
        return Some((FinishReason::Length, take_tail(&mut s.text)));
    }
    None
}

fn take_tail(text: &mut TextStream) -> String {
    std::mem::replace(text, TextStream::new(&[])).finish()
}
