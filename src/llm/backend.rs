//! Choosing the generator that `[generation] backend` names.

use std::sync::Arc;

use super::Generator;
use crate::config::Config;
use crate::error::{AppError, AppResult};

/// The configured generator; `None` when `backend = "none"`.
pub fn from_config(config: &Config) -> AppResult<Option<Arc<dyn Generator>>> {
    let backend = config.generation.backend.as_str();
    let generator: Option<Arc<dyn Generator>> = match backend {
        "none" => None,
        other => {
            return Err(AppError::Unavailable(format!(
                "generation backend {other} is not available in this build"
            )));
        }
    };
    if let Some(generator) = &generator {
        tracing::info!(backend, model = generator.model(), "text generator ready");
    }
    Ok(generator)
}
