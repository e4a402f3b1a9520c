//! The holder's pages as markup: pure functions of what they show, so they
//! are tested without a server.

use maud::{Markup, PreEscaped, html};

use crate::domain::unfreeze::FlowState;
use crate::edge::l10n::Text;
use crate::edge::web::{self, Lang};
use crate::unfreeze::status::FlowStatus;

/// The holder pages' document: the shared one, with the safety reminder below.
pub fn page(lang: Lang, title: &str, body: Markup) -> Markup {
    let t = Text::of(lang);
    web::document(
        lang,
        title,
        web::PUBLIC_STYLESHEET,
        body,
        html! { footer { p { (t.get("holder-safety")) } } },
    )
}

/// The form asking for a link.
pub fn request_form(lang: Lang, csrf: &str) -> Markup {
    let t = Text::of(lang);
    let body = html! {
        h1 { (t.get("holder-request-heading")) }
        p { (t.get("holder-request-intro")) }
        form method="post" action="/unfreeze" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="lang" value=(lang.code());
            label for="account_id" { (t.get("holder-account-label")) }
            p id="account-help" class="help" { (t.get("holder-account-help")) }
            input id="account_id" name="account_id" type="text" required autocomplete="username" aria-describedby="account-help" maxlength="128";
            button type="submit" { (t.get("holder-request-button")) }
        }
    };
    page(lang, t.get("holder-title"), body)
}

/// The same answer for every account: the link is on its way if it is frozen.
pub fn link_sent(lang: Lang) -> Markup {
    let t = Text::of(lang);
    page(
        lang,
        t.get("holder-sent-heading"),
        html! { h1 { (t.get("holder-sent-heading")) } p { (t.get("holder-sent-body")) } },
    )
}

/// A page saying why the flow cannot be shown, with a way to start again.
pub fn problem(lang: Lang, heading: &str, body: &str) -> Markup {
    let t = Text::of(lang);
    page(
        lang,
        heading,
        html! { h1 { (heading) } p { (body) } p { a href={ "/unfreeze?lang=" (lang.code()) } { (t.get("holder-new-request")) } } },
    )
}

/// A refused form post (a bad CSRF token or a foreign origin).
pub fn refused(lang: Lang) -> Markup {
    let t = Text::of(lang);
    page(
        lang,
        t.get("holder-title"),
        html! { h1 { (t.get("holder-invalid-link-heading")) } p { (t.get("holder-invalid-link-body")) } },
    )
}

/// Too many steps from one address.
pub fn too_many(lang: Lang) -> Markup {
    let t = Text::of(lang);
    page(
        lang,
        t.get("holder-title"),
        html! { p role="alert" { (t.get("holder-too-many")) } },
    )
}

/// A step of the flow (as [`crate::domain::unfreeze::Flow::steps`] names
/// it) in words.
fn step_name(t: Text, step: &str) -> &str {
    match step {
        "code" => t.get("holder-step-code"),
        "second_factor" => t.get("holder-step-second-factor"),
        "activity_review" => t.get("holder-step-activity-review"),
        "unfreeze" => t.get("holder-step-unfreeze"),
        other => other,
    }
}

