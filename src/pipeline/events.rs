//! Where the pipeline reports progress: nowhere (plain JSON answers) or a channel that a
//! streaming route turns into server-sent events.

use tokio::sync::mpsc;

use super::types::PipelineEvent;
use crate::error::{AppError, AppResult};

/// Events buffered before the pipeline waits for a slow client.
const CHANNEL_CAPACITY: usize = 256;

/// The receiving side of a pipeline's events.
pub type EventReceiver = mpsc::Receiver<PipelineEvent>;

/// A sink for [`PipelineEvent`]s; cheap to clone.
#[derive(Clone, Default)]
pub struct Events {
    sender: Option<mpsc::Sender<PipelineEvent>>,
}

impl Events {
    /// A sink that drops every event.
    pub fn none() -> Self {
        Self::default()
    }

    /// A sink whose events arrive at the returned receiver.
    pub fn channel() -> (Self, EventReceiver) {
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        (
            Self {
                sender: Some(sender),
            },
            receiver,
        )
    }

    /// Whether anyone listens (streaming routes).
    pub fn is_streaming(&self) -> bool {
        self.sender.is_some()
    }

    /// Sends `event`; fails with [`AppError::Cancelled`] once the client has gone, which
    /// stops the pipeline (and with it any generation).
    pub async fn send(&self, event: PipelineEvent) -> AppResult<()> {
        match &self.sender {
            None => Ok(()),
            Some(sender) => sender
                .send(event)
                .await
                .map_err(|_| AppError::Cancelled("the client closed the stream".into())),
        }
    }
}
