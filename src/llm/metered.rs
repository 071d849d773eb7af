//! Generation metrics for every backend: generations running now (a stream counts until it
//! ends or is dropped, so a cancelled generation leaves at once) and tokens consumed.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;

use super::local::probe::DecoderChoice;
use super::{GenerationEvent, GenerationRequest, GenerationStream, Generator};
use crate::ops::{Counter, Family, Gauge, Histogram, Registry};

/// Bucket bounds of the decoding-speed histogram, in tokens per second.
const SPEED_BUCKETS: [f64; 12] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 50.0, 75.0, 100.0, 200.0, 500.0, 1000.0,
];

/// A generator whose streams are counted.
pub struct Metered {
    inner: Arc<dyn Generator>,
    in_flight: Arc<Gauge>,
    tokens: Arc<Family<Counter>>,
    speed: Arc<Histogram>,
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
            speed: registry
                .histogram(
                    "crag_generation_tokens_per_second",
                    "Decoding speed of finished generations: completion tokens after the \
                     first, per second from the first text to the end.",
                    &[],
                    &SPEED_BUCKETS,
                )
                .with(&[]),
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
        let (tokens, speed) = (self.tokens.clone(), self.speed.clone());
        let mut first_text: Option<Instant> = None;
        self.inner
            .generate(request)
            .map(move |event| {
                let _held = &guard;
                match &event {
                    Ok(GenerationEvent::Delta(_)) => {
                        first_text.get_or_insert_with(Instant::now);
                    }
                    Ok(GenerationEvent::Finished { usage, .. }) => {
                        tokens
                            .with(&["prompt"])
                            .inc_by(u64::from(usage.prompt_tokens));
                        tokens
                            .with(&["completion"])
                            .inc_by(u64::from(usage.completion_tokens));
                        let decoding = first_text.map(|at| at.elapsed().as_secs_f64());
                        if let Some(seconds) = decoding.filter(|s| *s > 0.0)
                            && usage.completion_tokens > 1
                        {
                            speed.observe(f64::from(usage.completion_tokens - 1) / seconds);
                        }
                    }
                    Err(_) => {}
                }
                event
            })
            .boxed()
    }

    fn check(&self) -> futures::future::BoxFuture<'_, Result<(), String>> {
        self.inner.check()
    }

    fn is_loading(&self) -> bool {
        self.inner.is_loading()
    }

    fn numerics(&self) -> Option<&DecoderChoice> {
        self.inner.numerics()
    }
}
