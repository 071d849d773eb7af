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
    /// The sentence encoder and its cache (readiness only).
    pub encoder: Option<EncoderStatus>,
}

/// The sentence encoder's identity, worker counters and cache counters.
#[derive(Debug, Object)]
pub struct EncoderStatus {
    /// Model id (folder name and a hash of the weights).
    pub model: String,
    /// Embedding dimension.
    pub dimension: u32,
    /// Texts waiting for the worker.
    pub queue_depth: u64,
    /// Batches run since start.
    pub batches: u64,
    /// Texts embedded by the model since start.
    pub inputs: u64,
    /// Real tokens processed.
    pub tokens: u64,
    /// Padded tokens processed (tokens + padding).
    pub padded_tokens: u64,
    /// Embedding-cache hits in memory.
    pub cache_memory_hits: u64,
    /// Embedding-cache hits on disk.
    pub cache_disk_hits: u64,
    /// Embedding-cache misses.
    pub cache_misses: u64,
}

impl EncoderStatus {
    fn of(library: &Library) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        let embedder = library.embedder();
        let (queue_depth, batches) = embedder.batcher_stats();
        let cache = embedder.cache_stats();
        Self {
            model: embedder.info().model_id.clone(),
            dimension: embedder.info().dimension as u32,
            queue_depth: queue_depth as u64,
            batches: batches.batches.load(Relaxed),
            inputs: batches.inputs.load(Relaxed),
            tokens: batches.tokens.load(Relaxed),
            padded_tokens: batches.padded_tokens.load(Relaxed),
            cache_memory_hits: cache.memory_hits,
            cache_disk_hits: cache.disk_hits,
            cache_misses: cache.misses,
        }
    }
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
            encoder: None,
        })
    }

    /// Readiness: the database answers a query.
    #[oai(path = "/health/ready", method = "get", tag = "ApiTags::Health")]
    async fn ready(&self) -> Readiness {
        match self.library.store().ping().await {
            Ok(()) => Readiness::Ready(Json(HealthStatus {
                status: "ready".into(),
                database: Some("ok".into()),
                encoder: Some(EncoderStatus::of(&self.library)),
            })),
            Err(err) => Readiness::NotReady(Json(HealthStatus {
                status: "unavailable".into(),
                database: Some(err.to_string()),
                encoder: Some(EncoderStatus::of(&self.library)),
            })),
        }
    }
}
