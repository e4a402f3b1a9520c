//! What stands between a browser and the console: the session cookie, the
//! CSRF token of every form, the same-origin check, the language choice and
//! the pages' security headers.
//!
//! - **Session.** The cookie carries the session's token (a row of the
//!   `sessions` table, stored hashed, with the API's idle and absolute
//!   timeouts). It is `HttpOnly`, `SameSite=Strict` and `Path=/`; over HTTPS
//!   it is `__Host-holdfast_session` and `Secure`. A page without a valid
//!   session answers `303` to `/console/login`.
//! - **CSRF.** Every form after sign-in carries an HMAC of the session's id
//!   under a key derived from the master key, which only the session's
//!   cookie makes good (a double submit bound to the session). A post with
//!   no token, or not from Holdfast's own pages ([`web::same_origin`]), is
//!   a `403` page before the session is even looked at; a token that is
//!   not the session's is a `403` too; nothing changes either way. The
//!   sign-in form has no session yet: see [`super::signin`].

use std::collections::HashMap;

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use ring::hmac;

use super::views;
use crate::auth::{self, CurrentAgent, Touch};
use crate::domain::ids::SessionId;
use crate::edge::error::{ApiError, ProblemKind};
use crate::edge::http::ClientAddress;
use crate::edge::web::{self, CSP_OWN_SCRIPT, Lang, constant_time_eq, html_response};
use crate::state::AppState;

/// Where a browser without a session is sent.
pub const LOGIN_PATH: &str = "/console/login";
/// The cookie remembering the language chosen with the switch.
const LANG_COOKIE: &str = "holdfast_lang";

/// The session cookie's name: `__Host-` bound to this origin over HTTPS.
pub fn session_cookie_name(state: &AppState) -> &'static str {
    if state.https() {
        "__Host-holdfast_session"
    } else {
        "holdfast_session"
    }
}

/// A cookie for the whole console: `HttpOnly`, `SameSite=Strict`, `Path=/`,
/// and `Secure` over HTTPS. `max_age` of `None` makes a browser-session cookie.
pub fn cookie(state: &AppState, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let secure = if state.https() { "; Secure" } else { "" };
    let age = max_age
        .map(|seconds| format!("; Max-Age={seconds}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{age}{secure}"
    ))
    .expect("cookie names and base64url values are valid header text")
}

/// Sets `cookie` on `response` (keeping any set before).
pub fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// The CSRF token of every form of a session: it needs no storage, and a
/// token of one session is worthless in another.
pub fn csrf_token(state: &AppState, session_id: &SessionId) -> String {
    let key = hmac::Key::new(
        hmac::HMAC_SHA256,
        &state.config().master_key.derive("holdfast console csrf v1"),
    );
    let tag = hmac::sign(&key, session_id.as_str().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
}

/// The page's language: `?lang=` (the switch), then the language chosen
/// before (a cookie), then the browser's `Accept-Language`.
pub fn lang(query: &HashMap<String, String>, headers: &HeaderMap) -> Lang {
    if query.contains_key("lang") {
        return Lang::pick(query, headers);
    }
    match web::cookie(headers, LANG_COOKIE).as_deref().and_then(Lang::from_code) {
        Some(lang) => lang,
        None => Lang::pick(query, headers),
    }
}

/// The query string as a map (an unreadable one reads as empty).
pub fn query_map(uri: &axum::http::Uri) -> HashMap<String, String> {
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|query| query.0)
        .unwrap_or_default()
}

