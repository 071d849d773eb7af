//! Liveness and readiness probes.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::service::Library;

/// State of the process or one of its parts.
#[derive(Debug, Object)]
pub struct HealthStatus {
    /// `ok`, `ready` or `unavailable`.
    pub status: String,
    /// Database state: `ok` or the error.
    pub database: Option<String>,
}

/// Readiness answer.
#[derive(Debug, ApiResponse)]
pub enum Readiness {
    /// Every required part answers.
    #[oai(status = 200)]
    Ready(Json<HealthStatus>),
    /// A required part does not answer.
    #[oai(status = 503)]
    NotReady(Json<HealthStatus>),
}

/// Probe routes.
pub struct HealthApi {
    /// The service whose parts are probed.
    pub library: Library,
}

#[OpenApi]
impl HealthApi {
    /// Liveness: the process is up and serving.
    #[oai(path = "/health/live", method = "get", tag = "ApiTags::Health")]
    async fn live(&self) -> Json<HealthStatus> {
        Json(HealthStatus {
            status: "ok".into(),
            database: None,
        })
    }

    /// Readiness: the database answers a query.
    #[oai(path = "/health/ready", method = "get", tag = "ApiTags::Health")]
    async fn ready(&self) -> Readiness {
        match self.library.store().ping().await {
            Ok(()) => Readiness::Ready(Json(HealthStatus {
                status: "ready".into(),
                database: Some("ok".into()),
            })),
            Err(err) => Readiness::NotReady(Json(HealthStatus {
                status: "unavailable".into(),
                database: Some(err.to_string()),
            })),
        }
    }
}
