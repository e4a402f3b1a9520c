//! The holder's case pages as markup: pure functions of what they show, in
//! the unfreeze pages' shell (same layout, stylesheet and language switch).
//! Every text a holder or agent wrote is shown as plain text, never as a link.

use maud::{Markup, html};

use crate::domain::case::CaseState;
use crate::edge::l10n::Text;
use crate::edge::web::Lang;
use crate::holder::case::Case;

pub use crate::unfreeze::web::views::{page, refused, too_many};

/// What the holder just did, confirmed at the top of the case page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    NotMe,
    WasMe,
    Message,
    Rated,
}

impl Done {
    pub fn code(self) -> &'static str {
        match self {
            Done::NotMe => "not_me",
            Done::WasMe => "was_me",
            Done::Message => "message",
            Done::Rated => "rated",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Done::NotMe, Done::WasMe, Done::Message, Done::Rated]
            .into_iter()
            .find(|done| done.code() == code)
    }

    fn message_id(self) -> &'static str {
        match self {
            Done::NotMe => "case-done-not-me",
            Done::WasMe => "case-done-was-me",
            Done::Message => "case-done-message",
            Done::Rated => "case-done-rated",
        }
    }
}

fn state_id(state: CaseState) -> &'static str {
    match state {
        CaseState::WaitingForYou => "case-state-waiting-for-you",
        CaseState::FrozenToProtectYou => "case-state-frozen",
        CaseState::Reviewing => "case-state-reviewing",
        CaseState::Resolved => "case-state-resolved",
    }
}

fn kind_id(kind: &str) -> &'static str {
    match kind {
        "suspicious_login" => "case-kind-login",
        "large_withdrawal" => "case-kind-withdrawal",
        _ => "case-kind-other",
    }
}

fn scope_id(scope: &str) -> &'static str {
    match scope {
        "login" => "case-scope-login",
        "withdrawal" => "case-scope-withdrawal",
        "trading" => "case-scope-trading",
        _ => "case-scope-api",
    }
}

fn when(at: crate::domain::time::Timestamp) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.as_datetime().format("%Y-%m-%d %H:%M UTC").to_string()) } }
}

