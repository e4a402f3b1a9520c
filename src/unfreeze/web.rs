//! The unfreeze flow as web pages: plain HTML forms that work without
//! JavaScript, in English and Korean, for a holder who is probably anxious
//! and on a phone.
//!
//! Every page is sent with a strict Content-Security-Policy (no scripts at
//! all), `Cache-Control: no-store`, `Referrer-Policy: no-referrer` (the URL
//! holds the flow token), `X-Content-Type-Options: nosniff`, framing denied,
//! and HSTS when Holdfast is reached over HTTPS. Forms carry a CSRF token:
//! derived from the flow for flow pages, a double-submit cookie for the
//! request form; a POST whose `Origin` is not Holdfast's own is refused.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use ring::hmac;

use super::{FlowStatus, HolderError};
use crate::app::AppState;
use crate::auth::ClientAddress;
use crate::crypto;
use crate::domain::unfreeze::{Answer, FlowState};
use crate::error::ApiError;
use crate::http::Routes;
use crate::pages::{Lang, security_headers};

const CSRF_COOKIE: &str = "hf_csrf";

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
        .layer(middleware::from_fn_with_state(state, security_headers))
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("style.css"),
    )
        .into_response()
}

// --- Language ---------------------------------------------------------------

impl Lang {
    fn t(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Ko => &KO,
        }
    }
}

