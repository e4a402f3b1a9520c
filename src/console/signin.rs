//! Signing in to the console and out of it.
//!
//! Sign-in goes through [`auth::sign_in`], the function behind
//! `POST /v1/auth/login`: the same per-client limit, lockout after five
//! failures, TOTP replay protection and audit entries. The session it opens
//! is carried by the console's cookie ([`guard::cookie`]).
//!
//! **Login CSRF.** There is no session yet to bind a token to, so the form
//! carries a random token that a short-lived cookie repeats (double submit).
//! A post is refused (`403`, nothing checked) unless it carries both and
//! they match, and unless its origin is Holdfast's own
//! ([`web::same_origin`]: no other site, no opaque `null` origin): either
//! check alone would let another site sign a browser in to an attacker's
//! account in some browser. Scripts sign in through `POST /v1/auth/login`.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;

use super::guard::{self, ConsoleForm};
use super::views;
use crate::auth::{self, ClientAddress, Touch};
use crate::edge::error::{ApiError, ProblemKind};
use crate::edge::l10n::Text;
use crate::edge::web::{self, Lang, constant_time_eq, html_response};
use crate::platform::crypto;
use crate::state::AppState;

/// How long the sign-in form's token lives.
const FORM_TOKEN_SECONDS: u64 = 3600;

fn form_cookie_name(state: &AppState) -> &'static str {
    if state.https() {
        "__Host-holdfast_login"
    } else {
        "holdfast_login"
    }
}

/// The sign-in form; an agent already signed in goes to the queue.
pub async fn form(
    State(state): State<AppState>,
    client: ClientAddress,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = guard::lang(&query, &headers);
    if let Some(token) = web::cookie(&headers, guard::session_cookie_name(&state))
        && auth::agent_for_session_token(&state, &token, Touch::No, client)
            .await
            .is_ok()
    {
        return Ok(Redirect::to("/console/").into_response());
    }
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(crypto::random_bytes::<16>().map_err(anyhow::Error::from)?);
    let page = html_response(StatusCode::OK, views::signin::page(lang, &token, "", None));
    let cookie = guard::cookie(&state, form_cookie_name(&state), &token, Some(FORM_TOKEN_SECONDS));
    Ok(guard::with_cookie(page, cookie))
}

/// Signs in and answers `303` to the queue; a refusal shows the form again
/// with the reason.
#[tracing::instrument(skip_all)]
pub async fn submit(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let lang = guard::lang(&query, &headers);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let submitted = field("csrf");
    let token_ok = web::cookie(&headers, form_cookie_name(&state))
        .is_some_and(|expected| !expected.is_empty() && constant_time_eq(&expected, submitted));
    if !token_ok || !web::same_origin(state.public_url(), &headers) {
        return html_response(StatusCode::FORBIDDEN, views::refused(lang));
    }
    let username = field("username").trim();
    let again = |status: StatusCode, message: String| {
        html_response(status, views::signin::page(lang, submitted, username, Some(&message)))
    };
    if username.is_empty() || field("password").is_empty() || field("otp").trim().is_empty() {
        let t = Text::of(lang);
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            t.get("signin-fill-every-field").to_owned(),
        );
    }
    match auth::sign_in(&state, &client, username, field("password"), field("otp")).await {
        Ok(signed_in) => {
            let cookie = guard::cookie(&state, guard::session_cookie_name(&state), &signed_in.token, None);
            let spent = guard::cookie(&state, form_cookie_name(&state), "", Some(0));
            let response = guard::with_cookie(Redirect::to("/console/").into_response(), cookie);
            guard::with_cookie(response, spent)
        }
        Err(error) => again(error.status(), refusal(lang, &error)),
    }
}

/// Why a sign-in was refused, in words an agent can act on.
fn refusal(lang: Lang, error: &ApiError) -> String {
    let t = Text::of(lang);
    match error {
        ApiError::Locked { retry_after } => t.with("signin-locked", [("minutes", retry_after.div_ceil(60).into())]),
        ApiError::Unauthorized {
            kind: ProblemKind::OtpReplayed,
            ..
        } => t.get("code-replayed").to_owned(),
        ApiError::Unauthorized { .. } => t.get("signin-wrong").to_owned(),
        ApiError::TooManyRequests { .. } => t.get("too-many").to_owned(),
        other => views::problem_message(lang, other),
    }
}

/// Signs the session out and forgets its cookie.
#[tracing::instrument(skip_all, fields(agent = %form.agent.username))]
pub async fn sign_out(State(state): State<AppState>, form: ConsoleForm) -> Response {
    if let Err(error) = auth::sign_out(&state, &form.agent).await {
        return guard::error_page(form.lang, &error);
    }
    let forget = guard::cookie(&state, guard::session_cookie_name(&state), "", Some(0));
    guard::with_cookie(Redirect::to(guard::LOGIN_PATH).into_response(), forget)
}
