//! What stands between a form post and the flow: the holder pages' security
//! headers, CSRF tokens, the same-origin check, and the per-address rate
//! limit on the holder's steps.
//!
//! Every form is a double submit: its token is in a hidden field and in a
//! cookie the page set (`HttpOnly`, `SameSite=Strict`), and a post without
//! both, matching, is a `403` page. The request form's token is random; a
//! flow page's is an HMAC of the flow's token, so it needs no storage, and
//! its cookie is scoped to that flow's path.

use std::collections::HashMap;

use axum::Form;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ring::hmac;

use super::views;
use crate::auth::ClientAddress;
use crate::edge::web::{self, CSP_NO_SCRIPT, Lang, constant_time_eq, html_response};
use crate::platform::crypto;
use crate::state::AppState;
use crate::state::shared::Limit;

/// The cookie carrying the request form's CSRF token.
const CSRF_COOKIE: &str = "hf_csrf";
/// The cookie carrying a flow page's CSRF token (under the flow's path).
const FLOW_CSRF_COOKIE: &str = "hf_flow_csrf";
/// How long a flow page's cookie lives: as long as a flow.
const FLOW_CSRF_SECONDS: u64 = 24 * 3600;

/// Adds the security headers to every holder page: no script at all.
pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    web::secure(&mut response, CSP_NO_SCRIPT, state.public_url().starts_with("https://"));
    response
}

/// The CSRF token of a flow's forms: an HMAC of the flow token, so it needs no storage.
pub fn csrf_for_flow(state: &AppState, token: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &state.config().master_key.derive("holdfast csrf v1"));
    let tag = hmac::sign(&key, &crypto::token_hash(token));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
}

/// The cookie repeating a flow page's CSRF token, for that flow's forms
/// only; `None` for a token that cannot be a cookie's path.
pub fn flow_cookie(state: &AppState, token: &str, csrf: &str) -> Option<HeaderValue> {
    let secure = if state.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    if token.contains([';', ',']) {
        return None;
    }
    let cookie = format!(
        "{FLOW_CSRF_COOKIE}={csrf}; Path=/unfreeze/{token}; HttpOnly; SameSite=Strict; Max-Age={FLOW_CSRF_SECONDS}{secure}"
    );
    HeaderValue::from_str(&cookie).ok()
}

/// A fresh token for the request form, and the cookie that carries it.
pub fn request_form_token(state: &AppState) -> anyhow::Result<(String, HeaderValue)> {
    let csrf = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crypto::random_bytes::<16>()?);
    let secure = if state.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{CSRF_COOKIE}={csrf}; Path=/unfreeze; HttpOnly; SameSite=Strict; Max-Age=3600{secure}");
    Ok((csrf, HeaderValue::from_str(&cookie)?))
}

/// Whether a request form post carries the token of its cookie and came from our own page.
pub fn request_form_allowed(state: &AppState, headers: &HeaderMap, submitted: &str) -> bool {
    let csrf_ok = web::cookie(headers, CSRF_COOKIE).is_some_and(|expected| constant_time_eq(&expected, submitted));
    csrf_ok && web::same_origin(state.public_url(), headers)
}

/// A holder's form post on a flow page, already checked: its CSRF token, that
/// it came from Holdfast's own page, and the per-address rate limit.
pub struct FlowForm {
    pub token: String,
    pub lang: Lang,
    pub fields: HashMap<String, String>,
}

impl FlowForm {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}

impl FromRequest<AppState> for FlowForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Path(token) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let expected = csrf_for_flow(state, &token);
        let (lang, fields) = checked_post(parts, body, state, FLOW_CSRF_COOKIE, &expected).await?;
        Ok(FlowForm { token, lang, fields })
    }
}

/// The checks every holder's form post passes, on the flow's pages and the
/// case's alike: the double-submit token (the cookie `cookie` and the form's
/// `csrf` field both equal to `expected`, derived from the page's own token),
/// a post from Holdfast's own pages, and the per-address step budget.
/// Answers the page's language and the form's fields.
pub(crate) async fn checked_post(
    mut parts: Parts,
    body: Body,
    state: &AppState,
    cookie: &str,
    expected: &str,
) -> Result<(Lang, HashMap<String, String>), Response> {
    let Query(query) = Query::<HashMap<String, String>>::from_request_parts(&mut parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    let ClientAddress(client) = ClientAddress::from_request_parts(&mut parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    let lang = Lang::pick(&query, &parts.headers);
    let headers = parts.headers.clone();
    let Form(fields) = Form::<HashMap<String, String>>::from_request(Request::from_parts(parts, body), state)
        .await
        .map_err(IntoResponse::into_response)?;
    let submitted = fields.get("csrf").map(String::as_str).unwrap_or("");
    let cookie_ok = web::cookie(&headers, cookie).is_some_and(|cookie| constant_time_eq(&cookie, expected));
    if !cookie_ok || !constant_time_eq(submitted, expected) || !web::same_origin(state.public_url(), &headers) {
        return Err(html_response(StatusCode::FORBIDDEN, views::refused(lang)));
    }
    if state.shared().check(Limit::HolderSteps, &client).await.is_err() {
        return Err(html_response(StatusCode::TOO_MANY_REQUESTS, views::too_many(lang)));
    }
    Ok((lang, fields))
}

/// Ensures the request form's answer carries the cookie its token came with.
pub fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}