/// Every sentence the pages show, in one language.
struct Texts {
    title: &'static str,
    request_heading: &'static str,
    request_intro: &'static str,
    account_label: &'static str,
    account_help: &'static str,
    request_button: &'static str,
    sent_heading: &'static str,
    sent_body: &'static str,
    progress: &'static str,
    step_names: [&'static str; 4],
    step_done: &'static str,
    step_current: &'static str,
    code_heading: &'static str,
    code_intro: &'static str,
    code_label: &'static str,
    code_help: &'static str,
    code_button: &'static str,
    resend_button: &'static str,
    second_factor_heading: &'static str,
    second_factor_intro: &'static str,
    second_factor_label: &'static str,
    second_factor_button: &'static str,
    activity_heading: &'static str,
    activity_intro: &'static str,
    mine: &'static str,
    not_mine: &'static str,
    activity_button: &'static str,
    in_review_heading: &'static str,
    in_review_body: &'static str,
    queue_position: &'static str,
    estimated_wait: &'static str,
    minutes: &'static str,
    refresh: &'static str,
    unfrozen_heading: &'static str,
    unfrozen_body: &'static str,
    rejected_heading: &'static str,
    reason: &'static str,
    locked_heading: &'static str,
    locked_body: &'static str,
    expired_heading: &'static str,
    expired_body: &'static str,
    new_request: &'static str,
    expires: &'static str,
    invalid_link_heading: &'static str,
    invalid_link_body: &'static str,
    wrong_code: &'static str,
    tries_left: &'static str,
    code_expired: &'static str,
    unavailable: &'static str,
    answer_every: &'static str,
    not_now: &'static str,
    too_many: &'static str,
    other_language: &'static str,
    other_language_code: &'static str,
    safety: &'static str,
}

const EN: Texts = Texts {
    title: "Unfreeze your account",
    request_heading: "Get your account back",
    request_intro: "We froze your account because we saw activity that may not have been yours. \
                    Enter your account ID and we will send a secure link to your registered contact.",
    account_label: "Account ID",
    account_help: "It is shown in your account settings, for example acct-8842.",
    request_button: "Send me the link",
    sent_heading: "Check your messages",
    sent_body: "If this account is frozen, a link to unfreeze it is on its way to its registered contact. \
                The link works for 24 hours.",
    progress: "Your progress",
    step_names: [
        "Confirm the code we sent you",
        "Confirm your 2-step code",
        "Review the flagged activity",
        "Account unfrozen",
    ],
    step_done: "done",
    step_current: "current step",
    code_heading: "Enter the code we sent you",
    code_intro: "We sent a 6-digit code to your registered contact. It is valid for 10 minutes.",
    code_label: "6-digit code",
    code_help: "Digits only, no spaces.",
    code_button: "Confirm code",
    resend_button: "Send a new code",
    second_factor_heading: "Enter your 2-step code",
    second_factor_intro: "Open the authenticator app you use for this account and enter the code it shows.",
    second_factor_label: "2-step code",
    second_factor_button: "Confirm",
    activity_heading: "Was this you?",
    activity_intro: "Tell us about each activity we flagged. Your answers decide how fast we can unfreeze your account.",
    mine: "Yes, this was me",
    not_mine: "No, this was not me",
    activity_button: "Send my answers",
    in_review_heading: "A security specialist is reviewing your request",
    in_review_body: "You do not need to do anything else. We will message you as soon as there is a decision.",
    queue_position: "Your place in the queue",
    estimated_wait: "Estimated wait",
    minutes: "minutes",
    refresh: "Refresh status",
    unfrozen_heading: "Your account is unfrozen",
    unfrozen_body: "You can sign in again. For your safety, withdrawals stay paused for 24 hours, and every device was signed out.",
    rejected_heading: "We could not unfreeze your account",
    reason: "Reason",
    locked_heading: "This request is locked",
    locked_body: "Too many wrong codes were entered. Wait an hour, then ask for a new link.",
    expired_heading: "This request has expired",
    expired_body: "Requests stay open for 24 hours. Ask for a new link to start again.",
    new_request: "Ask for a new link",
    expires: "This link works until",
    invalid_link_heading: "This link does not work",
    invalid_link_body: "It may have been replaced by a newer link. Use the most recent message we sent, or ask for a new link.",
    wrong_code: "That code is not right.",
    tries_left: "Tries left:",
    code_expired: "That code has expired. Send a new code and try again.",
    unavailable: "We could not check your code right now. Nothing was counted; please try again in a moment.",
    answer_every: "Please answer every activity.",
    not_now: "This step is already done.",
    too_many: "Too many attempts. Please wait a moment and try again.",
    other_language: "한국어",
    other_language_code: "ko",
    safety: "We will never ask for your password or your 2-step code by phone or e-mail.",
};

const KO: Texts = Texts {
    title: "계정 동결 해제",
    request_heading: "계정을 되찾으세요",
    request_intro: "본인이 아닐 수 있는 활동이 확인되어 계정을 동결했습니다. \
                    계정 ID를 입력하시면 등록된 연락처로 보안 링크를 보내드립니다.",
    account_label: "계정 ID",
    account_help: "계정 설정에서 확인할 수 있습니다. 예: acct-8842",
    request_button: "링크 보내기",
    sent_heading: "메시지를 확인하세요",
    sent_body: "이 계정이 동결된 경우, 등록된 연락처로 동결 해제 링크를 보내드렸습니다. 링크는 24시간 동안 유효합니다.",
    progress: "진행 상황",
    step_names: [
        "받으신 코드 확인",
        "2단계 인증 코드 확인",
        "의심 활동 확인",
        "동결 해제 완료",
    ],
    step_done: "완료",
    step_current: "현재 단계",
    code_heading: "받으신 코드를 입력하세요",
    code_intro: "등록된 연락처로 6자리 코드를 보냈습니다. 코드는 10분 동안 유효합니다.",
    code_label: "6자리 코드",
    code_help: "숫자만 입력하세요. 공백 없이.",
    code_button: "코드 확인",
    resend_button: "새 코드 받기",
    second_factor_heading: "2단계 인증 코드를 입력하세요",
    second_factor_intro: "이 계정에 사용하는 인증 앱을 열고 표시된 코드를 입력하세요.",
    second_factor_label: "2단계 인증 코드",
    second_factor_button: "확인",
    activity_heading: "본인이 하신 활동인가요?",
    activity_intro: "확인된 각 활동에 대해 알려주세요. 답변에 따라 동결 해제 속도가 달라집니다.",
    mine: "네, 제가 했습니다",
    not_mine: "아니요, 제가 하지 않았습니다",
    activity_button: "답변 보내기",
    in_review_heading: "보안 담당자가 요청을 검토하고 있습니다",
    in_review_body: "더 하실 일은 없습니다. 결정이 나는 대로 메시지로 알려드리겠습니다.",
    queue_position: "대기 순번",
    estimated_wait: "예상 대기 시간",
    minutes: "분",
    refresh: "상태 새로고침",
    unfrozen_heading: "계정 동결이 해제되었습니다",
    unfrozen_body: "다시 로그인하실 수 있습니다. 안전을 위해 출금은 24시간 동안 보류되며, 모든 기기에서 로그아웃되었습니다.",
    rejected_heading: "계정 동결을 해제할 수 없었습니다",
    reason: "사유",
    locked_heading: "이 요청은 잠겼습니다",
    locked_body: "잘못된 코드가 너무 많이 입력되었습니다. 한 시간 후 새 링크를 요청하세요.",
    expired_heading: "이 요청은 만료되었습니다",
    expired_body: "요청은 24시간 동안 유효합니다. 새 링크를 요청하여 다시 시작하세요.",
    new_request: "새 링크 요청",
    expires: "이 링크의 유효 기한",
    invalid_link_heading: "이 링크는 사용할 수 없습니다",
    invalid_link_body: "더 새로운 링크로 대체되었을 수 있습니다. 가장 최근 메시지의 링크를 사용하거나 새 링크를 요청하세요.",
    wrong_code: "코드가 올바르지 않습니다.",
    tries_left: "남은 시도 횟수:",
    code_expired: "코드가 만료되었습니다. 새 코드를 받아 다시 시도하세요.",
    unavailable: "지금은 코드를 확인할 수 없습니다. 시도 횟수는 차감되지 않았습니다. 잠시 후 다시 시도하세요.",
    answer_every: "모든 활동에 답해 주세요.",
    not_now: "이미 완료된 단계입니다.",
    too_many: "시도가 너무 많습니다. 잠시 후 다시 시도하세요.",
    other_language: "English",
    other_language_code: "en",
    safety: "저희는 전화나 이메일로 비밀번호나 2단계 인증 코드를 절대 묻지 않습니다.",
};

// --- CSRF -------------------------------------------------------------------

fn csrf_for_flow(state: &AppState, token: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &state.config().master_key.derive("holdfast csrf v1"));
    let tag = hmac::sign(&key, &crypto::token_hash(token));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
}

