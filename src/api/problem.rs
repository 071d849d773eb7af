//! RFC 9457 `application/problem+json` errors for every route.

use poem::Response;
use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

use crate::error::AppError;

/// Base of the `type` URIs; the code is appended.
const TYPE_BASE: &str = "https://constitutional-rag.dev/problems/";

/// An error, as defined by RFC 9457.
#[derive(Debug, Clone, Object)]
pub struct Problem {
    /// A URI naming the kind of problem; stable per `code`.
    #[oai(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong in this request.
    pub detail: String,
    /// Stable machine-readable code, e.g. `not_found`, `invalid_collection_name`.
    pub code: String,
}

impl Problem {
    /// A problem with `status`, `code` and `detail`; title from the status.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("{TYPE_BASE}{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_string(),
        }
    }

    /// The problem as a plain HTTP response (for errors raised outside the OpenAPI routes).
    pub fn into_http_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({
            "type": self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        });
        Response::builder()
            .status(status)
            .content_type("application/problem+json")
            .body(body.to_string())
    }
}

/// Every error response a route can give.
#[derive(Debug, ApiResponse)]
#[oai(bad_request_handler = "request_error")]
pub enum ApiError {
    /// The request is malformed or violates a limit.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Something named in the request does not exist.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The request conflicts with the current state.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The body did not arrive within `server.body_timeout_ms` (`body_timeout`).
    #[oai(status = 408, content_type = "application/problem+json")]
    RequestTimeout(Json<Problem>),
    /// The body is larger than allowed.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// The body's content type is not accepted here.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// The client's rate limit is spent (`rate_limited`); the `Retry-After` header says when
    /// to retry.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>),
    /// An unexpected failure; details are in the server log.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    /// An upstream server (e.g. a remote LLM) answered with an error.
    #[oai(status = 502, content_type = "application/problem+json")]
    BadGateway(Json<Problem>),
    /// A dependency is unavailable or the server is at its in-flight limit (`overloaded`, with
    /// `Retry-After`); retry later.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
    /// An upstream server did not answer in time.
    #[oai(status = 504, content_type = "application/problem+json")]
    GatewayTimeout(Json<Problem>),
}

impl ApiError {
    /// Wraps a problem in the variant of its status.
    pub fn from_problem(problem: Problem) -> Self {
        let body = Json(problem);
        match body.0.status {
            400 => ApiError::BadRequest(body),
            404 => ApiError::NotFound(body),
            408 => ApiError::RequestTimeout(body),
            409 => ApiError::Conflict(body),
            413 => ApiError::PayloadTooLarge(body),
            415 => ApiError::UnsupportedMediaType(body),
            429 => ApiError::TooManyRequests(body),
            502 => ApiError::BadGateway(body),
            503 => ApiError::Unavailable(body),
            504 => ApiError::GatewayTimeout(body),
            _ => ApiError::Internal(body),
        }
    }
}

impl ApiError {
    /// The problem inside, whatever the status.
    pub fn into_problem(self) -> Problem {
        match self {
            ApiError::BadRequest(p)
            | ApiError::NotFound(p)
            | ApiError::RequestTimeout(p)
            | ApiError::Conflict(p)
            | ApiError::PayloadTooLarge(p)
            | ApiError::UnsupportedMediaType(p)
            | ApiError::TooManyRequests(p)
            | ApiError::Internal(p)
            | ApiError::BadGateway(p)
            | ApiError::Unavailable(p)
            | ApiError::GatewayTimeout(p) => p.0,
        }
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        let status = match &err {
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            // nginx's "client closed request"; only logs and metrics ever see it.
            AppError::Cancelled(_) => StatusCode::from_u16(499).expect("499 is a valid status"),
        };
        let detail = match &err {
            AppError::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                "an internal error occurred; see the server log".to_string()
            }
            other => other.to_string(),
        };
        ApiError::from_problem(Problem::new(status, err.code(), detail))
    }
}

/// Maps request-parsing failures (bad JSON, wrong types, bad parameters) to problems.
fn request_error(err: poem::Error) -> ApiError {
    ApiError::from_problem(problem_for(&err))
}

/// The problem describing a framework error.
pub fn problem_for(err: &poem::Error) -> Problem {
    let status = err.status();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::BAD_REQUEST => "invalid_request",
        s if s.is_client_error() => "invalid_request",
        _ => "internal",
    };
    let detail = if status.is_server_error() {
        tracing::error!(error = %err, "unhandled error");
        "an internal error occurred; see the server log".to_string()
    } else {
        err.to_string()
    };
    let status = if status.is_success() {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    Problem::new(status, code, detail)
}

/// Turns any error escaping the routes (unknown path, wrong method, body limits) into a
/// problem response; responses already built by a route pass through unchanged.
pub async fn catch_all(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    problem_for(&err).into_http_response()
}
