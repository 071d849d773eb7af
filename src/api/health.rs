//! Liveness and readiness probes.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use super::dto::health::State;
use crate::inference::precision::{PrecisionChoice, ProbeTiming, ThreadChoice, ThreadTiming};
use crate::llm::local::probe::{DecoderChoice, DecoderTiming};
use crate::service::{Library, Probe, Readiness};

/// The process is up.
#[derive(Debug, Object)]
pub struct Liveness {
    /// Always `ok`.
    pub status: String,
}

/// Readiness of the server and of each of its components.
#[derive(Debug, Object)]
pub struct ReadinessBody {
    /// `unavailable` when the database, the change log or the encoder is; `loading` while
    /// a model loads; `degraded` when any component is not ready; else `ready`.
    pub status: State,
    /// The corpus version this server has applied (the last change-log entry).
    pub corpus_version: u64,
    /// Changes committed to the database that this server has not applied yet.
    pub lag: u64,
    /// Each component's state.
    pub components: Components,
}

/// The state of each component.
#[derive(Debug, Object)]
pub struct Components {
    /// The database answers a query (required).
    pub database: ComponentStatus,
    /// This server reads and applies the change log that keeps its indexes in step with the
    /// database (required).
    pub replication: ComponentStatus,
    /// The sentence encoder's worker runs and its queue has room (required).
    pub encoder: ComponentStatus,
    /// The reranker's worker runs and its queue has room (optional).
    pub reranker: ComponentStatus,
    /// The configured text generator answers its check (optional); absent when
    /// `[generation] backend = "none"`.
    #[oai(skip_serializing_if_is_none)]
    pub generator: Option<ComponentStatus>,
}

/// The state of one component.
#[derive(Debug, Object)]
pub struct ComponentStatus {
    /// `ready`, `degraded`, `loading` or `unavailable`.
    pub status: State,
    /// Why it is not ready, or a note (a lazy model not loaded yet).
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// A model's precision and how it was chosen, once the model has loaded.
    #[oai(skip_serializing_if_is_none)]
    pub precision: Option<PrecisionStatus>,
    /// The local decoder's numerics and how they were chosen, once it has loaded (the
    /// generator of `[generation] backend = "local"` only).
    #[oai(skip_serializing_if_is_none)]
    pub decoder: Option<DecoderStatus>,
}

/// The numerics the local decoder runs in.
#[derive(Debug, Object)]
pub struct DecoderStatus {
    /// `f32`, `bf16`, `f16` or `int4` (4-bit GGUF matrices through packed kernels).
    pub numerics: String,
    /// `probe` (timed at load, `inference.precision = "auto"`) or `configuration`.
    pub chosen_by: String,
    /// Torch threads it decodes on.
    pub threads: u64,
    /// The probe's measurements, f32 first; empty unless the probe chose.
    pub probe: Vec<DecoderTimingStatus>,
}

/// How one kind of numerics did in the decoder's probe (a 70-token prompt, then 8 tokens
/// decoded along f32's greedy path).
#[derive(Debug, Object)]
pub struct DecoderTimingStatus {
    /// `f32`, `int4`, `bf16` or `f16`.
    pub numerics: String,
    /// Milliseconds to read the prompt (best run).
    pub prefill_ms: f64,
    /// Milliseconds per decoded token (best run).
    pub step_ms: f64,
    /// Largest difference in any logit from f32's (at most 2.0 to be used); absent when the
    /// kind failed to run.
    #[oai(skip_serializing_if_is_none)]
    pub max_logit_diff: Option<f64>,
    /// Why it is not used although it could be faster (disagrees with f32, too slow, failed).
    #[oai(skip_serializing_if_is_none)]
    pub rejected: Option<String>,
}

