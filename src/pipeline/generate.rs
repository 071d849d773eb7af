//! Generation by mode: the assist prompt over the reranked sources within a token budget,
//! the chat prompt, and streaming the generator's tokens to the client under the deadline.

use std::sync::Arc;

use futures::StreamExt;

use super::deadline::Deadline;
use super::events::Events;
use super::types::{PipelineEvent, Source, TokenEvent, Turn, TurnRole};
use crate::error::{AppError, AppResult};
use crate::llm::{
    ChatMessage, GenerationEvent, GenerationRequest, Generator, Role, Sampling, Usage,
};

/// Characters per token assumed when fitting sources into the context budget (a
/// conservative figure for BPE vocabularies on Swedish and English legal text).
const CHARS_PER_TOKEN: usize = 3;

/// What a generation produced.
pub struct Generated {
    /// The text.
    pub text: String,
    /// Tokens consumed.
    pub usage: Usage,
    /// Whether the deadline cut it short.
    pub cut_by_deadline: bool,
}

/// How many of `sources` (best first) fit `budget_tokens` of context; at least one.
pub fn sources_within(sources: &[Source], budget_tokens: usize) -> usize {
    let mut used = 0;
    let fitting = sources
        .iter()
        .take_while(|s| {
            used += source_block(s).len() / CHARS_PER_TOKEN + 1;
            used <= budget_tokens
        })
        .count();
    fitting.max(1).min(sources.len())
}

/// One numbered source as the model sees it.
fn source_block(source: &Source) -> String {
    let heading = [source.title.as_str(), source.path.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    format!("[{}] {heading}\n{}\n", source.index, source.snippet)
}

/// The assist conversation: the system prompt with the numbered sources, the history, the
/// question.
pub fn assist_messages(
    system: &str,
    sources: &[Source],
    history: &[Turn],
    question: &str,
) -> Vec<ChatMessage> {
    let blocks: Vec<String> = sources.iter().map(source_block).collect();
    let system = system.replace("{sources}", &blocks.join("\n"));
    conversation(system, history, question)
}

/// The chat conversation: the system prompt, the history, the question.
pub fn chat_messages(system: &str, history: &[Turn], question: &str) -> Vec<ChatMessage> {
    conversation(system.to_string(), history, question)
}

fn conversation(system: String, history: &[Turn], question: &str) -> Vec<ChatMessage> {
    let mut messages = vec![ChatMessage::new(Role::System, system)];
    messages.extend(history.iter().map(|turn| {
        let role = match turn.role {
            TurnRole::User => Role::User,
            TurnRole::Assistant => Role::Assistant,
        };
        ChatMessage::new(role, turn.content.clone())
    }));
    messages.push(ChatMessage::new(Role::User, question));
    messages
}

/// Runs `messages` through `generator`, sending each delta to `events` as a `token`; stops
/// early (keeping the text so far) when `deadline` passes, and fails with
/// [`AppError::Cancelled`] when the client goes away, which drops and so cancels the
/// generation.
pub async fn generate(
    generator: &Arc<dyn Generator>,
    messages: Vec<ChatMessage>,
    sampling: Sampling,
    events: &Events,
    deadline: &Deadline,
) -> AppResult<Generated> {
    let mut stream = generator.generate(GenerationRequest { messages, sampling });
    let mut text = String::new();
    loop {
        let next = tokio::time::timeout(deadline.remaining(), stream.next()).await;
        let Ok(next) = next else {
            return Ok(Generated {
                text,
                usage: Usage::default(),
                cut_by_deadline: true,
            });
        };
        match next {
            Some(Ok(GenerationEvent::Delta(delta))) => {
                events
                    .send(PipelineEvent::Token(TokenEvent {
                        text: delta.clone(),
                    }))
                    .await?;
                text.push_str(&delta);
            }
            Some(Ok(GenerationEvent::Finished { usage, .. })) => {
                return Ok(Generated {
                    text,
                    usage,
                    cut_by_deadline: false,
                });
            }
            Some(Err(err)) => return Err(err.into()),
            None => {
                return Err(AppError::BadGateway(
                    "the generation ended without a finish reason".into(),
                ));
            }
        }
    }
}
