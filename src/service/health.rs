//! Readiness of each part of the library: the database, the models and the generator.

use std::time::Duration;

use super::{Library, ReplicationStatus};
use crate::inference::batcher::ModelState;
use crate::inference::embedder::Embedder;
use crate::inference::precision::PrecisionChoice;
use crate::llm::local::probe::DecoderChoice;

/// Longest wait for one component's probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How well a component, or the whole server, can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Serving normally.
    Ready,
    /// Serving, but refusing some requests (a full queue) or with an optional part down.
    Degraded,
    /// A model is still loading; requests that need it wait for it.
    Loading,
    /// Not serving.
    Unavailable,
}

/// The state of one component and why it is not ready.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The state found.
    pub state: State,
    /// Why it is not ready, or a note on a ready one (a lazy model not loaded yet).
    pub detail: Option<String>,
    /// A loaded model's precision and how it was chosen (the probe's timings).
    pub precision: Option<PrecisionChoice>,
    /// A local decoder's numerics and how they were chosen, once it has loaded.
    pub numerics: Option<DecoderChoice>,
}

impl Probe {
    fn ready() -> Self {
        Self {
            state: State::Ready,
            detail: None,
            precision: None,
            numerics: None,
        }
    }

    fn not(state: State, detail: impl Into<String>) -> Self {
        Self {
            state,
            detail: Some(detail.into()),
            precision: None,
            numerics: None,
        }
    }

    fn with_precision(self, precision: Option<&PrecisionChoice>) -> Self {
        Self {
            precision: precision.cloned(),
            ..self
        }
    }

    fn with_numerics(self, numerics: Option<&DecoderChoice>) -> Self {
        Self {
            numerics: numerics.cloned(),
            ..self
        }
    }
}

/// Every component's probe and the verdict drawn from them.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// `unavailable` when a required part (database, encoder) is; `loading` while any model
    /// loads; `degraded` when any part is not ready; else `ready`.
    pub state: State,
    /// The database answers a query.
    pub database: Probe,
    /// This server reads and applies the change log.
    pub replication: Probe,
    /// Where this server stands in the change log.
    pub position: ReplicationStatus,
    /// The sentence encoder's worker runs and its queue has room.
    pub encoder: Probe,
    /// The reranker's worker runs and its queue has room (optional: only `rerank` searches
    /// need it).
    pub reranker: Probe,
    /// The configured generator answers its check (optional); `None` when none is configured.
    pub generator: Option<Probe>,
}

impl Readiness {
    fn judge(
        database: Probe,
        replication: Probe,
        encoder: Probe,
        reranker: Probe,
        generator: Option<Probe>,
    ) -> Self {
        let required = database.state.max(replication.state).max(encoder.state);
        let states: Vec<State> = [&database, &replication, &encoder, &reranker]
            .into_iter()
            .chain(generator.as_ref())
            .map(|probe| probe.state)
            .collect();
        let worst = states.iter().copied().fold(required, State::max);
        let loading = states.contains(&State::Loading);
        let state = if required == State::Unavailable {
            State::Unavailable
        } else if loading {
            State::Loading
        } else {
            worst.min(State::Degraded)
        };
        Self {
            state,
            database,
            replication,
            position: ReplicationStatus::default(),
            encoder,
            reranker,
            generator,
        }
    }
}

