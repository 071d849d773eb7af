//! Text generation behind one trait: a chat request with sampling parameters becomes a
//! stream of text deltas that ends with token usage and a finish reason.
//!
//! Backends (chosen by `[generation] backend`): the local decoder on libtorch, an
//! OpenAI-compatible HTTP server (llama-server, vLLM, Ollama's `/v1`) and Ollama's native API.
//! Dropping a [`GenerationStream`] cancels the generation and frees its slot.

pub mod local;
mod types;

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
}
