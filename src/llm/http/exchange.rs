//! One streamed generation over HTTP as a [`GenerationStream`]: the request is sent on the
//! first poll, the body is read only as fast as the caller polls, every wait is bounded by
//! the time limit of its phase, and dropping the stream drops the response, which closes
//! the connection so that the upstream sees the client leave and stops generating.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::Response;
use tokio::time::{Instant, timeout_at};

use super::WireFormat;
use super::lines::Lines;
use super::upstream::{Limits, Upstream, describe};
use crate::llm::{GenerationError, GenerationEvent, GenerationStream};

/// Longest wait for the end of the body after the last event, to keep the connection.
const RELEASE_GRACE: Duration = Duration::from_millis(100);

/// The state of one generation between polls.
pub(super) struct Exchange<F> {
    upstream: Arc<Upstream>,
    body: Bytes,
    format: F,
    lines: Lines,
    events: VecDeque<GenerationEvent>,
    /// The open response, once the upstream accepted the request.
    response: Option<Response>,
    /// Set on the first poll.
    clock: Option<Clock>,
    /// The body has ended.
    drained: bool,
    /// The last item (a finish or an error) has been handed out.
    done: bool,
}

/// Deadlines of a running generation.
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// End of the whole generation.
    total: Instant,
    /// End of the wait for the next token.
    next_token: Instant,
    /// Whether a token has been handed out (retries are over, the between-token limit
    /// applies).
    streaming: bool,
}

/// Which time limit a deadline enforces.
#[derive(Debug, Clone, Copy)]
enum Limit {
    FirstToken,
    BetweenTokens,
    Total,
}

impl Limit {
    fn error(self, limits: &Limits) -> GenerationError {
        GenerationError::Timeout(match self {
            Limit::FirstToken => format!(
                "the upstream sent no token within {} ms",
                limits.first_token.as_millis()
            ),
            Limit::BetweenTokens => format!(
                "the upstream sent no token for {} ms after the last one",
                limits.between_tokens.as_millis()
            ),
            Limit::Total => format!(
                "the generation took longer than its limit of {} ms",
                limits.total.as_millis()
            ),
        })
    }
}

impl Clock {
    fn start(limits: &Limits) -> Self {
        let now = Instant::now();
        Self {
            total: now + limits.total,
            next_token: now + limits.first_token,
            streaming: false,
        }
    }

    /// The earliest deadline now, and the limit it enforces.
    fn deadline(&self) -> (Instant, Limit) {
        let phase = if self.streaming {
            Limit::BetweenTokens
        } else {
            Limit::FirstToken
        };
        if self.total <= self.next_token {
            (self.total, Limit::Total)
        } else {
            (self.next_token, phase)
        }
    }
}

impl<F: WireFormat> Exchange<F> {
    /// A generation that will post `body` to `upstream` and read its reply with `format`.
    pub(super) fn new(upstream: Arc<Upstream>, body: Bytes, format: F) -> Self {
        Self {
            upstream,
            body,
            format,
            lines: Lines::default(),
            events: VecDeque::new(),
            response: None,
            clock: None,
            drained: false,
            done: false,
        }
    }

    /// The generation as a stream that ends after its finish or its first error.
    pub(super) fn into_stream(self) -> GenerationStream {
        futures::stream::unfold(self, |mut exchange| async move {
            let item = exchange.next().await?;
            Some((item, exchange))
        })
        .boxed()
    }

    /// The next item; `None` after a finish or an error.
    async fn next(&mut self) -> Option<Result<GenerationEvent, GenerationError>> {
        if self.done {
            return None;
        }
        let item = self.advance().await;
        self.done = !matches!(item, Ok(GenerationEvent::Delta(_)));
        Some(item)
    }

    async fn advance(&mut self) -> Result<GenerationEvent, GenerationError> {
        let limits = self.upstream.limits;
        let clock = self.clock.get_or_insert_with(|| Clock::start(&limits));
        loop {
            if let Some(event) = self.events.pop_front() {
                clock.streaming = true;
                clock.next_token = Instant::now() + limits.between_tokens;
                if matches!(event, GenerationEvent::Finished { .. }) {
                    let deadline = clock.deadline().0.min(Instant::now() + RELEASE_GRACE);
                    Self::release(self.response.take(), deadline).await;
                }
                return Ok(event);
            }
            if self.drained {
                return Err(GenerationError::Upstream(
                    "the upstream ended the stream before the generation finished".into(),
                ));
            }
            let (deadline, limit) = clock.deadline();
            let read = Self::read(&self.upstream, &self.body, &mut self.response, deadline);
            match timeout_at(deadline, read).await {
                Err(_) => return Err(limit.error(&limits)),
                Ok(Err(err)) => return Err(err),
                Ok(Ok(Some(chunk))) => {
                    self.lines.push(&chunk);
                    while let Some(line) = self.lines.next_line()? {
                        self.format.line(line, &mut self.events)?;
                    }
                }
                Ok(Ok(None)) => {
                    self.drained = true;
                    if let Some(line) = self.lines.finish()? {
                        self.format.line(line, &mut self.events)?;
                    }
                    self.format.line("", &mut self.events)?;
                }
            }
        }
    }

    /// The next chunk of the body, sending the request first if needed (retrying only
    /// while a retry can start before `deadline`).
    async fn read(
        upstream: &Upstream,
        body: &Bytes,
        response: &mut Option<Response>,
        deadline: Instant,
    ) -> Result<Option<Bytes>, GenerationError> {
        let response = match response {
            Some(response) => response,
            None => response.insert(upstream.send(body, deadline).await?),
        };
        response.chunk().await.map_err(|err| {
            GenerationError::Upstream(format!(
                "reading the upstream's stream failed: {}",
                describe(&err)
            ))
        })
    }

    /// Reads what follows the last event (e.g. the end of a chunked body) so that the
    /// connection goes back to the pool; gives up at `deadline` or on an error, which only
    /// costs the connection.
    async fn release(response: Option<Response>, deadline: Instant) {
        let Some(mut response) = response else {
            return;
        };
        let _ = timeout_at(deadline, async {
            while let Ok(Some(_)) = response.chunk().await {}
        })
        .await;
    }
}