/// The case page.
pub fn case(lang: Lang, token: &str, csrf: &str, case: &Case, done: Option<Done>, error: Option<String>) -> Markup {
    let t = Text::of(lang);
    let action = |what: &str| format!("/holder/cases/{token}/{what}?lang={}", lang.code());
    let state = state_id(case.state);
    let ended = case.satisfaction.asked;
    let body = html! {
        @if let Some(done) = done { p id="done" class="notice" role="status" { (t.get(done.message_id())) } }
        @if let Some(message) = &error { p id="case-error" class="error" role="alert" { (message) } }
        h1 id="case-state" data-state=(case.state.as_str()) { (t.get(state)) }
        p { (t.get(&format!("{state}.body"))) }
        @if let (Some(position), Some(wait)) = (case.queue_position, case.estimated_wait_seconds) {
            dl class="queue" {
                dt { (t.get("holder-queue-position")) }
                dd id="queue-position" { (position) }
                dt { (t.get("holder-estimated-wait")) }
                dd { (t.with("holder-wait-minutes", [("minutes", wait.div_ceil(60).into())])) }
            }
        }
        section aria-labelledby="happened-heading" {
            h2 id="happened-heading" { (t.get("case-what-happened")) }
            @if case.what_happened.is_empty() { p { (t.get("case-nothing-flagged")) } }
            ul id="what-happened" {
                @for item in &case.what_happened {
                    li {
                        (t.get(kind_id(item.kind))) " · " (when(item.occurred_at))
                        @if let Some(country) = &item.country { " · " (t.get("case-country")) " " (country) }
                        @if let (Some(amount), Some(asset)) = (&item.amount, &item.asset) { " · " (amount) " " (asset) }
                        @if let Some(destination) = &item.destination { " · " (t.get("case-destination")) " " (destination) }
                    }
                }
            }
        }
        section aria-labelledby="did-heading" {
            h2 id="did-heading" { (t.get("case-what-we-did")) }
            @if case.what_we_did.is_empty() { p { (t.get("case-nothing-held")) } }
            ul id="what-we-did" {
                @for hold in &case.what_we_did {
                    li data-scope=(hold.scope) {
                        (t.get(scope_id(hold.scope))) " · " (t.get("case-since")) " " (when(hold.placed_at))
                        @if let Some(until) = hold.expires_at { " · " (t.get("case-until")) " " (when(until)) }
                    }
                }
            }
        }
        @if !ended {
            section aria-labelledby="answer-heading" {
                h2 id="answer-heading" { (t.get("case-was-it-you")) }
                form method="post" action=(action("not-me")) {
                    input type="hidden" name="csrf" value=(csrf);
                    button id="not-me" type="submit" { (t.get("case-not-me-button")) }
                }
                form method="post" action=(action("was-me")) class="secondary" {
                    input type="hidden" name="csrf" value=(csrf);
                    button id="was-me" type="submit" class="link" { (t.get("case-was-me-button")) }
                }
                @if case.state == CaseState::FrozenToProtectYou {
                    p { a href={ "/unfreeze?lang=" (lang.code()) } { (t.get("case-ask-unfreeze")) } }
                }
                @if case.state == CaseState::WaitingForYou {
                    p { a href={ "/unfreeze?lang=" (lang.code()) } { (t.get("case-resend-unfreeze")) } }
                }
            }
        }
        section aria-labelledby="thread-heading" {
            h2 id="thread-heading" { (t.get("case-thread")) }
            p class="help" { (t.get("case-thread-help")) }
            ol id="thread" class="thread" {
                @for message in &case.messages {
                    li class=(if message.from == "holder" { "from-holder" } else { "from-team" }) {
                        p class="from" {
                            strong { (t.get(if message.from == "holder" { "case-from-you" } else { "case-from-team" })) }
                            " · " (when(message.at))
                        }
                        p class="body" { (message.body) }
                    }
                }
            }
            @if !ended {
                form method="post" action=(action("messages")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="body" { (t.get("case-write-label")) }
                    textarea id="body" name="body" rows="4" maxlength="2000" required {}
                    button id="send" type="submit" { (t.get("case-send-button")) }
                }
            }
        }
        @if ended && !case.satisfaction.answered {
            section aria-labelledby="rate-heading" {
                h2 id="rate-heading" { (t.get("case-rate-heading")) }
                form method="post" action=(action("satisfaction")) {
                    input type="hidden" name="csrf" value=(csrf);
                    fieldset {
                        legend { (t.get("case-rate-legend")) }
                        @for score in 1..=5u8 {
                            div class="choice" {
                                input type="radio" id={ "score-" (score) } name="score" value=(score) required;
                                label for={ "score-" (score) } { (t.with("case-rate-score", [("score", score.into())])) }
                            }
                        }
                    }
                    label for="comment" { (t.get("case-rate-comment")) }
                    textarea id="comment" name="comment" rows="3" maxlength="500" {}
                    button id="rate" type="submit" { (t.get("case-rate-button")) }
                }
            }
        }
        @if case.satisfaction.answered { p id="rated" { (t.get("case-rated")) } }
    };
    page(lang, t.get("case-title"), body)
}

/// The not-me link's page: one button, nothing changed by showing it.
pub fn not_me(lang: Lang, token: &str, csrf: &str) -> Markup {
    let t = Text::of(lang);
    let body = html! {
        h1 { (t.get("case-not-me-heading")) }
        p { (t.get("case-not-me-body")) }
        form method="post" action={ "/holder/cases/" (token) "/not-me?lang=" (lang.code()) } {
            input type="hidden" name="csrf" value=(csrf);
            button id="not-me" type="submit" { (t.get("case-not-me-button")) }
        }
        p { a href={ "/holder/cases/" (token) "?lang=" (lang.code()) } { (t.get("case-see-case")) } }
    };
    page(lang, t.get("case-title"), body)
}

/// The report form.
pub fn report_form(lang: Lang, csrf: &str) -> Markup {
    let t = Text::of(lang);
    let body = html! {
        h1 { (t.get("report-heading")) }
        p { (t.get("report-intro")) }
        form method="post" action="/holder/report" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="lang" value=(lang.code());
            label for="account_id" { (t.get("holder-account-label")) }
            input id="account_id" name="account_id" type="text" required autocomplete="username" maxlength="128";
            button type="submit" { (t.get("report-button")) }
        }
    };
    page(lang, t.get("report-heading"), body)
}

/// The same answer for every report.
pub fn report_sent(lang: Lang) -> Markup {
    let t = Text::of(lang);
    page(
        lang,
        t.get("report-sent-heading"),
        html! { h1 { (t.get("report-sent-heading")) } p { (t.get("report-sent-body")) } },
    )
}

/// The lock link's page: one button.
pub fn lock(lang: Lang, token: &str, csrf: &str) -> Markup {
    let t = Text::of(lang);
    let body = html! {
        h1 { (t.get("lock-heading")) }
        p { (t.get("lock-body")) }
        form method="post" action={ "/holder/lock/" (token) "?lang=" (lang.code()) } {
            input type="hidden" name="csrf" value=(csrf);
            button id="lock" type="submit" { (t.get("lock-button")) }
        }
    };
    page(lang, t.get("lock-heading"), body)
}
