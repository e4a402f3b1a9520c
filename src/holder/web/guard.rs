//! What stands between a form post and a holder's case: CSRF double submit
//! (a hidden field and a cookie under the page's own path), the same-origin
//! check and the per-address rate limit of the holder's steps.
//!
//! A case or lock page's token is an HMAC of the link's token, so it needs
//! no storage; the report form's is random.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ring::hmac;

use crate::edge::web::{self, Lang, constant_time_eq};
use crate::platform::crypto;
use crate::state::AppState;
use crate::unfreeze::web::guard::checked_post;

/// The cookie carrying a case or lock page's CSRF token (under its path).
const LINK_CSRF_COOKIE: &str = "hf_case_csrf";
/// The cookie carrying the report form's CSRF token.
const REPORT_CSRF_COOKIE: &str = "hf_report_csrf";

fn secure_suffix(state: &AppState) -> &'static str {
    if state.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The CSRF token of a link's forms.
pub fn csrf_for_link(state: &AppState, token: &str) -> String {
    let key = hmac::Key::new(
        hmac::HMAC_SHA256,
        &state.config().master_key.derive("holdfast case csrf v1"),
    );
    let tag = hmac::sign(&key, &crypto::token_hash(token));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
}

/// The cookie repeating a link page's token, for the forms under `path` only.
pub fn link_cookie(state: &AppState, path: &str, csrf: &str) -> Option<HeaderValue> {
    if path.contains([';', ',']) {
        return None;
    }
    let cookie = format!(
        "{LINK_CSRF_COOKIE}={csrf}; Path={path}; HttpOnly; SameSite=Strict; Max-Age=86400{}",
        secure_suffix(state)
    );
    HeaderValue::from_str(&cookie).ok()
}

/// A fresh token for the report form, and its cookie.
pub fn report_form_token(state: &AppState) -> anyhow::Result<(String, HeaderValue)> {
    let csrf = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crypto::random_bytes::<16>()?);
    let cookie = format!(
        "{REPORT_CSRF_COOKIE}={csrf}; Path=/holder/report; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        secure_suffix(state)
    );
    Ok((csrf, HeaderValue::from_str(&cookie)?))
}

/// Whether a report form post carries its cookie's token and came from our own page.
pub fn report_form_allowed(state: &AppState, headers: &HeaderMap, submitted: &str) -> bool {
    let csrf_ok =
        web::cookie(headers, REPORT_CSRF_COOKIE).is_some_and(|expected| constant_time_eq(&expected, submitted));
    csrf_ok && web::same_origin(state.public_url(), headers)
}

/// A holder's form post under a case or lock link, already checked.
pub struct LinkForm {
    pub token: String,
    pub lang: Lang,
    pub fields: HashMap<String, String>,
}

impl LinkForm {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}

impl FromRequest<AppState> for LinkForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Path(token) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(|_| StatusCode::NOT_FOUND.into_response())?;
        let expected = csrf_for_link(state, &token);
        let (lang, fields) = checked_post(parts, body, state, LINK_CSRF_COOKIE, &expected).await?;
        Ok(LinkForm { token, lang, fields })
    }
}
