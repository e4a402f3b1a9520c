//! The holder's case as web pages: plain HTML forms that work without
//! JavaScript, in English and Korean (`?lang=`, then `Accept-Language`), in
//! the unfreeze pages' shell. A second adapter over the same functions as
//! the JSON API; its words live in `locales/<lang>/holder.ftl`, its markup
//! in [`views`], its CSRF checks in [`guard`]. Every change answers `303`.
//!
//! An unknown or expired link answers a bare `404`, as any unknown path.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, middleware};

use super::case::{self, CaseError};
use super::{messages, protect, report, satisfaction};
use crate::auth::ClientAddress;
use crate::domain::case::IssuedAs;
use crate::edge::http::Routes;
use crate::edge::l10n::Text;
use crate::edge::web::{Lang, html_response};
use crate::platform::crypto::token_hash;
use crate::state::AppState;
use crate::unfreeze::web::guard::{LinkPage, account_form_post};

pub mod guard;
pub mod views;

use guard::LinkForm;
use views::Done;

pub fn routes(state: AppState) -> Routes {
    Routes::new()
        .get("/holder/cases/{case_token}", case_page)
        .get("/holder/cases/{case_token}/not-me", not_me_page)
        .post("/holder/cases/{case_token}/not-me", not_me_submit)
        .post("/holder/cases/{case_token}/was-me", was_me_submit)
        .post("/holder/cases/{case_token}/messages", message_submit)
        .post("/holder/cases/{case_token}/satisfaction", rating_submit)
        .get("/holder/report", report_page)
        .post("/holder/report", report_submit)
        .get("/holder/lock/{lock_token}", lock_page)
        .post("/holder/lock/{lock_token}", lock_submit)
        .get("/holder/flows/{flow_token}/case", case_of_flow)
        .layer(middleware::from_fn_with_state(
            state,
            crate::edge::web::no_script_headers,
        ))
}

fn case_path(token: &str) -> String {
    format!("/holder/cases/{token}")
}

fn to_case(token: &str, lang: Lang, done: Option<Done>) -> Response {
    let done = done.map(|done| format!("&done={}", done.code())).unwrap_or_default();
    Redirect::to(&format!("{}?lang={}{done}", case_path(token), lang.code())).into_response()
}

fn failed(lang: Lang, error: CaseError) -> Response {
    match error {
        CaseError::Unknown => StatusCode::NOT_FOUND.into_response(),
        CaseError::Other(error) => {
            tracing::error!(error = format!("{error:#}"), "a holder's case page failed");
            let t = Text::of(lang);
            html_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                views::page(
                    lang,
                    t.get("case-title"),
                    maud::html! { p { (t.get("holder-unavailable")) } },
                ),
            )
        }
        _ => StatusCode::CONFLICT.into_response(),
    }
}

async fn show_case(
    state: &AppState,
    lang: Lang,
    token: &str,
    done: Option<Done>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let view = match case::open(state, token).await {
        Ok(open) => case::view(state, &open.incident).await,
        Err(error) => Err(error),
    };
    match view {
        Ok(view) => {
            let csrf = guard::csrf_for_link(state, token);
            let page = html_response(status, views::case(lang, token, &csrf, &view, done, error));
            with_link_cookie(state, page, &case_path(token), &csrf)
        }
        Err(error) => failed(lang, error),
    }
}

fn with_link_cookie(state: &AppState, mut page: Response, path: &str, csrf: &str) -> Response {
    if let Some(cookie) = guard::link_cookie(state, path, csrf) {
        page.headers_mut().insert(axum::http::header::SET_COOKIE, cookie);
    }
    page
}

#[tracing::instrument(skip_all)]
async fn case_page(State(state): State<AppState>, LinkPage { token, lang, query }: LinkPage) -> Response {
    let done = query.get("done").and_then(|code| Done::parse(code));
    show_case(&state, lang, &token, done, None, StatusCode::OK).await
}

/// Mail gateways fetch links: showing the button changes nothing.
#[tracing::instrument(skip_all)]
async fn not_me_page(State(state): State<AppState>, LinkPage { token, lang, .. }: LinkPage) -> Response {
    if let Err(error) = case::open(&state, &token).await {
        return failed(lang, error);
    }
    let csrf = guard::csrf_for_link(&state, &token);
    let page = html_response(StatusCode::OK, views::not_me(lang, &token, &csrf));
    with_link_cookie(&state, page, &case_path(&token), &csrf)
}

#[tracing::instrument(skip_all)]
async fn not_me_submit(State(state): State<AppState>, form: LinkForm) -> Response {
    let result = async {
        let open = case::open(&state, &form.token).await?;
        protect::not_me(&state, &open.incident.id, open.token.issued_as).await
    };
    match result.await {
        Ok(protected) => {
            let token = protected.new_token.as_deref().unwrap_or(&form.token);
            to_case(token, form.lang, Some(Done::NotMe))
        }
        Err(error) => failed(form.lang, error),
    }
}

