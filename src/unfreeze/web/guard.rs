//! What stands between a form post and the flow: CSRF tokens, the same-origin check, and the per-address rate
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
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::Markup;

use super::views;
use crate::auth::ClientAddress;
use crate::domain::alert::AccountId;
use crate::edge::web::{self, Lang, constant_time_eq, html_response};
use crate::state::AppState;
use crate::state::shared::Limit;

/// The cookie carrying the request form's CSRF token.
pub const CSRF_COOKIE: &str = "hf_csrf";
/// The cookie carrying a flow page's CSRF token (under the flow's path).
const FLOW_CSRF_COOKIE: &str = "hf_flow_csrf";
/// How long a flow page's cookie lives: as long as a flow.
const FLOW_CSRF_SECONDS: u64 = 24 * 3600;

/// The CSRF token of a flow's forms: an HMAC of the flow token, so it needs no storage.
pub fn csrf_for_flow(state: &AppState, token: &str) -> String {
    web::link_csrf(&state.config().master_key.derive("holdfast csrf v1"), token)
}

/// The cookie repeating a flow page's CSRF token, for that flow's forms
/// only; `None` for a token that cannot be a cookie's path.
pub fn flow_cookie(state: &AppState, token: &str, csrf: &str) -> Option<HeaderValue> {
    web::csrf_cookie(
        FLOW_CSRF_COOKIE,
        csrf,
        &format!("/unfreeze/{token}"),
        FLOW_CSRF_SECONDS,
        state.https(),
    )
}

/// A fresh token for the request form, and the cookie that carries it.
pub fn request_form_token(state: &AppState) -> anyhow::Result<(String, HeaderValue)> {
    web::fresh_form_token(CSRF_COOKIE, "/unfreeze", state.https())
}

/// Answers a form naming an account (the unfreeze request, the holder's
/// report) after its CSRF and origin checks: `accept` is told of the account
/// and every holder sees the same `sent` page, so the answer never says
/// whether the account exists. `cookie` carries the form's token.
pub(crate) async fn account_form_post(
    state: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    cookie: &str,
    accept: impl AsyncFnOnce(AccountId),
    sent: fn(Lang) -> Markup,
) -> Response {
    let lang = Lang::pick(form, headers);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if !web::fresh_form_allowed(state.public_url(), headers, cookie, field("csrf")) {
        return html_response(StatusCode::FORBIDDEN, views::refused(lang));
    }
    // An unusable ID gets the same answer as an unknown account.
    if let Ok(account_id) = AccountId::parse(field("account_id").trim()) {
        accept(account_id).await;
    }
    html_response(StatusCode::ACCEPTED, sent(lang))
}

/// A holder's page under a link (a flow's, a case's, a lock's): the link's
/// token, the page's language (`?lang=`, then `Accept-Language`) and its query.
pub struct LinkPage {
    pub token: String,
    pub lang: Lang,
    pub query: HashMap<String, String>,
}

impl FromRequestParts<AppState> for LinkPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path(token) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Query(query) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let lang = Lang::pick(&query, &parts.headers);
        Ok(LinkPage { token, lang, query })
    }
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