/// The security headers of every console page, and the language cookie
/// when the switch was used.
pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let chosen = query_map(request.uri())
        .remove("lang")
        .filter(|lang| Lang::from_code(lang).is_some());
    let mut response = next.run(request).await;
    web::secure(&mut response, CSP_OWN_SCRIPT, state.https());
    if let Some(lang) = chosen {
        let value = cookie(&state, LANG_COOKIE, &lang, Some(365 * 24 * 3600));
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The signed-in agent of a console page. Without a valid session the page
/// answers `303` to the sign-in form.
pub struct ConsoleAgent {
    pub agent: CurrentAgent,
    pub lang: Lang,
    pub csrf: String,
}

/// Reads the session cookie; `touch` says whether this counts as use.
async fn session_agent(parts: &mut Parts, state: &AppState, touch: Touch) -> Result<Option<CurrentAgent>, ApiError> {
    let Some(token) = web::cookie(&parts.headers, session_cookie_name(state)).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let client = ClientAddress::from_request_parts(parts, state).await?;
    match auth::agent_for_session_token(state, &token, touch, client).await {
        Ok(agent) => Ok(Some(agent)),
        Err(ApiError::Unauthorized { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}

impl FromRequestParts<AppState> for ConsoleAgent {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = lang(&query_map(&parts.uri), &parts.headers);
        match session_agent(parts, state, Touch::Yes).await {
            Ok(Some(agent)) => {
                let csrf = csrf_token(state, &agent.session_id);
                Ok(ConsoleAgent { agent, lang, csrf })
            }
            Ok(None) => Err(to_login()),
            Err(error) => Err(error_page(lang, &error)),
        }
    }
}

/// `303` to the sign-in form (which leads to the queue: SPEC §10).
fn to_login() -> Response {
    Redirect::to(LOGIN_PATH).into_response()
}

/// The signed-in agent of the queue's background poll: answers `401` (a
/// problem) instead of a redirect, and does not count as use, so an open
/// tab does not keep an idle session alive.
pub struct PollingAgent(pub CurrentAgent);

impl FromRequestParts<AppState> for PollingAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        session_agent(parts, state, Touch::No)
            .await?
            .map(PollingAgent)
            .ok_or_else(|| ApiError::unauthorized(ProblemKind::SessionExpired, "sign in to the console again"))
    }
}

/// A console form post, already checked: a valid session, its CSRF token,
/// and that it came from Holdfast's own pages.
pub struct ConsoleForm {
    pub agent: CurrentAgent,
    pub lang: Lang,
    pub csrf: String,
    pub fields: HashMap<String, String>,
}

impl ConsoleForm {
    /// The signed-in agent, as a page shown in answer to the form sees them.
    pub fn viewer(&self) -> ConsoleAgent {
        ConsoleAgent {
            agent: self.agent.clone(),
            lang: self.lang,
            csrf: self.csrf.clone(),
        }
    }

    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }

    /// The inline step-up code, when the agent typed one.
    pub fn otp(&self) -> Option<&str> {
        Some(self.field("otp").trim()).filter(|code| !code.is_empty())
    }
}

impl FromRequest<AppState> for ConsoleForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let same_origin = web::same_origin(state.public_url(), &parts.headers);
        // A body that is not a form carries no token either.
        let fields = Form::<HashMap<String, String>>::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map(|Form(fields)| fields)
            .unwrap_or_default();
        let submitted = fields.get("csrf").map(String::as_str).unwrap_or("");
        // A post with no token at all is refused before the session is
        // looked at; one with a token but no session (it ended while the
        // page was open) goes to the sign-in form.
        if submitted.is_empty() || !same_origin {
            let lang = lang(&query_map(&parts.uri), &parts.headers);
            tracing::warn!("a console form was refused: no CSRF token or a foreign origin");
            return Err(html_response(StatusCode::FORBIDDEN, views::refused(lang)));
        }
        let ConsoleAgent { agent, lang, csrf } = ConsoleAgent::from_request_parts(&mut parts, state).await?;
        if !constant_time_eq(submitted, &csrf) {
            tracing::warn!(agent = %agent.username, "a console form was refused: its CSRF token is not the session's");
            return Err(html_response(StatusCode::FORBIDDEN, views::refused(lang)));
        }
        Ok(ConsoleForm {
            agent,
            lang,
            csrf,
            fields,
        })
    }
}

/// A page for an error that is not about one form (the database is down).
pub fn error_page(lang: Lang, error: &ApiError) -> Response {
    html_response(error.status(), views::failure(lang, error))
}
