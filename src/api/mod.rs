//! HTTP API: poem-openapi handlers that parse, call a service and map errors.

mod bulk;
mod chat;
mod collections;
mod documents;
mod health;
mod legacy;
mod limits;
mod metrics;
pub mod middleware;
mod models;
pub mod problem;
mod search;
mod strict_json;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApiService, Tags};

use crate::service::Library;

/// Groups of operations in the spec.
#[derive(Tags)]
pub enum ApiTags {
    /// Collections of documents.
    Collections,
    /// Documents and their chunks.
    Documents,
    /// Retrieval.
    Search,
    /// Embeddings and reranking with the server's models.
    Models,
    /// OpenAI-compatible chat completions with the configured generator.
    Chat,
    /// Liveness and readiness.
    Health,
    /// Prometheus metrics.
    Metrics,
    /// Routes of the old system, kept wire-compatible.
    Legacy,
}

/// The OpenAPI service describing every route.
fn openapi(library: &Library) -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    OpenApiService::new(
        (
            collections::CollectionsApi {
                library: library.clone(),
            },
            documents::DocumentsApi {
                library: library.clone(),
            },
            search::SearchApi {
                library: library.clone(),
            },
            models::ModelsApi {
                library: library.clone(),
            },
            health::HealthApi {
                library: library.clone(),
            },
            metrics::MetricsApi {
                library: library.clone(),
            },
            legacy::LegacyDocumentsApi {
                library: library.clone(),
            },
            chat::ChatApi {
                library: library.clone(),
                started: chrono::Utc::now().timestamp(),
            },
        ),
        "constitutional-rag",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Grounded question answering over legal and government document collections. \
         Every error is application/problem+json with a stable `code`.",
    )
}

/// The OpenAPI document as JSON.
pub fn spec_json(library: &Library) -> String {
    openapi(library).spec()
}

/// Every route: the API, `/openapi.json`, Swagger UI at `/docs`, with body limits, the
/// operational layers of [`middleware`] and problem+json for every error.
pub fn routes(library: Library) -> impl Endpoint {
    let service = openapi(&library);
    let spec_json = service.spec();
    let spec = service.spec_endpoint();
    let docs = service.swagger_ui();
    let limits = limits::BodyLimits::from_config(library.config());
    let app = Route::new()
        .nest("/", service)
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .around(move |endpoint, request| limits.apply(endpoint, request));
    middleware::wrap(app, &library, &spec_json)
}
