//! Sampling parameters of a request: the mode's defaults from `[sampling]`, the caller's
//! overrides, and the deterministic switch of `[generation]`.

use super::Sampling;
use crate::config::{Config, ModeSampling};

/// What an answer is for; each mode has its own sampling defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerMode {
    /// Grounded answers built from quoted evidence.
    Evidence,
    /// Answers written with the sources as context.
    Assist,
    /// Free conversation.
    Chat,
}

/// Sampling values a caller set explicitly; `None` keeps the mode's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplingOverrides {
    /// Softmax temperature.
    pub temperature: Option<f32>,
    /// Nucleus sampling threshold.
    pub top_p: Option<f32>,
    /// Most tokens to generate.
    pub max_tokens: Option<u32>,
    /// Stop strings.
    pub stop: Vec<String>,
    /// Sampler seed.
    pub seed: Option<u64>,
    /// Penalty on tokens already in the context.
    pub repetition_penalty: Option<f32>,
}

/// The sampling of one request: the defaults of `mode`, then `overrides`; with
/// `generation.deterministic` the temperature is always 0 (greedy).
pub fn sampling_for(config: &Config, mode: AnswerMode, overrides: SamplingOverrides) -> Sampling {
    let defaults: &ModeSampling = match mode {
        AnswerMode::Evidence => &config.sampling.evidence,
        AnswerMode::Assist => &config.sampling.assist,
        AnswerMode::Chat => &config.sampling.chat,
    };
    let temperature = overrides.temperature.unwrap_or(defaults.temperature);
    Sampling {
        temperature: if config.generation.deterministic {
            0.0
        } else {
            temperature
        },
        top_p: overrides.top_p.unwrap_or(defaults.top_p),
        max_tokens: overrides.max_tokens.unwrap_or(defaults.max_tokens),
        stop: overrides.stop,
        seed: overrides.seed,
        repetition_penalty: overrides
            .repetition_penalty
            .unwrap_or(defaults.repetition_penalty),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_keep_the_old_systems_defaults() {
        let config = Config::default();
        let none = SamplingOverrides::default;
        let evidence = sampling_for(&config, AnswerMode::Evidence, none());
        let assist = sampling_for(&config, AnswerMode::Assist, none());
        let chat = sampling_for(&config, AnswerMode::Chat, none());
        assert_eq!(
            [evidence.temperature, assist.temperature, chat.temperature],
            [0.2, 0.4, 0.7]
        );
        assert_eq!(
            [evidence.max_tokens, assist.max_tokens, chat.max_tokens],
            [1024, 1024, 512]
        );
        assert!([evidence.top_p, assist.top_p, chat.top_p] == [0.9; 3]);
    }

    #[test]
    fn overrides_win_but_deterministic_forces_greedy() {
        let mut config = Config::default();
        let overrides = SamplingOverrides {
            temperature: Some(1.2),
            max_tokens: Some(7),
            ..Default::default()
        };
        let sampling = sampling_for(&config, AnswerMode::Chat, overrides.clone());
        assert_eq!((sampling.temperature, sampling.max_tokens), (1.2, 7));
        config.generation.deterministic = true;
        let sampling = sampling_for(&config, AnswerMode::Chat, overrides);
        assert_eq!((sampling.temperature, sampling.max_tokens), (0.0, 7));
    }
}
