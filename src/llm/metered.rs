//! Generation metrics for every backend: generations running now (a stream counts until it
//! ends or is dropped, so a cancelled generation leaves at once) and tokens consumed.

use std::sync::Arc;

use futures::StreamExt;

use super::{GenerationEvent, GenerationRequest, GenerationStream, Generator};
use crate::ops::{Counter, Family, Gauge, Registry};

/// A generator whose streams are counted.
pub struct Metered {
    inner: Arc<dyn Generator>,
    in_flight: Arc<Gauge>,
    tokens: Arc<Family<Counter>>,
}

impl Metered {
    /// Wraps `inner`, registering the generation families with `registry`.
    pub fn new(inner: Arc<dyn Generator>, registry: &Registry) -> Self {
        Self {
            inner,
            in_flight: registry
                .gauge(
                    "crag_generations_in_flight",
                    "Generations running now (a cancelled one leaves as soon as its stream \
                     is dropped).",
                    &[],
                )
                .with(&[]),
            tokens: registry.counter(
                "crag_generation_tokens_total",
                "Tokens consumed by finished generations, by kind (prompt or completion).",
                &["kind"],
            ),
        }
    }
}

/// Decrements the in-flight gauge when the stream holding it is dropped.
struct InFlight(Arc<Gauge>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Generator for Metered {
    fn model(&self) -> &str {
        self.inner.model()
    }

    fn generate(&self, request: GenerationRequest) -> GenerationStream {
        self.in_flight.inc();
        let guard = InFlight(self.in_flight.clone());
        let tokens = self.tokens.clone();
        self.inner
            .generate(request)
            .map(move |event| {
                let _held = &guard;
                if let Ok(GenerationEvent::Finished { usage, .. }) = &event {
                    tokens
                        .with(&["prompt"])
                        .inc_by(u64::from(usage.prompt_tokens));
                    tokens
                        .with(&["completion"])
                        .inc_by(u64::from(usage.completion_tokens));
                }
                event
            })
            .boxed()
    }

    fn check(&self) -> futures::future::BoxFuture<'_, Result<(), String>> {
        self.inner.check()
    }
}