/// The page for the flow's current state, with an error to announce if any.
pub fn flow(lang: Lang, token: &str, csrf: &str, status: &FlowStatus, error: Option<String>) -> Markup {
    let t = Text::of(lang);
    let action = |step: &str| format!("/unfreeze/{token}/{step}?lang={}", lang.code());
    let error_block = |id: &str| {
        html! { @if let Some(message) = &error { p id=(id) class="error" role="alert" { (message) } } }
    };
    let invalid = error.is_some().then_some("true");
    let current = status.steps.iter().position(|s| !s.done);
    let body = html! {
        section aria-labelledby="progress-heading" {
            h2 id="progress-heading" class="visually-hidden" { (t.get("holder-progress")) }
            ol class="steps" {
                @for (index, step) in status.steps.iter().enumerate() {
                    @let is_current = current == Some(index) && status.state.is_live();
                    li class=(if step.done { "done" } else if is_current { "current" } else { "todo" })
                       aria-current=[is_current.then_some("step")] {
                        (step_name(t, step.name))
                        @if step.done { span class="visually-hidden" { " (" (t.get("holder-progress-done")) ")" } }
                        @if is_current { span class="visually-hidden" { " (" (t.get("holder-progress-current")) ")" } }
                    }
                }
            }
        }
        @match status.state {
            FlowState::AwaitingCode => {
                h1 { (t.get("holder-code-heading")) }
                p { (t.get("holder-code-intro")) }
                form method="post" action=(action("code")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="code" { (t.get("holder-code-label")) }
                    p id="code-help" class="help" { (t.get("holder-code-help")) }
                    (error_block("code-error"))
                    input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}"
                        maxlength="6" required aria-invalid=[invalid]
                        aria-describedby=(if error.is_some() { "code-help code-error" } else { "code-help" });
                    button type="submit" { (t.get("holder-code-button")) }
                }
                form method="post" action=(action("resend")) class="secondary" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" class="link" { (t.get("holder-resend-button")) }
                }
            }
            FlowState::AwaitingSecondFactor => {
                h1 { (t.get("holder-second-factor-heading")) }
                p { (t.get("holder-second-factor-intro")) }
                form method="post" action=(action("second-factor")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="second_factor" { (t.get("holder-second-factor-label")) }
                    (error_block("second-factor-error"))
                    input id="second_factor" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                        maxlength="10" required aria-invalid=[invalid]
                        aria-describedby=[error.is_some().then_some("second-factor-error")];
                    button type="submit" { (t.get("holder-second-factor-button")) }
                }
            }
            FlowState::AwaitingActivityReview if status.answers.is_some() => {
                h1 { (t.get("holder-unfreezing-heading")) }
                p { (t.get("holder-unfreezing-body")) }
                p { a href={ "/unfreeze/" (token) "?lang=" (lang.code()) } { (t.get("holder-refresh")) } }
            }
            FlowState::AwaitingActivityReview => {
                h1 { (t.get("holder-activity-heading")) }
                p { (t.get("holder-activity-intro")) }
                (error_block("activity-error"))
                form method="post" action=(action("activity")) {
                    input type="hidden" name="csrf" value=(csrf);
                    @for (index, activity) in status.activities.iter().enumerate() {
                        fieldset {
                            legend { (activity.summary) }
                            @let name = format!("answer:{}", activity.alert_id);
                            div class="choice" {
                                input type="radio" id={ "mine-" (index) } name=(name) value="mine" required;
                                label for={ "mine-" (index) } { (t.get("holder-mine")) }
                            }
                            div class="choice" {
                                input type="radio" id={ "not-mine-" (index) } name=(name) value="not_mine";
                                label for={ "not-mine-" (index) } { (t.get("holder-not-mine")) }
                            }
                        }
                    }
                    button type="submit" { (t.get("holder-activity-button")) }
                }
            }
            FlowState::InReview => {
                h1 { (t.get("holder-in-review-heading")) }
                p { (t.get("holder-in-review-body")) }
                dl class="queue" aria-live="polite" {
                    dt { (t.get("holder-queue-position")) }
                    dd id="queue-position" { (status.queue_position.unwrap_or(1)) }
                    dt { (t.get("holder-estimated-wait")) }
                    dd id="estimated-wait" {
                        (t.with("holder-wait-minutes", [("minutes", status.estimated_wait_seconds.unwrap_or(0).div_ceil(60).into())]))
                    }
                }
                p { a href={ "/unfreeze/" (token) "?lang=" (lang.code()) } { (t.get("holder-refresh")) } }
            }
            FlowState::Unfrozen => {
                h1 id="outcome" { (t.get("holder-unfrozen-heading")) }
                p { (t.get("holder-unfrozen-body")) }
            }
            FlowState::Rejected => {
                h1 id="outcome" { (t.get("holder-rejected-heading")) }
                @if let Some(reason) = &status.decision_reason { p { strong { (t.get("holder-reason")) ": " } (reason) } }
                @if status.next_steps.is_some() { p { (t.get("holder-rejected-next-steps")) } }
            }
            FlowState::Locked => {
                h1 id="outcome" { (t.get("holder-locked-heading")) }
                p { (t.get("holder-locked-body")) }
                p { a href={ "/unfreeze?lang=" (lang.code()) } { (t.get("holder-new-request")) } }
            }
            FlowState::Expired => {
                h1 id="outcome" { (t.get("holder-expired-heading")) }
                p { (t.get("holder-expired-body")) }
                p { a href={ "/unfreeze?lang=" (lang.code()) } { (t.get("holder-new-request")) } }
            }
        }
        p { a id="see-case" href={ "/holder/flows/" (token) "/case?lang=" (lang.code()) } { (t.get("holder-see-case")) } }
        @if status.state.is_live() {
            p class="expires" { (t.get("holder-expires")) " " time datetime=(status.expires_at.to_rfc3339()) {
                (status.expires_at.as_datetime().format("%Y-%m-%d %H:%M UTC").to_string()) } }
        }
        (PreEscaped(""))
    };
    page(lang, t.get("holder-title"), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unfreeze::notify::next_steps;

    #[test]
    fn a_turned_down_holder_reads_on_the_english_page_what_the_api_says() {
        assert_eq!(
            Some(Text::of(Lang::En).get("holder-rejected-next-steps")),
            next_steps(FlowState::Rejected)
        );
        assert_ne!(
            Text::of(Lang::Ko).get("holder-rejected-next-steps"),
            Text::of(Lang::En).get("holder-rejected-next-steps")
        );
    }
}