/// Compares two secrets in constant time (ring's HMAC verification).
fn constant_time_eq(a: &str, b: &str) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"holdfast form token comparison");
    hmac::verify(&key, a.as_bytes(), hmac::sign(&key, b.as_bytes()).as_ref()).is_ok()
}

/// Refuses a form post that did not come from Holdfast's own pages.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    if headers.get("sec-fetch-site").is_some_and(|v| v == "cross-site") {
        return false;
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None | Some("null") => true,
        Some(origin) => {
            let public = state.public_url();
            let public_origin = public
                .find("://")
                .and_then(|i| public[i + 3..].find('/').map(|j| &public[..i + 3 + j]))
                .unwrap_or(public);
            origin == public_origin
        }
    }
}

fn forbidden(lang: Lang) -> Response {
    let t = lang.t();
    (
        StatusCode::FORBIDDEN,
        Html(
            page(
                lang,
                t.title,
                html! { h1 { (t.invalid_link_heading) } p { (t.invalid_link_body) } },
            )
            .into_string(),
        ),
    )
        .into_response()
}

// --- Pages ------------------------------------------------------------------

fn page(lang: Lang, title: &str, body: Markup) -> Markup {
    let t = lang.t();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · Holdfast" }
                link rel="stylesheet" href="/unfreeze/assets/style.css";
            }
            body {
                header {
                    p class="brand" { "Holdfast" }
                    a class="language" href={ "?lang=" (t.other_language_code) } lang=(t.other_language_code) { (t.other_language) }
                }
                main { (body) }
                footer { p { (t.safety) } }
            }
        }
    }
}

fn html_response(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

async fn request_page(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = Lang::pick(&query, &headers);
    let t = lang.t();
    let csrf = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(crypto::random_bytes::<16>().map_err(anyhow::Error::from)?);
    let body = html! {
        h1 { (t.request_heading) }
        p { (t.request_intro) }
        form method="post" action="/unfreeze" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="lang" value=(lang.code());
            label for="account_id" { (t.account_label) }
            p id="account-help" class="help" { (t.account_help) }
            input id="account_id" name="account_id" type="text" required autocomplete="username" aria-describedby="account-help" maxlength="128";
            button type="submit" { (t.request_button) }
        }
    };
    let mut response = html_response(StatusCode::OK, page(lang, t.title, body));
    let secure = if state.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{CSRF_COOKIE}={csrf}; Path=/unfreeze; HttpOnly; SameSite=Strict; Max-Age=3600{secure}");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(anyhow::Error::from)?,
    );
    Ok(response)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

async fn request_submit(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let lang = Lang::pick(&form, &headers);
    let t = lang.t();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let csrf_ok = cookie(&headers, CSRF_COOKIE).is_some_and(|expected| constant_time_eq(&expected, field("csrf")));
    if !csrf_ok || !same_origin(&state, &headers) {
        return forbidden(lang);
    }
    let account_id = field("account_id").trim();
    // An unusable ID gets the same answer as an unknown account.
    if crate::domain::alert::AccountId::parse(account_id).is_ok() {
        super::accept_link_request(&state, account_id, &client).await;
    }
    let body = html! { h1 { (t.sent_heading) } p { (t.sent_body) } };
    html_response(StatusCode::ACCEPTED, page(lang, t.sent_heading, body))
}

