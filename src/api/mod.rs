//! HTTP API: poem-openapi handlers that parse, call a service and map errors.

mod answer;
mod bulk;
mod chat;
mod collections;
mod documents;
pub mod dto;
mod event_streams;
mod health;
mod json_body;
mod json_depth;
mod keys;
mod legacy;
mod legacy_agent;
mod legacy_ops;
mod limits;
mod metrics;
pub mod middleware;
mod models;
pub mod problem;
mod schema_refs;
mod search;
mod security;
mod strict_json;
mod unions;
mod upload;
mod web;

use std::sync::Arc;

use poem::endpoint::make_sync;
use poem::web::Html;
use poem::{Endpoint, EndpointExt, Response, Route};
use poem_openapi::{OpenApiService, Tags};

use crate::auth::KeyRing;
use crate::pipeline::Pipeline;
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
    /// Grounded answers with checked citations (the answer pipeline).
    Answer,
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
    /// API keys (admin role).
    Keys,
}

/// The OpenAPI service describing every route; `keys` serves key management.
fn openapi(
    library: &Library,
    keys: &Arc<KeyRing>,
    pipeline: &Arc<Pipeline>,
) -> OpenApiService<impl poem_openapi::OpenApi + use<>, ()> {
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
                pipeline: pipeline.clone(),
                started: chrono::Utc::now().timestamp(),
            },
            keys::KeysApi { keys: keys.clone() },
            answer::AnswerApi {
                pipeline: pipeline.clone(),
            },
            legacy_agent::LegacyAgentApi {
                pipeline: pipeline.clone(),
            },
            legacy_ops::LegacyOpsApi {
                pipeline: pipeline.clone(),
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

/// The OpenAPI document as JSON, or why the pipeline's assets do not load.
pub fn spec_json(library: &Library) -> crate::error::AppResult<String> {
    let keys = Arc::new(KeyRing::new(library.store().clone(), true));
    let pipeline = Arc::new(Pipeline::new(
        library.clone(),
        &crate::ops::Registry::new(),
    )?);
    Ok(document(&openapi(library, &keys, &pipeline).spec()))
}

/// The served OpenAPI document: poem-openapi's `spec` with the security requirements of
/// [`security`], documented references in the shape of [`schema_refs`], unions typed by
/// [`unions`] and event streams described by [`event_streams`].
fn document(spec: &str) -> String {
    let mut spec: serde_json::Value = serde_json::from_str(spec).expect("the spec is JSON");
    security::add_requirements(&mut spec);
    schema_refs::drop_repeated_all_of_members(&mut spec);
    unions::drop_object_type_of_scalar_unions(&mut spec);
    event_streams::describe_events(&mut spec);
    serde_json::to_string_pretty(&spec).expect("JSON serialises")
}

/// Every route: the API, `/openapi.json`, Swagger UI at `/docs`, the web page at `/` (its
/// files under `/web/`), with body limits, API keys
/// checked against `keys`, the operational layers of [`middleware`] and problem+json for
/// every error.
pub fn routes(library: Library, keys: Arc<KeyRing>, pipeline: Arc<Pipeline>) -> impl Endpoint {
    let service = openapi(&library, &keys, &pipeline);
    let plain_spec = service.spec();
    let spec_json = document(&plain_spec);
    let spec = {
        let spec_json = spec_json.clone();
        make_sync(move |_| {
            Response::builder()
                .content_type("application/json")
                .body(spec_json.clone())
        })
    };
    // Swagger UI embeds the document it is given; give it the one with the security schemes.
    let docs_html = service.swagger_ui_html().replace(&plain_spec, &spec_json);
    let docs = Route::new().at("/", make_sync(move |_| Html(docs_html.clone())));
    let limits = limits::BodyLimits::from_config(library.config());
    let app = Route::new()
        .nest("/", web::page_at_root(service))
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .at("/web/:file", poem::get(web::asset))
        .around(move |endpoint, request| limits.apply(endpoint, request));
    middleware::wrap(app, &library, keys, &spec_json)
}
