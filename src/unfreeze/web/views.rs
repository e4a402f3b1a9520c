//! The holder's pages as markup: pure functions of what they show, so they
//! are tested without a server.

use maud::{Markup, PreEscaped, html};

use super::text;
use crate::domain::unfreeze::FlowState;
use crate::unfreeze::status::FlowStatus;
use crate::web::{self, Lang};

/// The holder pages' document: the shared one, with the safety reminder below.
pub fn page(lang: Lang, title: &str, body: Markup) -> Markup {
    let t = text::of(lang);
    web::document(lang, title, STYLESHEET, body, html! { footer { p { (t.safety) } } })
}

/// Where the holder pages' stylesheet is served.
pub const STYLESHEET: &str = "/unfreeze/assets/style.css";

/// The form asking for a link.
pub fn request_form(lang: Lang, csrf: &str) -> Markup {
    let t = text::of(lang);
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
    page(lang, t.title, body)
}

/// The same answer for every account: the link is on its way if it is frozen.
pub fn link_sent(lang: Lang) -> Markup {
    let t = text::of(lang);
    page(
        lang,
        t.sent_heading,
        html! { h1 { (t.sent_heading) } p { (t.sent_body) } },
    )
}

/// A page saying why the flow cannot be shown, with a way to start again.
pub fn problem(lang: Lang, heading: &str, body: &str) -> Markup {
    let t = text::of(lang);
    page(
        lang,
        heading,
        html! { h1 { (heading) } p { (body) } p { a href={ "/unfreeze?lang=" (lang.code()) } { (t.new_request) } } },
    )
}

/// A refused form post (a bad CSRF token or a foreign origin).
pub fn refused(lang: Lang) -> Markup {
    let t = text::of(lang);
    page(
        lang,
        t.title,
        html! { h1 { (t.invalid_link_heading) } p { (t.invalid_link_body) } },
    )
}

/// Too many steps from one address.
pub fn too_many(lang: Lang) -> Markup {
    let t = text::of(lang);
    page(lang, t.title, html! { p role="alert" { (t.too_many) } })
}

/// The page for the flow's current state, with an error to announce if any.
pub fn flow(lang: Lang, token: &str, csrf: &str, status: &FlowStatus, error: Option<String>) -> Markup {
    let t = text::of(lang);
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
            FlowState::AwaitingActivityReview if status.answers.is_some() => {
                h1 { (t.unfreezing_heading) }
                p { (t.unfreezing_body) }
                p { a href={ "/unfreeze/" (token) "?lang=" (lang.code()) } { (t.refresh) } }
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
