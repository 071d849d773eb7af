//! Liveness and readiness probes.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::service::{Library, Probe, Readiness, State};

/// The process is up.
#[derive(Debug, Object)]
pub struct Liveness {
    /// Always `ok`.
    pub status: String,
}

/// Readiness of the server and of each of its components.
#[derive(Debug, Object)]
pub struct ReadinessBody {
    /// `unavailable` when the database or the encoder is; `loading` while a model loads;
    /// `degraded` when any component is not ready; else `ready`.
    pub status: State,
    /// Each component's state.
    pub components: Components,
}

/// The state of each component.
#[derive(Debug, Object)]
pub struct Components {
    /// The database answers a query (required).
    pub database: ComponentStatus,
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
}

impl From<Probe> for ComponentStatus {
    fn from(probe: Probe) -> Self {
        Self {
            status: probe.state,
            detail: probe.detail,
        }
    }
}

impl From<Readiness> for ReadinessBody {
    fn from(readiness: Readiness) -> Self {
        Self {
            status: readiness.state,
            components: Components {
                database: readiness.database.into(),
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