impl From<DecoderChoice> for DecoderStatus {
    fn from(choice: DecoderChoice) -> Self {
        Self {
            numerics: choice.numerics.to_string(),
            chosen_by: choice.chosen_by.as_str().into(),
            threads: choice.threads as u64,
            probe: choice.probe.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<DecoderTiming> for DecoderTimingStatus {
    fn from(timing: DecoderTiming) -> Self {
        Self {
            numerics: timing.numerics.to_string(),
            prefill_ms: timing.prefill.as_secs_f64() * 1e3,
            step_ms: timing.step.as_secs_f64() * 1e3,
            max_logit_diff: Some(f64::from(timing.max_logit_diff)).filter(|d| d.is_finite()),
            rejected: timing.rejected,
        }
    }
}

/// The precision a model runs in.
#[derive(Debug, Object)]
pub struct PrecisionStatus {
    /// `f32`, `bf16` or `f16`.
    pub precision: String,
    /// `probe` (timed at load, `inference.precision = "auto"`), `configuration` (set by the
    /// operator) or `default` (`auto` for a model that is not probed: bf16 on a GPU, f32 on
    /// the CPU).
    pub chosen_by: String,
    /// The probe's measurements, f32 first; empty unless the probe chose.
    pub probe: Vec<PrecisionTiming>,
    /// The torch threads of its queries and of its bulk work (sentence encoders).
    #[oai(skip_serializing_if_is_none)]
    pub threads: Option<ThreadsStatus>,
}

/// The torch threads a model runs on and how each count did.
#[derive(Debug, Object)]
pub struct ThreadsStatus {
    /// Threads of a batch that holds a query.
    pub interactive: u64,
    /// Threads of a batch of ingestion only.
    pub bulk: u64,
    /// Each count timed in the chosen precision, fewest first; empty when both were set
    /// (`inference.threads`, `inference.bulk_threads`) or one core is available.
    pub probe: Vec<ThreadTimingStatus>,
}

/// How one thread count did.
#[derive(Debug, Object)]
pub struct ThreadTimingStatus {
    /// Threads timed.
    pub threads: u64,
    /// Milliseconds for a batch of eight 128-token passages (best run).
    pub batch_ms: f64,
    /// Milliseconds for one short query (best run).
    pub query_ms: f64,
}

impl From<ThreadChoice> for ThreadsStatus {
    fn from(choice: ThreadChoice) -> Self {
        Self {
            interactive: choice.plan.interactive as u64,
            bulk: choice.plan.bulk as u64,
            probe: choice.probe.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ThreadTiming> for ThreadTimingStatus {
    fn from(timing: ThreadTiming) -> Self {
        Self {
            threads: timing.threads as u64,
            batch_ms: timing.batch.as_secs_f64() * 1e3,
            query_ms: timing.query.as_secs_f64() * 1e3,
        }
    }
}

/// How one precision did in the probe.
#[derive(Debug, Object)]
pub struct PrecisionTiming {
    /// `f32`, `bf16` or `f16`.
    pub precision: String,
    /// Milliseconds for a batch of eight 128-token passages (best run).
    pub batch_ms: f64,
    /// Milliseconds for one short query (best run).
    pub query_ms: f64,
    /// Least cosine of its embeddings to f32's (must be at least 0.999).
    pub min_cosine: f64,
    /// Why it is not used although it could be faster (disagrees with f32, too slow, failed).
    #[oai(skip_serializing_if_is_none)]
    pub rejected: Option<String>,
}

impl From<PrecisionChoice> for PrecisionStatus {
    fn from(choice: PrecisionChoice) -> Self {
        Self {
            precision: choice.precision.as_str().into(),
            chosen_by: choice.chosen_by.as_str().into(),
            probe: choice.probe.into_iter().map(Into::into).collect(),
            threads: choice.threads.map(Into::into),
        }
    }
}

impl From<ProbeTiming> for PrecisionTiming {
    fn from(timing: ProbeTiming) -> Self {
        Self {
            precision: timing.precision.as_str().into(),
            batch_ms: timing.batch.as_secs_f64() * 1e3,
            query_ms: timing.query.as_secs_f64() * 1e3,
            min_cosine: f64::from(timing.min_cosine),
            rejected: timing.rejected,
        }
    }
}

impl From<Probe> for ComponentStatus {
    fn from(probe: Probe) -> Self {
        Self {
            status: probe.state.into(),
            detail: probe.detail,
            precision: probe.precision.map(Into::into),
            decoder: probe.numerics.map(Into::into),
        }
    }
}

impl From<Readiness> for ReadinessBody {
    fn from(readiness: Readiness) -> Self {
        Self {
            status: readiness.state.into(),
            corpus_version: readiness.position.applied,
            lag: readiness.position.lag(),
            components: Components {
                database: readiness.database.into(),
                replication: readiness.replication.into(),
                encoder: readiness.encoder.into(),
                reranker: readiness.reranker.into(),
                generator: readiness.generator.map(Into::into),
            },
        }
    }
}

/// Readiness answer.
#[derive(Debug, ApiResponse)]
pub enum ReadinessResponse {
    /// Serving: every component ready, or only optional ones down (`degraded`).
    #[oai(status = 200)]
    Ready(Json<ReadinessBody>),
    /// A required component (database, encoder) is unavailable, or a model is loading.
    #[oai(status = 503)]
    NotReady(Json<ReadinessBody>),
}

/// Probe routes.
pub struct HealthApi {
    /// The service whose parts are probed.
    pub library: Library,
}

#[OpenApi]
impl HealthApi {
    /// Liveness: the process is up and serving HTTP.
    #[oai(path = "/health/live", method = "get", tag = "ApiTags::Health")]
    async fn live(&self) -> Json<Liveness> {
        Json(Liveness {
            status: "ok".into(),
        })
    }

    /// Readiness of the database, the encoder, the reranker and the generator (when one is
    /// configured), each probed within 2 s.
    #[oai(path = "/health/ready", method = "get", tag = "ApiTags::Health")]
    async fn ready(&self) -> ReadinessResponse {
        let body = ReadinessBody::from(self.library.readiness().await);
        match body.status {
            State::Loading | State::Unavailable => ReadinessResponse::NotReady(Json(body)),
            State::Ready | State::Degraded => ReadinessResponse::Ready(Json(body)),
        }
    }
}
