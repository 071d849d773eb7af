//! The old system's operational routes: `GET /api/constitutional/health`, `/collections`,
//! `/metrics` (JSON) and `/metrics/prometheus`, fed from the same probes and counters as
//! `/health/ready` and `/metrics`. Unlike the old system's, health tells the truth.

use std::collections::BTreeMap;
use std::sync::Arc;

use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use super::metrics::exposition;
use super::problem::ApiError;
use crate::pipeline::Pipeline;
use crate::service::{Probe, State};

/// Health in the old system's shape.
#[derive(Debug, Object)]
pub struct LegacyHealth {
    /// `healthy`, `degraded` (an optional part is down) or `unhealthy`.
    pub status: String,
    /// Each component: `healthy`, `degraded` or `unhealthy`.
    pub services: BTreeMap<String, String>,
    /// Why components are not healthy.
    pub details: BTreeMap<String, String>,
    /// Server version.
    pub version: String,
    /// When this was measured (RFC 3339).
    pub timestamp: String,
}

/// Health answer.
#[derive(Debug, ApiResponse)]
pub enum LegacyHealthResponse {
    /// Healthy or degraded.
    #[oai(status = 200)]
    Ok(Json<LegacyHealth>),
    /// A required component (database, encoder) is down.
    #[oai(status = 503)]
    Unhealthy(Json<LegacyHealth>),
}

/// A collection in the old system's shape.
#[derive(Debug, Object)]
pub struct LegacyCollection {
    /// Collection name.
    pub name: String,
    /// Chunks in it (the old system counted stored vectors).
    pub count: u64,
    /// Documents in it.
    pub documents: u64,
}

/// Collections in the old system's shape.
#[derive(Debug, Object)]
pub struct LegacyCollections {
    /// Every collection.
    pub collections: Vec<LegacyCollection>,
    /// How many.
    pub total: u64,
}

/// Answer counts of one mode.
#[derive(Debug, Object)]
pub struct ModeCounts {
    /// Answers given.
    pub answered: u64,
    /// Refusals (`saknas_underlag`).
    pub refused: u64,
}

/// Query metrics in the old system's JSON shape.
#[derive(Debug, Object)]
pub struct LegacyMetrics {
    /// Answers produced (all routes, all modes).
    pub total_queries: u64,
    /// Per mode.
    pub queries_by_mode: BTreeMap<String, ModeCounts>,
    /// Refusals among them.
    pub refusals: u64,
    /// Refusals / answers (0 without answers).
    pub refusal_rate: f64,
    /// Mean end-to-end answer time in milliseconds.
    pub average_latency_ms: f64,
    /// Embedding-cache hits (memory and disk).
    pub embedding_cache_hits: u64,
    /// Embedding-cache misses.
    pub embedding_cache_misses: u64,
}

/// The old system's operational routes.
pub struct LegacyOpsApi {
    /// The pipeline (and through it the library) reported on.
    pub pipeline: Arc<Pipeline>,
}

#[OpenApi]
impl LegacyOpsApi {
    /// Health (old API): the same probes as `/health/ready`.
    #[oai(
        path = "/api/constitutional/health",
        method = "get",
        tag = "ApiTags::Legacy"
    )]
    async fn health(&self) -> LegacyHealthResponse {
        let readiness = self.pipeline.library().readiness().await;
        let mut services = BTreeMap::new();
        let mut details = BTreeMap::new();
        let mut components = vec![
            ("database", readiness.database),
            ("encoder", readiness.encoder),
            ("reranker", readiness.reranker),
        ];
        if let Some(generator) = readiness.generator {
            components.push(("generator", generator));
        }
        for (name, Probe { state, detail, .. }) in components {
            services.insert(name.to_string(), word(state).to_string());
            if let Some(detail) = detail {
                details.insert(name.to_string(), detail);
            }
        }
        let body = Json(LegacyHealth {
            status: word(readiness.state).into(),
            services,
            details,
            version: env!("CARGO_PKG_VERSION").into(),
            timestamp: chrono::Utc::now().to_rfc3339(),
        });
        match readiness.state {
            State::Loading | State::Unavailable => LegacyHealthResponse::Unhealthy(body),
            State::Ready | State::Degraded => LegacyHealthResponse::Ok(body),
        }
    }

    /// Collections with their sizes (old API).
    #[oai(
        path = "/api/constitutional/collections",
        method = "get",
        tag = "ApiTags::Legacy"
    )]
    async fn collections(&self) -> Result<Json<LegacyCollections>, ApiError> {
        let collections: Vec<LegacyCollection> = self
            .pipeline
            .library()
            .collections()
            .await?
            .into_iter()
            .map(|c| LegacyCollection {
                name: c.name,
                count: c.chunk_count,
                documents: c.document_count,
            })
            .collect();
        Ok(Json(LegacyCollections {
            total: collections.len() as u64,
            collections,
        }))
    }

    /// Query metrics as JSON (old API), from the counters behind `/metrics`.
    #[oai(
        path = "/api/constitutional/metrics",
        method = "get",
        tag = "ApiTags::Legacy"
    )]
    async fn metrics(&self) -> Json<LegacyMetrics> {
        let metrics = self.pipeline.metrics();
        let by_mode = metrics.answers_by_mode();
        let total: u64 = by_mode.iter().map(|(_, a, r)| a + r).sum();
        let refusals: u64 = by_mode.iter().map(|(_, _, r)| r).sum();
        let (_, mean_seconds) = metrics.total_latency();
        let cache = self.pipeline.library().embedder().cache_stats();
        Json(LegacyMetrics {
            total_queries: total,
            queries_by_mode: by_mode
                .into_iter()
                .map(|(mode, answered, refused)| {
                    (mode.to_string(), ModeCounts { answered, refused })
                })
                .collect(),
            refusals,
            refusal_rate: if total == 0 {
                0.0
            } else {
                refusals as f64 / total as f64
            },
            average_latency_ms: mean_seconds * 1000.0,
            embedding_cache_hits: cache.memory_hits + cache.disk_hits,
            embedding_cache_misses: cache.misses,
        })
    }

    /// Prometheus text (old API's alias of `/metrics`).
    #[oai(
        path = "/api/constitutional/metrics/prometheus",
        method = "get",
        tag = "ApiTags::Legacy"
    )]
    async fn prometheus(&self) -> super::metrics::Exposition {
        super::metrics::Exposition::Ok(PlainText(exposition(self.pipeline.library())))
    }
}

/// The old system's word for a state.
fn word(state: State) -> &'static str {
    match state {
        State::Ready => "healthy",
        State::Degraded => "degraded",
        State::Loading | State::Unavailable => "unhealthy",
    }
}
