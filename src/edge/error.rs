//! Errors.
//!
//! The rule: outside the request path (start-up, commands, background tasks)
//! errors are `anyhow::Error` with context saying what failed. Code with one
//! way to fail has its own small error type. What a client sees is an
//! [`ApiError`], rendered as an RFC 9457 problem (`application/problem+json`).
//! A 5xx body never carries internal details: the cause is attached to the
//! response and logged once, inside the request's span, by
//! [`log_server_error`].

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::incident::IllegalTransition;
use crate::domain::validation::FieldError;
use crate::edge::web::Lang;
use crate::state::ratelimit::Refusal;

mod body;
mod kinds;

pub use body::{Problem, ProblemExtra};
pub use kinds::{ProblemKind, ProblemText};

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The whole of what a client learns about an internal error.
pub const INTERNAL_ERROR_DETAIL: &str = "the server could not complete the request; it has been logged";

/// What a client is told went wrong. Each variant documents its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not well-formed JSON (or not a valid form).
    #[error("{0}")]
    Malformed(String),
    /// 401: missing or wrong credentials or signature; `kind` says which.
    #[error("{detail}")]
    Unauthorized { kind: ProblemKind, detail: String },
    /// 403: authenticated but not allowed; `kind` is `Forbidden` or `MfaRequired`.
    #[error("{detail}")]
    Forbidden { kind: ProblemKind, detail: String },
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 409: the change conflicts with the resource's state.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is over the size limit.
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    /// 408: the body arrived too slowly; the connection is closed after the answer.
    #[error("{0}")]
    TooSlow(String),
    /// 422: well-formed but invalid; names every bad field.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// 422 with its own type and extra members (a wrong code and the tries left).
    #[error("{detail}")]
    Rejected {
        kind: ProblemKind,
        detail: String,
        extra: ProblemExtra,
    },
    /// 423: the agent is locked out for `retry_after` seconds.
    #[error("locked")]
    Locked { retry_after: u64 },
    /// 429: too many requests; try again in `retry_after` seconds.
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    /// 429 without a retry: the holder used every try; the request is locked.
    #[error("{0}")]
    Exhausted(String),
    /// 410: the resource existed but has expired.
    #[error("{0}")]
    Gone(String),
    /// 503: a dependency (database, Redis) does not answer.
    #[error("{0}")]
    Unavailable(String),
    /// 500: anything else. The cause is logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn invalid(field: &str, message: &str) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} was not found"))
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::Forbidden {
            kind: ProblemKind::Forbidden,
            detail: detail.into(),
        }
    }

    pub fn unauthorized(kind: ProblemKind, detail: impl Into<String>) -> Self {
        ApiError::Unauthorized {
            kind,
            detail: detail.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooSlow(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Invalid(_) | ApiError::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Locked { .. } => StatusCode::LOCKED,
            ApiError::TooManyRequests { .. } | ApiError::Exhausted(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn kind(&self) -> ProblemKind {
        match self {
            ApiError::Malformed(_) => ProblemKind::MalformedRequest,
            ApiError::Unauthorized { kind, .. }
            | ApiError::Forbidden { kind, .. }
            | ApiError::Rejected { kind, .. } => *kind,
            ApiError::NotFound(_) => ProblemKind::NotFound,
            ApiError::Conflict(_) => ProblemKind::Conflict,
            ApiError::TooLarge(_) => ProblemKind::PayloadTooLarge,
            ApiError::TooSlow(_) => ProblemKind::Timeout,
            ApiError::Invalid(_) => ProblemKind::ValidationFailed,
            ApiError::Locked { .. } => ProblemKind::AccountLocked,
            ApiError::TooManyRequests { .. } => ProblemKind::RateLimited,
            ApiError::Exhausted(_) => ProblemKind::AttemptsExhausted,
            ApiError::Gone(_) => ProblemKind::Expired,
            ApiError::Unavailable(_) => ProblemKind::Unavailable,
            ApiError::Internal(_) => ProblemKind::InternalError,
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Invalid(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                format!("invalid fields: {}", fields.join(", "))
            }
            ApiError::Locked { retry_after } => {
                format!("too many failed attempts; this agent is locked for another {retry_after} seconds")
            }
            ApiError::Internal(_) => INTERNAL_ERROR_DETAIL.into(),
            other => other.to_string(),
        }
    }
}

/// Builds a problem response. Used for errors raised outside handlers too.
pub fn problem(status: StatusCode, kind: ProblemKind, detail: &str, extra: ProblemExtra) -> Response {
    let body = Problem {
        kind: kind.uri(),
        title: kind.text(Lang::En).title,
        status: status.as_u16(),
        detail: detail.to_owned(),
        errors: extra.errors,
        tries_left: extra.tries_left,
    };
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
    response
}

/// The cause of a 5xx, carried to [`log_server_error`] in the response extensions.
#[derive(Clone)]
struct ServerErrorCause(Arc<anyhow::Error>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let extra = match &self {
            ApiError::Invalid(errors) => ProblemExtra {
                errors: errors.clone(),
                tries_left: None,
            },
            ApiError::Rejected { extra, .. } => extra.clone(),
            _ => ProblemExtra::default(),
        };
        let mut response = problem(status, self.kind(), &self.detail(), extra);
        match self {
            ApiError::Locked { retry_after } | ApiError::TooManyRequests { retry_after, .. } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            ApiError::Internal(cause) => {
                response.extensions_mut().insert(ServerErrorCause(Arc::new(cause)));
            }
            _ => {}
        }
        response
    }
}

/// Logs the cause of every 5xx once, in the request's span.
pub fn log_server_error(response: &Response) {
    if let Some(ServerErrorCause(cause)) = response.extensions().get::<ServerErrorCause>() {
        tracing::error!(error = format!("{cause:#}"), "request failed");
    }
}

/// Gives error responses that did not come from an [`ApiError`] (an unknown
/// route, a wrong method, a timeout) a problem body too.
pub fn problem_for_bare_error(response: Response) -> Response {
    let status = response.status();
    // Bare errors come with no body type or plain text; problems and the
    // holder's HTML pages are left as they are.
    let bare = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|value| value.as_bytes().starts_with(b"text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !bare {
        return response;
    }
    let (kind, detail) = match status {
        StatusCode::NOT_FOUND => (ProblemKind::NotFound, "no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => (
            ProblemKind::MethodNotAllowed,
            "this resource does not accept that method",
        ),
        StatusCode::REQUEST_TIMEOUT => (ProblemKind::Timeout, "the request took too long"),
        StatusCode::PAYLOAD_TOO_LARGE => (ProblemKind::PayloadTooLarge, "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (ProblemKind::UnsupportedMediaType, "send the body as application/json"),
        s if s.is_server_error() => (ProblemKind::InternalError, "the server could not complete the request"),
        _ => (ProblemKind::BadRequest, "the request could not be processed"),
    };
    let mut rebuilt = problem(status, kind, detail, ProblemExtra::default());
    if let Some(allow) = response.headers().get(header::ALLOW) {
        rebuilt.headers_mut().insert(header::ALLOW, allow.clone());
    }
    rebuilt
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => ApiError::Unavailable("the database is not answering; try again".into()),
            other => ApiError::Internal(anyhow::Error::new(other).context("database error")),
        }
    }
}

impl From<IllegalTransition> for ApiError {
    fn from(error: IllegalTransition) -> Self {
        ApiError::Conflict(error.to_string())
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Limited { retry_after, .. } => ApiError::TooManyRequests {
                detail: refusal.to_string(),
                retry_after,
            },
            Refusal::Unavailable(what) => ApiError::Unavailable(what.into()),
            Refusal::Failed(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> Self {
        ApiError::Invalid(errors)
    }
}
