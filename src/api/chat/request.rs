//! Checking a chat completion request and turning it into a generation request.

use super::dto::{ChatCompletionRequest, ChatMessageIn, MessageContent};
use crate::config::{Config, valid_temperature, valid_top_p};
use crate::error::{AppError, AppResult};
use crate::llm::{
    AnswerMode, ChatMessage, GenerationRequest, Role, SamplingOverrides, sampling_for,
};
use crate::service::validate;

/// Most messages in one conversation.
const MAX_MESSAGES: usize = 512;
/// Most stop strings, as in OpenAI's API.
const MAX_STOPS: usize = 4;
/// Longest stop string, in characters.
const MAX_STOP_CHARS: usize = 64;
/// Most tokens one request may ask for.
const MAX_COMPLETION_TOKENS: u32 = 32_768;

/// The generation `request` asks for, with `[sampling.chat]` defaults, or why it is invalid.
pub fn generation_request(
    config: &Config,
    request: ChatCompletionRequest,
) -> AppResult<GenerationRequest> {
    let (messages, overrides) = checked(config, request)?;
    Ok(GenerationRequest {
        messages,
        sampling: sampling_for(config, AnswerMode::Chat, overrides),
    })
}

/// The messages and sampling values of `request`, or why it is invalid.
pub fn checked(
    config: &Config,
    request: ChatCompletionRequest,
) -> AppResult<(Vec<ChatMessage>, SamplingOverrides)> {
    reject_unsupported(&request)?;
    if request.messages.is_empty() || request.messages.len() > MAX_MESSAGES {
        return Err(AppError::invalid(
            "invalid_messages",
            format!("messages must hold 1 to {MAX_MESSAGES} messages"),
        ));
    }
    let messages = request
        .messages
        .into_iter()
        .enumerate()
        .map(|(index, message)| chat_message(index, message, config))
        .collect::<AppResult<Vec<_>>>()?;
    let stop = request
        .stop
        .map(super::dto::OneOrMany::into_vec)
        .unwrap_or_default();
    if stop.len() > MAX_STOPS
        || stop
            .iter()
            .any(|s| s.is_empty() || s.chars().count() > MAX_STOP_CHARS)
    {
        return Err(AppError::invalid(
            "invalid_stop",
            format!(
                "stop must hold at most {MAX_STOPS} non-empty strings of at most {MAX_STOP_CHARS} characters"
            ),
        ));
    }
    let max_tokens = request.max_completion_tokens.or(request.max_tokens);
    if max_tokens.is_some_and(|m| m == 0 || m > MAX_COMPLETION_TOKENS) {
        return Err(AppError::invalid(
            "invalid_max_tokens",
            format!("max_tokens must be within 1..={MAX_COMPLETION_TOKENS}"),
        ));
    }
    if request.temperature.is_some_and(|t| !valid_temperature(t)) {
        return Err(AppError::invalid(
            "invalid_temperature",
            "temperature must be within 0..=2",
        ));
    }
    if request.top_p.is_some_and(|p| !valid_top_p(p)) {
        return Err(AppError::invalid(
            "invalid_top_p",
            "top_p must be within (0, 1]",
        ));
    }
    if request
        .repetition_penalty
        .is_some_and(|p| !(p > 0.0 && p <= 10.0))
    {
        return Err(AppError::invalid(
            "invalid_repetition_penalty",
            "repetition_penalty must be within (0, 10]",
        ));
    }
    let overrides = SamplingOverrides {
        temperature: request.temperature,
        top_p: request.top_p,
        max_tokens,
        stop,
        seed: request.seed,
        repetition_penalty: request.repetition_penalty,
    };
    Ok((messages, overrides))
}

/// OpenAI parameters this server accepts only at their neutral values.
fn reject_unsupported(request: &ChatCompletionRequest) -> AppResult<()> {
    let unsupported = |name: &str| {
        Err(AppError::invalid(
            "unsupported_parameter",
            format!("{name} is not supported by this server"),
        ))
    };
    if request.n.is_some_and(|n| n != 1) {
        return unsupported("n other than 1");
    }
    if request.presence_penalty.is_some_and(|p| p != 0.0) {
        return unsupported("presence_penalty");
    }
    if request.frequency_penalty.is_some_and(|p| p != 0.0) {
        return unsupported("frequency_penalty");
    }
    if request.logprobs == Some(true) {
        return unsupported("logprobs");
    }
    if request
        .response_format
        .as_ref()
        .is_some_and(|f| f.kind != "text")
    {
        return unsupported("response_format other than text");
    }
    Ok(())
}

/// One checked message.
fn chat_message(index: usize, message: ChatMessageIn, config: &Config) -> AppResult<ChatMessage> {
    let field = format!("messages[{index}]");
    let role = match message.role.as_str() {
        "system" | "developer" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        other => {
            return Err(AppError::invalid(
                "invalid_role",
                format!("{field}.role {other:?} is not one of system, developer, user, assistant"),
            ));
        }
    };
    let content = match message.content {
        MessageContent::Text(text) => text,
        MessageContent::Parts(parts) => {
            if let Some(part) = parts.iter().find(|p| p.kind != "text") {
                return Err(AppError::invalid(
                    "unsupported_content",
                    format!(
                        "{field}.content has a {:?} part; only text parts are supported",
                        part.kind
                    ),
                ));
            }
            parts
                .into_iter()
                .map(|p| p.text)
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    validate::optional_text(
        &format!("{field}.content"),
        &content,
        config.ingest.max_document_chars,
    )?;
    Ok(ChatMessage::new(role, content))
}
