//! OpenAI-compatible chat: `POST /v1/chat/completions` (whole or streamed) and
//! `GET /v1/models`, passed straight to the configured generator.

mod dto;
mod rag;
mod reply;
mod request;

use std::sync::Arc;

use futures::StreamExt;
use poem_openapi::OpenApi;
use poem_openapi::payload::Json;

use self::dto::{ChatCompletionRequest, ModelCard, ModelList};
use self::reply::{ChatReply, ChunkHeader};
use super::ApiTags;
use super::problem::ApiError;
use super::strict_json::StrictJson;
use crate::error::AppError;
use crate::llm::{self, GenerationError, Generator};
use crate::pipeline::Pipeline;
use crate::service::Library;

/// Chat routes.
pub struct ChatApi {
    /// The service behind the routes.
    pub library: Library,
    /// The answer pipeline behind `model: "rag"`.
    pub pipeline: Arc<Pipeline>,
    /// Unix seconds when the server started (the `created` of every model card).
    pub started: i64,
}

#[OpenApi]
impl ChatApi {
    /// Generate the assistant's next message (OpenAI-compatible; `stream: true` for SSE).
    #[oai(path = "/v1/chat/completions", method = "post", tag = "ApiTags::Chat")]
    async fn chat_completions(
        &self,
        body: StrictJson<ChatCompletionRequest>,
    ) -> Result<ChatReply, ApiError> {
        let request = body.0;
        if let Some(collections) = rag::rag_collections(request.model.as_deref()) {
            return self.rag(request, collections).await;
        }
        let generator = self.library.generator()?.clone();
        check_model(request.model.as_deref(), generator.as_ref())?;
        let stream = request.stream;
        let include_usage = request
            .stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage);
        let generation = request::generation_request(self.library.config(), request)?;
        let header = ChunkHeader {
            id: format!("chatcmpl-{}", uuid::Uuid::now_v7().simple()),
            created: chrono::Utc::now().timestamp(),
            model: generator.model().to_string(),
            include_usage,
        };
        if stream {
            stream_reply(generator, generation, header).await
        } else {
            let completion = llm::collect(generator.generate(generation))
                .await
                .map_err(AppError::from)?;
            Ok(ChatReply::Whole(header.completion(
                completion.text,
                completion.finish_reason,
                completion.usage,
                None,
            )))
        }
    }

    /// The models this server serves: the generator (if any), `rag` (the answer pipeline)
    /// and the sentence encoder.
    #[oai(path = "/v1/models", method = "get", tag = "ApiTags::Chat")]
    async fn models(&self) -> Json<ModelList> {
        let card = |id: &str| ModelCard {
            id: id.to_string(),
            object: "model".into(),
            created: self.started,
            owned_by: "constitutional-rag".into(),
        };
        let mut data = Vec::new();
        if let Ok(generator) = self.library.generator() {
            data.push(card(generator.model()));
        }
        data.push(card(rag::RAG_MODEL));
        data.push(card(&self.library.embedder().info().model_id));
        Json(ModelList {
            object: "list".into(),
            data,
        })
    }
}

impl ChatApi {
    /// A chat completion answered by the answer pipeline over `collections`.
    async fn rag(
        &self,
        request: ChatCompletionRequest,
        collections: Vec<String>,
    ) -> Result<ChatReply, ApiError> {
        let stream = request.stream;
        let header = ChunkHeader {
            id: format!("chatcmpl-{}", uuid::Uuid::now_v7().simple()),
            created: chrono::Utc::now().timestamp(),
            model: rag::RAG_MODEL.into(),
            include_usage: request
                .stream_options
                .as_ref()
                .is_some_and(|o| o.include_usage),
        };
        let request = rag::answer_request(&self.pipeline, request, collections)?;
        if stream {
            Ok(ChatReply::Stream(rag::streamed(
                self.pipeline.clone(),
                request,
                header,
            )))
        } else {
            Ok(ChatReply::Whole(
                rag::whole(&self.pipeline, request, header).await?,
            ))
        }
    }
}

/// A request naming another model than the generator's is a 404, as in OpenAI's API.
fn check_model(asked: Option<&str>, generator: &dyn Generator) -> Result<(), AppError> {
    match asked {
        Some(model) if !model.is_empty() && model != generator.model() => {
            Err(AppError::not_found(format!(
                "model {model:?} (this server generates with {:?})",
                generator.model()
            )))
        }
        _ => Ok(()),
    }
}

/// Starts streaming once the first event arrived, so that failures before any token (an
/// unreachable upstream, a full queue, a too-long prompt) are proper HTTP errors.
async fn stream_reply(
    generator: Arc<dyn Generator>,
    generation: llm::GenerationRequest,
    header: ChunkHeader,
) -> Result<ChatReply, ApiError> {
    let mut events = generator.generate(generation);
    let first = match events.next().await {
        Some(Ok(first)) => first,
        Some(Err(err)) => return Err(AppError::from(err).into()),
        None => {
            let err = GenerationError::Upstream("the generation ended before any event".into());
            return Err(AppError::from(err).into());
        }
    };
    Ok(ChatReply::Stream(header.events(first, events)))
}
