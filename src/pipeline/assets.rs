//! The editable assets the pipeline reads once at start: the constitution, the routing
//! table, the abbreviations and the prompts (built in unless `[answer]` names a file).

use std::path::Path;

use serde::Deserialize;

use super::rewrite::Abbreviations;
use super::routing::RoutingTable;
use crate::config::AnswerConfig;
use crate::error::{AppError, AppResult};
use crate::guard::constitution::Constitution;

/// Prompts of the pipeline and its refusal template (`assets/prompts.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompts {
    /// The answer when the sources do not back one.
    pub refusal: String,
    /// System prompt of assist mode; `{sources}` is replaced by the numbered sources.
    pub assist_system: String,
    /// System prompt of chat mode.
    pub chat_system: String,
    /// CRAG's LLM grader; `{question}` and `{passage}` are replaced.
    pub grader: String,
    /// Follow-up rewrite; `{history}` and `{question}` are replaced.
    pub rewrite: String,
}

impl Prompts {
    fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// Everything the pipeline loads from `assets/`.
pub struct Assets {
    /// Term corrections applied to answers.
    pub constitution: Constitution,
    /// Intents → collections.
    pub routing: RoutingTable,
    /// Abbreviations expanded by query rewrites.
    pub abbreviations: Abbreviations,
    /// Prompts and the refusal template.
    pub prompts: Prompts,
}

impl Assets {
    /// The built-in assets, each replaced by the file `config` names, if any.
    pub fn load(config: &AnswerConfig) -> AppResult<Self> {
        Ok(Self {
            constitution: pick(&config.constitution_path, Constitution::builtin, |p| {
                Constitution::load(p)
            })?,
            routing: pick(&config.routing_path, RoutingTable::builtin, |p| {
                RoutingTable::load(p)
            })?,
            abbreviations: pick(&config.abbreviations_path, Abbreviations::builtin, |p| {
                Abbreviations::load(p)
            })?,
            prompts: pick(
                &config.prompts_path,
                || {
                    Prompts::from_toml(include_str!("../../assets/prompts.toml"))
                        .expect("built-in prompts parse")
                },
                |p| {
                    let text = std::fs::read_to_string(p).map_err(|e| e.to_string())?;
                    Prompts::from_toml(&text)
                },
            )?,
        })
    }
}

/// The asset at `path`, or the built-in one when `path` is empty.
fn pick<T>(
    path: &str,
    builtin: impl FnOnce() -> T,
    load: impl FnOnce(&Path) -> Result<T, String>,
) -> AppResult<T> {
    if path.is_empty() {
        return Ok(builtin());
    }
    load(Path::new(path)).map_err(|e| AppError::Unavailable(format!("cannot load {path}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_assets_load() {
        let assets = Assets::load(&AnswerConfig::default()).expect("built-in assets");
        assert!(!assets.constitution.is_empty());
        assert!(assets.prompts.assist_system.contains("{sources}"));
    }
}
