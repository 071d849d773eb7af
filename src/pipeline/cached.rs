//! The answer cache in the orchestrator: a lookup before the run, the replay of a hit, and
//! storing a finished answer.

use std::time::Instant;

use super::answer_cache::{AnswerKey, cacheable};
use super::events::Events;
use super::timing::Stopwatch;
use super::types::{
    Answer, AnswerUsage, MetadataEvent, PipelineEvent, RefusalEvent, RequestedMode, TokenEvent,
};
use super::{AnswerRequest, Pipeline};
use crate::error::AppResult;
use crate::service::GenerationSnapshot;

/// What a lookup found.
pub(super) enum Lookup {
    /// A fresh cached answer.
    Hit(Box<Answer>),
    /// Nothing fresh: run, then store the answer with this.
    Miss(Pending),
    /// The cache is off, or the request asks for chat (never cached).
    Off,
}

/// What storing the answer of a missed lookup needs.
pub(super) struct Pending {
    key: AnswerKey,
    /// Taken before the run read anything.
    generations: GenerationSnapshot,
}

impl Pipeline {
    /// Looks `request` up in the answer cache, counting hits and misses.
    pub(super) fn lookup(&self, request: &AnswerRequest) -> Lookup {
        let Some(cache) = &self.answers else {
            return Lookup::Off;
        };
        if request.mode == RequestedMode::Chat {
            return Lookup::Off;
        }
        let key = AnswerKey::new(request, &self.library.config().answer);
        let generations = self.library.generations();
        let found = cache.get(&key, &generations);
        self.metrics.cache_lookup(found.is_some());
        match found {
            Some(answer) => Lookup::Hit(Box::new(answer)),
            None => Lookup::Miss(Pending { key, generations }),
        }
    }

    /// Serves a cached answer: `cached: true`, timings `cache` (since `started`) and `total`,
    /// no usage. A stream gets the refusal, or the metadata, the whole text as one token and
    /// the citations.
    pub(super) async fn replay(
        &self,
        cached: Box<Answer>,
        corpus_version: u64,
        started: Instant,
        mut clock: Stopwatch<'_>,
        events: &Events,
    ) -> AppResult<Answer> {
        let mut answer = *cached;
        clock.record("cache", started, events).await?;
        if events.is_streaming() {
            if answer.saknas_underlag {
                events
                    .send(PipelineEvent::Refusal(RefusalEvent {
                        answer: answer.answer.clone(),
                        reason: answer.refusal_reason.clone().unwrap_or_default(),
                    }))
                    .await?;
            } else {
                events
                    .send(PipelineEvent::Metadata(MetadataEvent {
                        mode: answer.mode,
                        intent: answer.intent,
                        routing: answer.routing.clone(),
                        sources: answer.sources.clone(),
                        evidence_level: answer.evidence_level,
                    }))
                    .await?;
                events
                    .send(PipelineEvent::Token(TokenEvent {
                        text: answer.answer.clone(),
                    }))
                    .await?;
                for citation in &answer.citations {
                    events.send(PipelineEvent::Citation(*citation)).await?;
                }
            }
        }
        answer.cached = true;
        answer.corpus_version = corpus_version;
        answer.usage = AnswerUsage::default();
        answer.timings = clock.finish();
        Ok(answer)
    }

    /// Stores `answer` to `request` when it is cacheable.
    pub(super) fn remember(&self, pending: Pending, request: &AnswerRequest, answer: &Answer) {
        if let Some(cache) = &self.answers
            && cacheable(answer, request, self.library.config())
        {
            cache.insert(pending.key, answer, &pending.generations);
        }
    }
}
