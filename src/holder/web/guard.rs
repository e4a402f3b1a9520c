//! What stands between a form post and a holder's case: CSRF double submit
//! (a hidden field and a cookie under the page's own path), the same-origin
//! check and the per-address rate limit of the holder's steps.
//!
//! A case or lock page's token is an HMAC of the link's token, so it needs
//! no storage; the report form's is random.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::edge::web::{self, Lang};
use crate::state::AppState;
use crate::unfreeze::web::guard::checked_post;

/// The cookie carrying a case or lock page's CSRF token (under its path).
const LINK_CSRF_COOKIE: &str = "hf_case_csrf";
/// The cookie carrying the report form's CSRF token.
pub const REPORT_CSRF_COOKIE: &str = "hf_report_csrf";

/// The CSRF token of a link's forms.
pub fn csrf_for_link(state: &AppState, token: &str) -> String {
    web::link_csrf(&state.config().master_key.derive("holdfast case csrf v1"), token)
}

/// The cookie repeating a link page's token, for the forms under `path` only.
pub fn link_cookie(state: &AppState, path: &str, csrf: &str) -> Option<HeaderValue> {
    web::csrf_cookie(LINK_CSRF_COOKIE, csrf, path, 86400, state.https())
}

/// A fresh token for the report form, and its cookie.
pub fn report_form_token(state: &AppState) -> anyhow::Result<(String, HeaderValue)> {
    web::fresh_form_token(REPORT_CSRF_COOKIE, "/holder/report", state.https())
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