async fn flow_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::pick(&query, &headers);
    let rendered = match super::status(&state, &token).await {
        Ok(status) => html_response(StatusCode::OK, flow_view(&state, lang, &token, &status, None)),
        Err(error) => error_page(lang, error),
    };
    rendered
}

fn error_page(lang: Lang, error: HolderError) -> Response {
    let t = lang.t();
    let (status, heading, body) = match error {
        HolderError::UnknownLink => (StatusCode::NOT_FOUND, t.invalid_link_heading, t.invalid_link_body),
        HolderError::Expired => (StatusCode::GONE, t.expired_heading, t.expired_body),
        HolderError::Other(error) => {
            tracing::error!(error = format!("{error:#}"), "the unfreeze page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, t.title, t.unavailable)
        }
        _ => (StatusCode::CONFLICT, t.title, t.not_now),
    };
    html_response(
        status,
        page(
            lang,
            heading,
            html! { h1 { (heading) } p { (body) } p { a href={ "/unfreeze?lang=" (lang.code()) } { (t.new_request) } } },
        ),
    )
}

/// The page for the flow's current state, with an error to announce if any.
fn flow_view(state: &AppState, lang: Lang, token: &str, status: &FlowStatus, error: Option<String>) -> Markup {
    let t = lang.t();
    let csrf = csrf_for_flow(state, token);
    let action = |step: &str| format!("/unfreeze/{token}/{step}?lang={}", lang.code());
    let error_block = |id: &str| {
        html! { @if let Some(message) = &error { p id=(id) class="error" role="alert" { (message) } } }
    };
    let invalid = error.is_some().then_some("true");
    let current = status.steps.iter().position(|s| !s.done);
    let body = html! {
        section aria-labelledby="progress-heading" {
            h2 id="progress-heading" class="visually-hidden" { (t.progress) }
            ol class="steps" {
                @for (index, step) in status.steps.iter().enumerate() {
                    @let is_current = current == Some(index) && status.state.is_live();
                    li class=(if step.done { "done" } else if is_current { "current" } else { "todo" })
                       aria-current=[is_current.then_some("step")] {
                        (t.step_names[index])
                        @if step.done { span class="visually-hidden" { " (" (t.step_done) ")" } }
                        @if is_current { span class="visually-hidden" { " (" (t.step_current) ")" } }
                    }
                }
            }
        }
        @match status.state {
            FlowState::AwaitingCode => {
                h1 { (t.code_heading) }
                p { (t.code_intro) }
                form method="post" action=(action("code")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="code" { (t.code_label) }
                    p id="code-help" class="help" { (t.code_help) }
                    (error_block("code-error"))
                    input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}"
                        maxlength="6" required aria-invalid=[invalid]
                        aria-describedby=(if error.is_some() { "code-help code-error" } else { "code-help" });
                    button type="submit" { (t.code_button) }
                }
                form method="post" action=(action("resend")) class="secondary" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" class="link" { (t.resend_button) }
                }
            }
            FlowState::AwaitingSecondFactor => {
                h1 { (t.second_factor_heading) }
                p { (t.second_factor_intro) }
                form method="post" action=(action("second-factor")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="second_factor" { (t.second_factor_label) }
                    (error_block("second-factor-error"))
                    input id="second_factor" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                        maxlength="10" required aria-invalid=[invalid]
                        aria-describedby=[error.is_some().then_some("second-factor-error")];
                    button type="submit" { (t.second_factor_button) }
                }
            }
            FlowState::AwaitingActivityReview => {
                h1 { (t.activity_heading) }
                p { (t.activity_intro) }
                (error_block("activity-error"))
                form method="post" action=(action("activity")) {
                    input type="hidden" name="csrf" value=(csrf);
                    @for (index, activity) in status.activities.iter().enumerate() {
                        fieldset {
                            legend { (activity.summary) }
                            @let name = format!("answer:{}", activity.alert_id);
                            div class="choice" {
                                input type="radio" id={ "mine-" (index) } name=(name) value="mine" required;
                                label for={ "mine-" (index) } { (t.mine) }
                            }
                            div class="choice" {
                                input type="radio" id={ "not-mine-" (index) } name=(name) value="not_mine";
                                label for={ "not-mine-" (index) } { (t.not_mine) }
                            }
                        }
                    }
                    button type="submit" { (t.activity_button) }
                }
            }
            FlowState::InReview => {
                h1 { (t.in_review_heading) }
                p { (t.in_review_body) }
                dl class="queue" aria-live="polite" {
                    dt { (t.queue_position) }
                    dd id="queue-position" { (status.queue_position.unwrap_or(1)) }
                    dt { (t.estimated_wait) }
                    dd id="estimated-wait" { (status.estimated_wait_seconds.unwrap_or(0).div_ceil(60)) " " (t.minutes) }
                }
                p { a href={ "/unfreeze/" (token) "?lang=" (lang.code()) } { (t.refresh) } }
            }
            FlowState::Unfrozen => {
                h1 id="outcome" { (t.unfrozen_heading) }
                p { (t.unfrozen_body) }
            }
            FlowState::Rejected => {
                h1 id="outcome" { (t.rejected_heading) }
                @if let Some(reason) = &status.decision_reason { p { strong { (t.reason) ": " } (reason) } }
                @if let Some(next) = &status.next_steps { p { (next) } }
            }
            FlowState::Locked => {
                h1 id="outcome" { (t.locked_heading) }
                p { (t.locked_body) }
                p { a href={ "/unfreeze?lang=" (lang.code()) } { (t.new_request) } }
            }
            FlowState::Expired => {
                h1 id="outcome" { (t.expired_heading) }
                p { (t.expired_body) }
                p { a href={ "/unfreeze?lang=" (lang.code()) } { (t.new_request) } }
            }
        }
        @if status.state.is_live() {
            p class="expires" { (t.expires) " " time datetime=(status.expires_at.to_rfc3339()) {
                (status.expires_at.as_datetime().format("%Y-%m-%d %H:%M UTC").to_string()) } }
        }
        (PreEscaped(""))
    };
    page(lang, t.title, body)
}