impl Library {
    /// Probes every component, concurrently, each within a bounded time.
    pub async fn readiness(&self) -> Readiness {
        let max_queue = self.config.inference.max_queue;
        let (database, generator) = tokio::join!(
            bounded(async {
                match self.store.ping().await {
                    Ok(()) => Probe::ready(),
                    Err(err) => Probe::not(State::Unavailable, err.to_string()),
                }
            }),
            async {
                match &self.generator {
                    Some(generator) if generator.is_loading() => {
                        Some(Probe::not(State::Loading, "loading the model"))
                    }
                    Some(generator) => Some(
                        bounded(async {
                            match generator.check().await {
                                Ok(()) => Probe::ready(),
                                Err(why) => Probe::not(State::Unavailable, why),
                            }
                        })
                        .await
                        .with_numerics(generator.numerics()),
                    ),
                    None => None,
                }
            }
        );
        // The default encoder decides; a language's own encoder, loaded on first use, can
        // only degrade the server (its requests wait while it loads, the rest are served).
        let probe = |encoder: &Embedder| {
            worker(
                encoder.model_state(),
                encoder.is_running(),
                encoder.batcher_stats().0,
                max_queue,
            )
            .with_precision(encoder.precision())
        };
        let mut encoder = probe(self.encoders.default_encoder());
        for other in self.encoders.all().skip(1) {
            let other_probe = probe(other);
            if other_probe.state > State::Ready && encoder.state < State::Degraded {
                encoder.state = State::Degraded;
                encoder.detail = Some(format!(
                    "{}: {}",
                    other.name(),
                    other_probe.detail.unwrap_or_default()
                ));
            }
        }
        let reranker = worker(
            self.reranker.model_state(),
            self.reranker.is_running(),
            self.reranker.batcher_stats().0,
            max_queue,
        )
        .with_precision(self.reranker.precision());
        let position = self.replication_status();
        let replication = match &position.fault {
            Some((why, lasting)) => Probe::not(
                State::Unavailable,
                format!("{why} (for {} s)", lasting.as_secs()),
            ),
            None => Probe::ready(),
        };
        Readiness {
            position,
            ..Readiness::judge(database, replication, encoder, reranker, generator)
        }
    }
}

/// `probe`, or `unavailable` when it takes longer than [`PROBE_TIMEOUT`].
async fn bounded(probe: impl Future<Output = Probe>) -> Probe {
    tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .unwrap_or_else(|_| {
            Probe::not(
                State::Unavailable,
                format!("no answer within {} s", PROBE_TIMEOUT.as_secs()),
            )
        })
}

/// A model worker's state from where its model is, whether it runs and how full its queue is.
fn worker(model: ModelState, running: bool, queued: usize, max_queue: usize) -> Probe {
    match model {
        ModelState::NotLoaded => Probe {
            detail: Some("not loaded yet: loads on first use".into()),
            ..Probe::ready()
        },
        ModelState::Loading => Probe::not(State::Loading, "loading the model"),
        ModelState::Failed(why) => Probe::not(
            State::Unavailable,
            format!("the model failed to load: {why}"),
        ),
        ModelState::Loaded if !running => {
            Probe::not(State::Unavailable, "the model worker has stopped")
        }
        ModelState::Loaded if queued >= max_queue => Probe::not(
            State::Degraded,
            format!("the model queue is full ({queued} inputs waiting)"),
        ),
        ModelState::Loaded => Probe::ready(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(state: State) -> Probe {
        match state {
            State::Ready => Probe::ready(),
            other => Probe::not(other, "down"),
        }
    }

    #[test]
    fn required_parts_decide_availability_and_optional_parts_degrade() {
        use State::*;
        let verdict = |db, enc, rr, generator: Option<State>| {
            Readiness::judge(
                probe(db),
                probe(State::Ready),
                probe(enc),
                probe(rr),
                generator.map(probe),
            )
            .state
        };
        assert_eq!(verdict(Ready, Ready, Ready, None), Ready);
        assert_eq!(verdict(Ready, Ready, Ready, Some(Ready)), Ready);
        assert_eq!(verdict(Ready, Ready, Ready, Some(Unavailable)), Degraded);
        assert_eq!(verdict(Ready, Ready, Unavailable, None), Degraded);
        assert_eq!(verdict(Ready, Degraded, Ready, None), Degraded);
        assert_eq!(verdict(Unavailable, Ready, Ready, None), Unavailable);
        assert_eq!(verdict(Ready, Unavailable, Ready, Some(Ready)), Unavailable);
        assert_eq!(verdict(Ready, Loading, Ready, None), Loading);
        assert_eq!(verdict(Ready, Ready, Ready, Some(Loading)), Loading);
        assert_eq!(verdict(Unavailable, Loading, Ready, None), Unavailable);
    }

    #[test]
    fn workers_report_loading_stopped_and_full() {
        use ModelState::*;
        assert_eq!(worker(Loaded, true, 0, 10).state, State::Ready);
        assert_eq!(worker(Loaded, true, 10, 10).state, State::Degraded);
        assert_eq!(worker(Loaded, false, 0, 10).state, State::Unavailable);
        assert_eq!(worker(Loading, true, 0, 10).state, State::Loading);
        assert_eq!(worker(NotLoaded, true, 0, 10).state, State::Ready);
        assert_eq!(
            worker(Failed("gone".into()), false, 0, 10).state,
            State::Unavailable
        );
    }
}
