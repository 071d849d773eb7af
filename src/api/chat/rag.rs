//! `model: "rag"` (or `rag:<collections>`): chat completions answered by the answer pipeline,
//! the last user message as the question and the earlier turns as history; the sources come
//! back as `references` (in the final chunk when streaming).

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::{self, BoxStream};
use poem::web::sse::Event;

use super::dto::{ChatCompletion, ChatCompletionRequest};
use super::reply::{ChunkHeader, openai_error};
use crate::api::answer::answer_events;
use crate::api::dto::answer::Answer;
use crate::api::dto::events::PipelineEvent;
use crate::error::{AppError, AppResult};
use crate::llm::{ChatMessage, FinishReason, Role, Usage};
use crate::pipeline::types::{Turn, TurnRole};
use crate::pipeline::{AnswerRequest, Events, Pipeline};

/// The model id that selects the answer pipeline.
pub const RAG_MODEL: &str = "rag";

/// The collections a `rag` model id names (empty = routed), or `None` for other models.
pub fn rag_collections(model: Option<&str>) -> Option<Vec<String>> {
    let model = model?;
    if model == RAG_MODEL {
        return Some(Vec::new());
    }
    let names = model.strip_prefix("rag:")?;
    Some(
        names
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// The pipeline request of a checked conversation: its last message must be the user's.
pub fn answer_request(
    pipeline: &Pipeline,
    request: ChatCompletionRequest,
    collections: Vec<String>,
) -> AppResult<AnswerRequest> {
    let (mut messages, sampling) = super::request::checked(pipeline.library().config(), request)?;
    let Some(ChatMessage {
        role: Role::User,
        content: question,
    }) = messages.pop()
    else {
        return Err(AppError::invalid(
            "invalid_messages",
            "with model rag the last message must be the user's question",
        ));
    };
    let history = messages
        .into_iter()
        .filter_map(|m| {
            let role = match m.role {
                Role::User => TurnRole::User,
                Role::Assistant => TurnRole::Assistant,
                Role::System => return None,
            };
            Some(Turn {
                role,
                content: m.content,
            })
        })
        .collect();
    let request = AnswerRequest {
        question,
        history,
        collections,
        sampling,
        ..AnswerRequest::default()
    };
    pipeline.check(&request)?;
    Ok(request)
}

/// The whole completion of a RAG answer.
pub async fn whole(
    pipeline: &Pipeline,
    request: AnswerRequest,
    header: ChunkHeader,
) -> AppResult<ChatCompletion> {
    let answer = Answer::from(pipeline.answer(request, &Events::none()).await?);
    let usage = usage_of(&answer);
    Ok(header.completion(
        answer.answer,
        FinishReason::Stop,
        usage,
        Some(answer.sources),
    ))
}

/// The streamed chunks of a RAG answer: its tokens (or its refusal), then the closing chunk
/// with the references.
pub fn streamed(
    pipeline: Arc<Pipeline>,
    request: AnswerRequest,
    header: ChunkHeader,
) -> BoxStream<'static, Event> {
    let opening = header.opening();
    let chunks = answer_events(pipeline, request).flat_map(move |event| {
        let events = match event {
            PipelineEvent::Token(token) => vec![header.text(token.text)],
            PipelineEvent::Refusal(refusal) => vec![header.text(refusal.answer)],
            PipelineEvent::Done(answer) => {
                let usage = usage_of(&answer);
                header.closing(usage, answer.sources)
            }
            PipelineEvent::Error(error) => vec![openai_error(&error.detail, &error.code)],
            _ => Vec::new(),
        };
        stream::iter(events)
    });
    stream::once(async move { opening }).chain(chunks).boxed()
}

fn usage_of(answer: &Answer) -> Usage {
    Usage {
        prompt_tokens: answer.usage.prompt_tokens,
        completion_tokens: answer.usage.completion_tokens,
    }
}
