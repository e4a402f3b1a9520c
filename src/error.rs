//! Errors.
//!
//! The rule: outside the request path (start-up, commands, background tasks)
//! errors are `anyhow::Error` with context saying what failed. Code with one
//! way to fail has its own small error type. What a client sees is an
//! [`ApiError`], rendered as an RFC 9457 problem (`application/problem+json`).
//! A 5xx body never carries internal details: the cause is attached to the
//! response and logged once, inside the request's span, by
//! [`log_server_errors`].
//!
//! (Over 400 lines: the one error type and, with each problem kind, the
//! title and page text in English and Korean that `/problems` serves.)

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::domain::incident::IllegalTransition;
use crate::domain::validation::FieldError;
use crate::web::Lang;

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
        extra: Map<String, Value>,
    },
    /// 423: the agent is locked out for `retry_after` seconds.
    #[error("locked")]
    Locked { retry_after: u64 },
    /// 429: too many requests; try again in `retry_after` seconds.
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after: u64,
        extra: Map<String, Value>,
    },
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
pub fn problem(status: StatusCode, kind: ProblemKind, detail: &str, extra: Map<String, Value>) -> Response {
    let mut body = json!({
        "type": kind.uri(),
        "title": kind.text(Lang::En).title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Value::Object(map) = &mut body {
        map.extend(extra);
    }
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
    response
}

/// The cause of a 5xx, carried to [`log_server_errors`] in the response extensions.
#[derive(Clone)]
struct ServerErrorCause(Arc<anyhow::Error>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut extra = Map::new();
        match &self {
            ApiError::Invalid(errors) => {
                extra.insert("errors".into(), serde_json::to_value(errors).unwrap_or_default());
            }
            ApiError::Rejected { extra: more, .. } | ApiError::TooManyRequests { extra: more, .. } => {
                extra.extend(more.clone());
            }
            _ => {}
        }
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
pub async fn log_server_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(ServerErrorCause(cause)) = response.extensions().get::<ServerErrorCause>() {
        tracing::error!(error = format!("{cause:#}"), "request failed");
    }
    response
}

/// Gives error responses that did not come from an [`ApiError`] (an unknown
/// route, a wrong method, a timeout) a problem body too.
pub async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
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
    let mut rebuilt = problem(status, kind, detail, Map::new());
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

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> Self {
        ApiError::Invalid(errors)
    }
}

/// Declares [`ProblemKind`] with each kind's slug, so the list of every kind
/// ([`ProblemKind::ALL`]) cannot miss one.
macro_rules! problem_kinds {
    ($($(#[$doc:meta])* $variant:ident = $slug:literal,)*) => {
        /// Every kind of problem Holdfast answers with. Its `type` is
        /// `/problems/<slug>`, a page Holdfast serves (see [`crate::pages`])
        /// with the text of [`ProblemKind::text`], so a kind cannot exist
        /// without its page.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ProblemKind {
            $($(#[$doc])* $variant,)*
        }

        impl ProblemKind {
            pub const ALL: &[ProblemKind] = &[$(ProblemKind::$variant,)*];

            /// The last segment of the problem's `type`.
            pub fn slug(self) -> &'static str {
                match self {
                    $(ProblemKind::$variant => $slug,)*
                }
            }
        }
    };
}

problem_kinds! {
    /// 400: the body is not well-formed JSON (or not a valid form).
    MalformedRequest = "malformed-request",
    /// 400 (or another 4xx without a kind of its own): a path or query
    /// parameter could not be read.
    BadRequest = "bad-request",
    /// 401: a signed request's signature, key id or timestamp is wrong.
    InvalidSignature = "invalid-signature",
    /// 401: a wrong username, password or TOTP code.
    InvalidCredentials = "invalid-credentials",
    /// 401: no bearer token, or one Holdfast does not know.
    Unauthorized = "unauthorized",
    /// 401: the session is idle, too old, signed out, or its agent disabled.
    SessionExpired = "session-expired",
    /// 401: a TOTP code (time step) already accepted once.
    OtpReplayed = "otp-replayed",
    /// 403: the role or key does not allow the action.
    Forbidden = "forbidden",
    /// 403: a sensitive action without a step-up in the last five minutes.
    MfaRequired = "mfa-required",
    /// 404
    NotFound = "not-found",
    /// 405
    MethodNotAllowed = "method-not-allowed",
    /// 408: the request ran past the per-request time limit.
    Timeout = "timeout",
    /// 409: the change conflicts with the resource's state.
    Conflict = "conflict",
    /// 410: an unfreeze request past its lifetime.
    Expired = "expired",
    /// 413: a body over 64 KiB.
    PayloadTooLarge = "payload-too-large",
    /// 415
    UnsupportedMediaType = "unsupported-media-type",
    /// 422: well-formed but invalid; `errors` names every bad field.
    ValidationFailed = "validation-failed",
    /// 422: a holder's wrong code; `tries_left` says how many remain.
    WrongCode = "wrong-code",
    /// 422: a holder's one-time code older than ten minutes.
    CodeExpired = "code-expired",
    /// 423: the agent is locked after repeated failures (`Retry-After`).
    AccountLocked = "account-locked",
    /// 429: a per-client rate limit (`Retry-After`).
    RateLimited = "rate-limited",
    /// 429: an unfreeze request out of tries or codes; it is locked.
    AttemptsExhausted = "attempts-exhausted",
    /// 500: the cause is logged, never sent.
    InternalError = "internal-error",
    /// 503: the database, Redis or the exchange does not answer.
    Unavailable = "unavailable",
}

/// What a problem's page says, in one language: a title (also the problem's
/// `title` in English), what happened, and what to do about it.
#[derive(Clone, Copy, Debug)]
pub struct ProblemText {
    pub title: &'static str,
    pub happened: &'static str,
    pub to_do: &'static str,
}

const fn text(title: &'static str, happened: &'static str, to_do: &'static str) -> ProblemText {
    ProblemText { title, happened, to_do }
}

impl ProblemKind {
    /// The problem's `type`: a relative URI that resolves to its page.
    pub fn uri(self) -> String {
        format!("/problems/{}", self.slug())
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.slug() == slug)
    }

    pub fn text(self, lang: Lang) -> ProblemText {
        match lang {
            Lang::En => self.english(),
            Lang::Ko => self.korean(),
        }
    }

    fn english(self) -> ProblemText {
        use ProblemKind::*;
        match self {
            MalformedRequest => text(
                "Malformed request",
                "The request body is not well-formed JSON, so Holdfast could not read it.",
                "Send a valid JSON body with the header Content-Type: application/json.",
            ),
            BadRequest => text(
                "Bad request",
                "A path or query parameter, or the request itself, could not be read.",
                "Check the URL, its parameters and headers against the API description at /openapi.json.",
            ),
            InvalidSignature => text(
                "Signature not accepted",
                "The signature headers are missing or wrong, the key id is unknown, or the timestamp \
                 is more than 300 seconds away from Holdfast's clock.",
                "Sign the exact body bytes: X-Holdfast-Signature: v1=<lowercase hex of \
                 HMAC-SHA256(secret, \"<timestamp>.<body>\")>, with the current Unix time in \
                 X-Holdfast-Timestamp and your key id in X-Holdfast-Key-Id. Check your clock.",
            ),
            InvalidCredentials => text(
                "Sign-in failed",
                "The username, password or one-time code is wrong. Every failure counts against the agent: \
                 five within fifteen minutes lock it for fifteen minutes.",
                "Check your username and password, and use the code your authenticator app shows now.",
            ),
            Unauthorized => text(
                "Sign-in required",
                "The request carries no valid bearer token.",
                "Sign in with POST /v1/auth/login and send the token as Authorization: Bearer <token>.",
            ),
            SessionExpired => text(
                "Session ended",
                "The session was idle for 30 minutes, reached its 12-hour limit, was signed out, \
                 or its agent was disabled.",
                "Sign in again.",
            ),
            OtpReplayed => text(
                "Code already used",
                "This one-time code was already accepted for this agent; each code is accepted once. \
                 The attempt counts as a failure.",
                "Wait until your authenticator app shows the next code, then use that one.",
            ),
            Forbidden => text(
                "Not allowed",
                "Your role (or your signing key) does not allow this action. The agent who started a \
                 playbook run cannot approve it either.",
                "Ask someone whose role allows it: a lead for recovery, approvals and resolving, an admin \
                 for managing agents.",
            ),
            MfaRequired => text(
                "Step-up needed",
                "This action is sensitive: it needs a TOTP step-up from the last five minutes.",
                "Step up with POST /v1/auth/step-up {\"otp\": \"<code>\"}, or send the current code in \
                 the X-Holdfast-OTP header of this request.",
            ),
            NotFound => text(
                "Not found",
                "There is no such resource, or this link is no longer valid: a newer link may have \
                 replaced it.",
                "Check the identifier or address. For an unfreeze link, use the one in your newest \
                 message, or ask for a new one.",
            ),
            MethodNotAllowed => text(
                "Method not allowed",
                "This address does not accept the HTTP method used.",
                "Use one of the methods listed in the Allow header.",
            ),
            Timeout => text(
                "Request timed out",
                "Holdfast could not complete the request within its time limit.",
                "Try again. A repeated alert is recognised by its alert_id, so a retry never opens a \
                 second incident.",
            ),
            Conflict => text(
                "Conflict",
                "The change conflicts with the current state: the incident is not in a state that \
                 allows it, a run of that playbook is already in progress, or this step is not open.",
                "Read the current state again, then decide what to do.",
            ),
            Expired => text(
                "Request expired",
                "This unfreeze request has expired; a request lasts 24 hours.",
                "Ask for a new unfreeze link to start again.",
            ),
            PayloadTooLarge => text(
                "Request too large",
                "The request body is larger than 64 KiB.",
                "Send a smaller body.",
            ),
            UnsupportedMediaType => text(
                "Unsupported media type",
                "The body was sent with a content type this address does not accept.",
                "Send the body as application/json (or as the form the page posts).",
            ),
            ValidationFailed => text(
                "Invalid fields",
                "The body is well-formed, but some fields are missing or wrong. The problem's errors \
                 list names each field and what is wrong with it.",
                "Fix every field in the errors list and send the request again.",
            ),
            WrongCode => text(
                "Wrong code",
                "The code entered is not right. The problem's tries_left says how many tries remain \
                 before the request is locked.",
                "Enter the code from your newest message. If none arrived, ask for a new code.",
            ),
            CodeExpired => text(
                "Code expired",
                "The one-time code is more than ten minutes old.",
                "Ask for a new code and enter it.",
            ),
            AccountLocked => text(
                "Agent locked",
                "Too many wrong passwords or codes: this agent is locked for fifteen minutes.",
                "Wait the number of seconds in the Retry-After header. If you did not make these \
                 attempts, tell your security lead at once.",
            ),
            RateLimited => text(
                "Too many requests",
                "Too many requests came from your address in a short time.",
                "Wait the number of seconds in the Retry-After header, then try again.",
            ),
            AttemptsExhausted => text(
                "No tries left",
                "Too many wrong codes were entered, or too many codes sent, for this unfreeze request, \
                 so it is locked.",
                "Wait an hour, then ask for a new unfreeze link.",
            ),
            InternalError => text(
                "Internal error",
                "Holdfast could not complete the request. The cause has been logged; none of it is in \
                 the answer.",
                "Try again. If it keeps happening, tell the Holdfast operators when it happened.",
            ),
            Unavailable => text(
                "Service unavailable",
                "Something Holdfast depends on (its database, Redis or the exchange) did not answer, \
                 or Holdfast is shutting down.",
                "Try again in a few seconds.",
            ),
        }
    }

    fn korean(self) -> ProblemText {
        use ProblemKind::*;
        match self {
            MalformedRequest => text(
                "잘못된 형식의 요청",
                "요청 본문이 올바른 JSON이 아니어서 Holdfast가 읽을 수 없습니다.",
                "Content-Type: application/json 헤더와 함께 올바른 JSON 본문을 보내세요.",
            ),
            BadRequest => text(
                "잘못된 요청",
                "경로나 쿼리 매개변수, 또는 요청 자체를 읽을 수 없습니다.",
                "/openapi.json의 API 설명과 URL, 매개변수, 헤더를 비교해 확인하세요.",
            ),
            InvalidSignature => text(
                "서명이 거부되었습니다",
                "서명 헤더가 없거나 잘못되었거나, 키 ID를 알 수 없거나, 타임스탬프가 Holdfast의 \
                 시계와 300초 넘게 차이 납니다.",
                "본문 바이트 그대로 서명하세요: X-Holdfast-Signature: v1=<HMAC-SHA256(secret, \
                 \"<timestamp>.<body>\")의 소문자 16진수>, X-Holdfast-Timestamp에는 현재 유닉스 시간, \
                 X-Holdfast-Key-Id에는 키 ID를 넣으세요. 시계도 확인하세요.",
            ),
            InvalidCredentials => text(
                "로그인 실패",
                "사용자 이름, 비밀번호 또는 일회용 코드가 올바르지 않습니다. 실패할 때마다 기록되며, \
                 15분 안에 5번 실패하면 15분 동안 잠깁니다.",
                "사용자 이름과 비밀번호를 확인하고 인증 앱에 지금 표시된 코드를 사용하세요.",
            ),
            Unauthorized => text(
                "로그인이 필요합니다",
                "요청에 유효한 Bearer 토큰이 없습니다.",
                "POST /v1/auth/login으로 로그인한 뒤 Authorization: Bearer <token> 헤더로 토큰을 보내세요.",
            ),
            SessionExpired => text(
                "세션이 끝났습니다",
                "세션이 30분 동안 사용되지 않았거나, 12시간 한도에 이르렀거나, 로그아웃되었거나, \
                 해당 요원 계정이 비활성화되었습니다.",
                "다시 로그인하세요.",
            ),
            OtpReplayed => text(
                "이미 사용된 코드",
                "이 일회용 코드는 이 요원에게 이미 한 번 승인되었습니다. 코드는 한 번만 쓸 수 있으며, \
                 이번 시도는 실패로 기록됩니다.",
                "인증 앱에 다음 코드가 표시될 때까지 기다린 뒤 그 코드를 사용하세요.",
            ),
            Forbidden => text(
                "허용되지 않음",
                "역할(또는 서명 키)이 이 작업을 허용하지 않습니다. 플레이북 실행을 시작한 요원은 그 \
                 실행을 승인할 수도 없습니다.",
                "권한이 있는 사람에게 요청하세요. 복구, 승인, 종결은 리드가, 요원 관리는 관리자가 합니다.",
            ),
            MfaRequired => text(
                "추가 인증 필요",
                "민감한 작업이므로 최근 5분 안의 TOTP 추가 인증이 필요합니다.",
                "POST /v1/auth/step-up {\"otp\": \"<code>\"}로 추가 인증하거나, 이 요청의 \
                 X-Holdfast-OTP 헤더에 현재 코드를 넣어 보내세요.",
            ),
            NotFound => text(
                "찾을 수 없음",
                "해당 리소스가 없거나, 이 링크가 더 이상 유효하지 않습니다. 더 새로운 링크로 \
                 대체되었을 수 있습니다.",
                "식별자나 주소를 확인하세요. 동결 해제 링크라면 가장 최근 메시지의 링크를 사용하거나 \
                 새 링크를 요청하세요.",
            ),
            MethodNotAllowed => text(
                "허용되지 않는 메서드",
                "이 주소는 사용한 HTTP 메서드를 받지 않습니다.",
                "Allow 헤더에 나열된 메서드 중 하나를 사용하세요.",
            ),
            Timeout => text(
                "요청 시간 초과",
                "Holdfast가 제한 시간 안에 요청을 처리하지 못했습니다.",
                "다시 시도하세요. 같은 알림은 alert_id로 식별되므로 다시 보내도 두 번째 사건이 \
                 생기지 않습니다.",
            ),
            Conflict => text(
                "충돌",
                "변경이 현재 상태와 충돌합니다. 사건이 그 변경을 허용하지 않는 상태이거나, 같은 \
                 플레이북이 이미 실행 중이거나, 이 단계가 열려 있지 않습니다.",
                "현재 상태를 다시 확인한 뒤 어떻게 할지 정하세요.",
            ),
            Expired => text(
                "요청 만료",
                "이 동결 해제 요청은 만료되었습니다. 요청은 24시간 동안 유효합니다.",
                "새 동결 해제 링크를 요청해 다시 시작하세요.",
            ),
            PayloadTooLarge => text(
                "요청이 너무 큼",
                "요청 본문이 64KiB를 넘습니다.",
                "더 작은 본문을 보내세요.",
            ),
            UnsupportedMediaType => text(
                "지원하지 않는 미디어 유형",
                "이 주소가 받지 않는 콘텐츠 유형으로 본문을 보냈습니다.",
                "본문을 application/json(또는 페이지가 보내는 양식)으로 보내세요.",
            ),
            ValidationFailed => text(
                "잘못된 필드",
                "본문 형식은 올바르지만 일부 필드가 없거나 잘못되었습니다. errors 목록에 필드마다 \
                 무엇이 잘못되었는지 나와 있습니다.",
                "errors 목록의 모든 필드를 고친 뒤 다시 보내세요.",
            ),
            WrongCode => text(
                "코드가 올바르지 않습니다",
                "입력한 코드가 맞지 않습니다. tries_left에 요청이 잠기기 전까지 남은 시도 횟수가 \
                 나와 있습니다.",
                "가장 최근 메시지의 코드를 입력하세요. 메시지를 받지 못했다면 새 코드를 요청하세요.",
            ),
            CodeExpired => text(
                "코드 만료",
                "일회용 코드가 발급된 지 10분이 지났습니다.",
                "새 코드를 요청해 입력하세요.",
            ),
            AccountLocked => text(
                "요원 계정 잠김",
                "비밀번호나 코드가 너무 많이 틀려 이 요원 계정이 15분 동안 잠겼습니다.",
                "Retry-After 헤더의 초만큼 기다리세요. 본인이 시도한 것이 아니라면 즉시 보안 리드에게 \
                 알리세요.",
            ),
            RateLimited => text(
                "요청이 너무 많음",
                "짧은 시간에 같은 주소에서 너무 많은 요청이 왔습니다.",
                "Retry-After 헤더의 초만큼 기다린 뒤 다시 시도하세요.",
            ),
            AttemptsExhausted => text(
                "남은 시도 없음",
                "이 동결 해제 요청에 틀린 코드가 너무 많이 입력되었거나 코드가 너무 많이 발송되어 \
                 요청이 잠겼습니다.",
                "한 시간 기다린 뒤 새 동결 해제 링크를 요청하세요.",
            ),
            InternalError => text(
                "내부 오류",
                "Holdfast가 요청을 처리하지 못했습니다. 원인은 기록되었으며 응답에는 포함되지 않습니다.",
                "다시 시도하세요. 계속 발생하면 발생 시각과 함께 Holdfast 운영자에게 알리세요.",
            ),
            Unavailable => text(
                "서비스를 사용할 수 없음",
                "Holdfast가 의존하는 서비스(데이터베이스, Redis 또는 거래소)가 응답하지 않았거나 \
                 Holdfast가 종료 중입니다.",
                "몇 초 뒤에 다시 시도하세요.",
            ),
        }
    }
}
