//! Choosing the generator that `[generation] backend` names.

use std::sync::Arc;

use super::Generator;
use super::deferred::Deferred;
use super::local::LocalGenerator;
use super::ollama::OllamaGenerator;
use super::openai::OpenAiGenerator;
use crate::config::Loading;
use crate::config::{Backend, Config};
use crate::error::{AppError, AppResult};

/// The configured generator, loaded as `[models] loading` says: the local decoder in the
/// background or on its first generation unless `eager`; HTTP backends are clients only and
/// start at once. `None` when `backend = "none"`.
pub async fn start(config: Arc<Config>) -> AppResult<Option<Arc<dyn Generator>>> {
    let loading = config.models.loading;
    if config.generation.backend != Backend::Local || loading == Loading::Eager {
        return tokio::task::spawn_blocking(move || from_config(&config))
            .await
            .map_err(|e| AppError::Internal(format!("loading the generator: {e}")))?;
    }
    let model = LocalGenerator::model_name(&config).map_err(|e| {
        AppError::Unavailable(format!("generation backend local failed to load: {e}"))
    })?;
    let load = move || {
        LocalGenerator::load(&config)
            .map(|generator| Arc::new(generator) as Arc<dyn Generator>)
            .map_err(|e| e.to_string())
    };
    Ok(Some(Arc::new(Deferred::new(model, loading, load))))
}

/// The configured generator; `None` when `backend = "none"`. Loading the local decoder is
/// CPU-bound: call this off the async executor.
pub fn from_config(config: &Config) -> AppResult<Option<Arc<dyn Generator>>> {
    let backend = config.generation.backend;
    let loaded: Result<Arc<dyn Generator>, _> = match backend {
        Backend::None => return Ok(None),
        Backend::Local => LocalGenerator::load(config).map(|g| Arc::new(g) as Arc<dyn Generator>),
        Backend::OpenAi => OpenAiGenerator::new(&config.generation).map(|g| Arc::new(g) as _),
        Backend::Ollama => OllamaGenerator::new(&config.generation).map(|g| Arc::new(g) as _),
    };
    let generator = loaded.map_err(|e| {
        AppError::Unavailable(format!(
            "generation backend {} failed to load: {e}",
            backend.as_str()
        ))
    })?;
    tracing::info!(
        backend = backend.as_str(),
        model = generator.model(),
        "text generator ready"
    );
    Ok(Some(generator))
}
