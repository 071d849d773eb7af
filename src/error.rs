//! The one error type of the services; the API maps it to `application/problem+json`.

use std::fmt;

/// A failure with a stable machine-readable code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Something the client named does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `collection 'laws'`.
        what: String,
    },
    /// The request conflicts with the current state (e.g. the collection exists).
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed or violates a limit.
    #[error("{message}")]
    Invalid {
        /// Stable code such as `invalid_name`.
        code: &'static str,
        /// What is wrong, for humans.
        message: String,
    },
    /// The body is larger than allowed.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A dependency is not available right now.
    #[error("{0}")]
    Unavailable(String),
    /// An upstream server (e.g. a remote LLM) answered with an error.
    #[error("{0}")]
    BadGateway(String),
    /// An upstream server did not answer in time.
    #[error("{0}")]
    GatewayTimeout(String),
    /// The client went away before the work finished (nobody receives this answer).
    #[error("{0}")]
    Cancelled(String),
    /// A bug or an unexpected storage failure; details stay in the log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Shorthand for [`AppError::Invalid`].
    pub fn invalid(code: &'static str, message: impl fmt::Display) -> Self {
        AppError::Invalid {
            code,
            message: message.to_string(),
        }
    }

    /// Shorthand for [`AppError::NotFound`].
    pub fn not_found(what: impl fmt::Display) -> Self {
        AppError::NotFound {
            what: what.to_string(),
        }
    }

    /// The stable code that clients can switch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound { .. } => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Invalid { code, .. } => code,
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::Unavailable(_) => "unavailable",
            AppError::BadGateway(_) => "upstream_error",
            AppError::GatewayTimeout(_) => "upstream_timeout",
            AppError::Cancelled(_) => "client_closed_request",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<surrealdb::Error> for AppError {
    fn from(err: surrealdb::Error) -> Self {
        AppError::Internal(format!("database: {err}"))
    }
}

/// Result of a service call.
pub type AppResult<T> = Result<T, AppError>;
