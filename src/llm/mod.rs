//! Text generation behind one trait: a chat request with sampling parameters becomes a
//! stream of text deltas that ends with token usage and a finish reason.
//!
//! Backends (chosen by `[generation] backend`): the local decoder on libtorch, an
//! OpenAI-compatible HTTP server (llama-server, vLLM, Ollama's `/v1`) and Ollama's native API.
//! Dropping a [`GenerationStream`] cancels the generation and frees its slot.

mod backend;
mod deferred;
mod http;
pub mod local;
mod metered;
pub mod ollama;
pub mod openai;
mod sampling;
mod types;

pub use backend::{from_config, start};
pub use metered::Metered;
pub use sampling::{AnswerMode, SamplingOverrides, sampling_for};
pub use types::{
    ChatMessage, Completion, FinishReason, GenerationError, GenerationEvent, GenerationRequest,
    GenerationStream, Role, Sampling, Usage, collect,
};

/// A text generator; cheap to share behind an `Arc`.
pub trait Generator: Send + Sync + 'static {
    /// The model name reported to clients (e.g. in `GET /v1/models`).
    fn model(&self) -> &str;

    /// Starts generating. Errors found before the first token (bad request, unreachable
    /// upstream, full queue) arrive as the stream's first item; dropping the stream cancels.
    fn generate(&self, request: GenerationRequest) -> GenerationStream;

    /// Whether the generator can serve now, for `/health/ready`; `Err` says why not (e.g. the
    /// upstream server is unreachable). HTTP backends override it with a cheap request to
    /// their upstream; the default suits backends that are ready once constructed.
    fn check(&self) -> futures::future::BoxFuture<'_, Result<(), String>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Whether the model is loading now (readiness waits for it).
    fn is_loading(&self) -> bool {
        false
    }

    /// The numerics a model run in this process decodes in and how they were chosen, once
    /// loaded; `None` for HTTP backends (their server chooses).
    fn numerics(&self) -> Option<&local::probe::DecoderChoice> {
        None
    }
}
