//! The unfreeze flow as web pages: plain HTML forms that work without
//! JavaScript, in English and Korean, for a holder who is probably anxious
//! and on a phone. A second adapter over the same flow functions as the JSON
//! API ([`super::flow`]); its words live in `locales/<lang>/holder.ftl`
//! (read through [`crate::edge::l10n`]), its markup in
//! [`views`], its CSRF and origin checks in [`guard`].

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, middleware};

use super::error::HolderError;
use super::flow;
use super::link;
use super::status::{self, FlowStatus};
use crate::auth::ClientAddress;
use crate::domain::unfreeze::{Answer, StepError};
use crate::edge::error::ApiError;
use crate::edge::http::Routes;
use crate::edge::l10n::Text;
use crate::edge::web::{Lang, html_response};
use crate::state::AppState;

pub mod guard;
pub mod views;

use guard::{FlowForm, LinkPage};

pub fn routes(state: AppState) -> Routes {
    Routes::new()
        .get("/unfreeze", request_page)
        .post("/unfreeze", request_submit)
        .get("/unfreeze/assets/style.css", stylesheet)
        .get("/unfreeze/{token}", flow_page)
        .post("/unfreeze/{token}/code", code_submit)
        .post("/unfreeze/{token}/resend", resend_submit)
        .post("/unfreeze/{token}/second-factor", second_factor_submit)
        .post("/unfreeze/{token}/activity", activity_submit)
        .layer(middleware::from_fn_with_state(
            state,
            crate::edge::web::no_script_headers,
        ))
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("web/style.css"),
    )
        .into_response()
}

async fn request_page(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = Lang::pick(&query, &headers);
    let (csrf, cookie) = guard::request_form_token(&state)?;
    let page = html_response(StatusCode::OK, views::request_form(lang, &csrf));
    Ok(guard::with_cookie(page, cookie))
}

#[tracing::instrument(skip_all)]
async fn request_submit(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let accept = async |account_id| link::accept_link_request(&state, &account_id, &client).await;
    guard::account_form_post(&state, &headers, &form, guard::CSRF_COOKIE, accept, views::link_sent).await
}

#[tracing::instrument(skip_all)]
async fn flow_page(State(state): State<AppState>, LinkPage { token, lang, .. }: LinkPage) -> Response {
    match status::status(&state, &token).await {
        Ok(status) => show_flow(&state, lang, &token, &status, None, StatusCode::OK),
        Err(error) => error_page(lang, error),
    }
}

fn show_flow(
    state: &AppState,
    lang: Lang,
    token: &str,
    status: &FlowStatus,
    error: Option<String>,
    code: StatusCode,
) -> Response {
    let csrf = guard::csrf_for_flow(state, token);
    let page = html_response(code, views::flow(lang, token, &csrf, status, error));
    match guard::flow_cookie(state, token, &csrf) {
        Some(cookie) => guard::with_cookie(page, cookie),
        None => page,
    }
}

fn error_page(lang: Lang, error: HolderError) -> Response {
    let t = Text::of(lang);
    let (status, heading, body) = match error {
        HolderError::UnknownLink => (
            StatusCode::NOT_FOUND,
            t.get("holder-invalid-link-heading"),
            t.get("holder-invalid-link-body"),
        ),
        HolderError::Expired => (
            StatusCode::GONE,
            t.get("holder-expired-heading"),
            t.get("holder-expired-body"),
        ),
        HolderError::Other(error) => {
            tracing::error!(error = format!("{error:#}"), "the unfreeze page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                t.get("holder-title"),
                t.get("holder-unavailable"),
            )
        }
        _ => (StatusCode::CONFLICT, t.get("holder-title"), t.get("holder-not-now")),
    };
    html_response(status, views::problem(lang, heading, body))
}

/// The outcome of a form post: back to the flow page (303), or the page again
/// with the error announced.
async fn after_step(state: &AppState, lang: Lang, token: &str, result: Result<FlowStatus, HolderError>) -> Response {
    let t = Text::of(lang);
    let message = match result {
        Ok(_) => return Redirect::to(&format!("/unfreeze/{token}?lang={}", lang.code())).into_response(),
        Err(HolderError::Step(StepError::Wrong { tries_left })) => {
            t.with("holder-wrong-code", [("tries", tries_left.into())])
        }
        Err(HolderError::Step(StepError::CodeExpired)) => t.get("holder-code-expired").to_owned(),
        Err(HolderError::ExchangeUnavailable) => t.get("holder-unavailable").to_owned(),
        Err(HolderError::Answers(_)) => t.get("holder-answer-every").to_owned(),
        Err(HolderError::Step(StepError::Locked)) => {
            return Redirect::to(&format!("/unfreeze/{token}?lang={}", lang.code())).into_response();
        }
        Err(other @ (HolderError::UnknownLink | HolderError::Expired | HolderError::Other(_))) => {
            return error_page(lang, other);
        }
        Err(HolderError::Step(_)) => t.get("holder-not-now").to_owned(),
    };
    match status::status(state, token).await {
        Ok(status) => show_flow(
            state,
            lang,
            token,
            &status,
            Some(message),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(error) => error_page(lang, error),
    }
}

#[tracing::instrument(skip_all)]
async fn code_submit(State(state): State<AppState>, form: FlowForm) -> Response {
    let result = flow::enter_code(&state, &form.token, form.field("code")).await;
    after_step(&state, form.lang, &form.token, result).await
}

#[tracing::instrument(skip_all)]
async fn resend_submit(State(state): State<AppState>, form: FlowForm) -> Response {
    let result = flow::resend_code(&state, &form.token).await;
    after_step(&state, form.lang, &form.token, result).await
}

#[tracing::instrument(skip_all)]
async fn second_factor_submit(State(state): State<AppState>, form: FlowForm) -> Response {
    let result = flow::enter_second_factor(&state, &form.token, form.field("code")).await;
    after_step(&state, form.lang, &form.token, result).await
}

#[tracing::instrument(skip_all)]
async fn activity_submit(State(state): State<AppState>, form: FlowForm) -> Response {
    let answers: Vec<Answer> = form
        .fields
        .iter()
        .filter_map(|(key, value)| {
            let alert_id = key.strip_prefix("answer:")?;
            Some(Answer {
                alert_id: alert_id.to_owned(),
                mine: value == "mine",
            })
        })
        .collect();
    let result = flow::answer_activities(&state, &form.token, answers).await;
    after_step(&state, form.lang, &form.token, result).await
}