#[tracing::instrument(skip_all)]
async fn was_me_submit(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    form: LinkForm,
) -> Response {
    let result = async {
        let open = case::open(&state, &form.token).await?;
        protect::was_me(&state, &open.incident, &client).await
    };
    match result.await {
        Ok(()) => to_case(&form.token, form.lang, Some(Done::WasMe)),
        Err(error) => failed(form.lang, error),
    }
}

/// After a refused message or rating: the page again, the reason announced.
async fn refused_input(state: &AppState, form: &LinkForm, error: CaseError) -> Response {
    let t = Text::of(form.lang);
    let (message, status) = match error {
        CaseError::Invalid("comment", _) => (t.get("case-comment-invalid"), StatusCode::UNPROCESSABLE_ENTITY),
        CaseError::Invalid(..) => (t.get("case-message-invalid"), StatusCode::UNPROCESSABLE_ENTITY),
        CaseError::TooMany => (t.get("holder-too-many"), StatusCode::TOO_MANY_REQUESTS),
        CaseError::Ended | CaseError::NotEnded | CaseError::AlreadyAnswered => {
            (t.get("holder-not-now"), StatusCode::CONFLICT)
        }
        other => return failed(form.lang, other),
    };
    show_case(state, form.lang, &form.token, None, Some(message.to_owned()), status).await
}

#[tracing::instrument(skip_all)]
async fn message_submit(State(state): State<AppState>, form: LinkForm) -> Response {
    let result = async {
        let open = case::open(&state, &form.token).await?;
        messages::holder_writes(&state, &open.incident, form.field("body")).await
    };
    match result.await {
        Ok(()) => to_case(&form.token, form.lang, Some(Done::Message)),
        Err(error) => refused_input(&state, &form, error).await,
    }
}

#[tracing::instrument(skip_all)]
async fn rating_submit(State(state): State<AppState>, form: LinkForm) -> Response {
    let score = match form.field("score").parse::<u8>() {
        Ok(score @ 1..=5) => score,
        _ => return refused_input(&state, &form, CaseError::Invalid("score", String::new())).await,
    };
    let comment = Some(form.field("comment").trim()).filter(|text| !text.is_empty());
    let result = async {
        let open = case::open(&state, &form.token).await?;
        satisfaction::answer(&state, &open.incident, score, comment).await
    };
    match result.await {
        Ok(()) => to_case(&form.token, form.lang, Some(Done::Rated)),
        Err(error) => refused_input(&state, &form, error).await,
    }
}

async fn report_page(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::pick(&query, &headers);
    match guard::report_form_token(&state) {
        Ok((csrf, cookie)) => {
            let mut page = html_response(StatusCode::OK, views::report_form(lang, &csrf));
            page.headers_mut().insert(axum::http::header::SET_COOKIE, cookie);
            page
        }
        Err(error) => failed(lang, CaseError::Other(error)),
    }
}

#[tracing::instrument(skip_all)]
async fn report_submit(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let accept = async |account_id| report::accept_report(&state, &account_id, &client).await;
    account_form_post(
        &state,
        &headers,
        &form,
        guard::REPORT_CSRF_COOKIE,
        accept,
        views::report_sent,
    )
    .await
}

fn lock_path(token: &str) -> String {
    format!("/holder/lock/{token}")
}

#[tracing::instrument(skip_all)]
async fn lock_page(State(state): State<AppState>, LinkPage { token, lang, .. }: LinkPage) -> Response {
    let now = state.clock().now();
    match state.db().lock_link_account(&token_hash(&token), now).await {
        Ok(Some(_)) => {
            let csrf = guard::csrf_for_link(&state, &token);
            let page = html_response(StatusCode::OK, views::lock(lang, &token, &csrf));
            with_link_cookie(&state, page, &lock_path(&token), &csrf)
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => failed(lang, CaseError::from(error)),
    }
}

/// The lock link's one button: used up, the account frozen.
#[tracing::instrument(skip_all)]
async fn lock_submit(State(state): State<AppState>, form: LinkForm) -> Response {
    let result = async {
        let now = state.clock().now();
        let mut tx = state.db().begin().await?;
        let account_id = tx
            .use_lock_link(&token_hash(&form.token), now)
            .await?
            .ok_or(CaseError::Unknown)?;
        state.commit(tx).await?;
        protect::lock(&state, &account_id, IssuedAs::LockLink).await
    };
    match result.await {
        Ok((_, case_token)) => to_case(&case_token, form.lang, Some(Done::NotMe)),
        Err(error) => failed(form.lang, error),
    }
}

/// From the unfreeze page to the case of its incident (the latest case link).
#[tracing::instrument(skip_all)]
async fn case_of_flow(
    State(state): State<AppState>,
    Path(flow_token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::pick(&query, &headers);
    let result = async {
        let flow = state
            .db()
            .flow_by_token(&token_hash(&flow_token))
            .await?
            .ok_or(CaseError::Unknown)?;
        let mut tx = state.db().begin().await?;
        let token = crate::notices::latest_token(&mut tx, &state.links(), &flow.incident_id).await?;
        drop(tx);
        token.ok_or(CaseError::Unknown)
    };
    match result.await {
        Ok(token) => to_case(&token, lang, None),
        Err(error) => failed(lang, error),
    }
}