/// The outcome of a form post: back to the flow page (303), or the page again
/// with the error announced.
async fn after_step(state: &AppState, lang: Lang, token: &str, result: Result<FlowStatus, HolderError>) -> Response {
    let t = lang.t();
    let message = match result {
        Ok(_) => return Redirect::to(&format!("/unfreeze/{token}?lang={}", lang.code())).into_response(),
        Err(HolderError::Step(crate::domain::unfreeze::StepError::Wrong { tries_left })) => {
            format!("{} {} {tries_left}", t.wrong_code, t.tries_left)
        }
        Err(HolderError::Step(crate::domain::unfreeze::StepError::CodeExpired)) => t.code_expired.to_owned(),
        Err(HolderError::ExchangeUnavailable) => t.unavailable.to_owned(),
        Err(HolderError::Answers(_)) => t.answer_every.to_owned(),
        Err(HolderError::Step(crate::domain::unfreeze::StepError::Locked)) => {
            return Redirect::to(&format!("/unfreeze/{token}?lang={}", lang.code())).into_response();
        }
        Err(other @ (HolderError::UnknownLink | HolderError::Expired | HolderError::Other(_))) => {
            return error_page(lang, other);
        }
        Err(HolderError::Step(_)) => t.not_now.to_owned(),
    };
    match super::status(state, token).await {
        Ok(status) => html_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            flow_view(state, lang, token, &status, Some(message)),
        ),
        Err(error) => error_page(lang, error),
    }
}

/// A holder's form post on a flow page, already checked: its CSRF token, that
/// it came from Holdfast's own page, and the per-address rate limit.
struct FlowForm {
    token: String,
    lang: Lang,
    fields: HashMap<String, String>,
}

impl FlowForm {
    fn field(&self, name: &str) -> &str {
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
        let t = lang.t();
        if !constant_time_eq(
            fields.get("csrf").map(String::as_str).unwrap_or(""),
            &csrf_for_flow(state, &token),
        ) || !same_origin(state, &headers)
        {
            return Err(forbidden(lang));
        }
        if state
            .shared()
            .check(crate::shared::Limit::HolderSteps, &client)
            .await
            .is_err()
        {
            return Err(html_response(
                StatusCode::TOO_MANY_REQUESTS,
                page(lang, t.title, html! { p role="alert" { (t.too_many) } }),
            ));
        }
        Ok(FlowForm { token, lang, fields })
    }
}

async fn code_submit(State(state): State<AppState>, form: FlowForm) -> Response {
    let result = super::enter_code(&state, &form.token, form.field("code")).await;
    after_step(&state, form.lang, &form.token, result).await
}

async fn resend_submit(State(state): State<AppState>, form: FlowForm) -> Response {
    let result = super::resend_code(&state, &form.token).await;
    after_step(&state, form.lang, &form.token, result).await
}

async fn second_factor_submit(State(state): State<AppState>, form: FlowForm) -> Response {
    let result = super::enter_second_factor(&state, &form.token, form.field("code")).await;
    after_step(&state, form.lang, &form.token, result).await
}

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
    let result = super::answer_activities(&state, &form.token, answers).await;
    after_step(&state, form.lang, &form.token, result).await
}
