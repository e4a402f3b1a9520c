//! The console's markup: pure functions of what a page shows, so they are
//! tested without a server. One layout for every page; the page bodies are
//! in [`signin`], [`queue`], [`incident`] and [`reviews`].

use std::time::Duration;

use maud::{DOCTYPE, Markup, html};

use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::incident::{Incident, IncidentStatus};
use crate::domain::time::Timestamp;
use crate::edge::error::{ApiError, ProblemKind};
use crate::edge::l10n::Text;
use crate::edge::web::{self, Lang};

pub mod campaigns;
pub mod case;
pub mod incident;
pub mod overview;
pub mod queue;
pub mod reviews;
pub mod rules;
pub mod signin;

/// Which part of the console a page belongs to, for the navigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Queue,
    Reviews,
    Overview,
    Campaigns,
    Rules,
    None,
}

/// Who is looking at a page, and the token their forms carry.
pub struct Viewer<'a> {
    pub agent: &'a CurrentAgent,
    pub csrf: &'a str,
    pub now: Timestamp,
}

impl Viewer<'_> {
    pub fn can(&self, permission: Permission) -> bool {
        self.agent.role.can(permission)
    }

    /// Whether a sensitive form needs the TOTP field: the session's step-up
    /// ends within a minute (or there is none).
    pub fn needs_step_up(&self) -> bool {
        !self.agent.is_elevated_at(self.now.plus(Duration::from_secs(60)))
    }
}

/// The page around every signed-in view: navigation, who is signed in, the
/// language switch and sign-out.
pub fn layout(lang: Lang, title: &str, section: Section, viewer: Option<&Viewer>, body: Markup) -> Markup {
    let t = Text::of(lang);
    let other = lang.other();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                (web::head_start(title))
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body data-left=(t.with("sla-left", [("time", "{}".into())]))
                data-overdue=(t.with("sla-overdue", [("time", "{}".into())]))
                data-units=(t.get("duration-units")) {
                a class="skip" href="#main" { (t.get("skip-to-content")) }
                header class="top" {
                    p class="brand" { a href="/console/" { "Holdfast" } " " span { (t.get("brand-console")) } }
                    @if let Some(viewer) = viewer {
                        nav aria-label=(t.get("nav-label")) {
                            a href="/console/" aria-current=[(section == Section::Queue).then_some("page")] { (t.get("nav-queue")) }
                            a href="/console/reviews" aria-current=[(section == Section::Reviews).then_some("page")] { (t.get("nav-reviews")) }
                            a href="/console/overview" aria-current=[(section == Section::Overview).then_some("page")] { (t.get("nav-overview")) }
                            a href="/console/campaigns" aria-current=[(section == Section::Campaigns).then_some("page")] { (t.get("nav-campaigns")) }
                            @if viewer.can(Permission::ReadRuleQuality) {
                                a href="/console/rules" aria-current=[(section == Section::Rules).then_some("page")] { (t.get("nav-rules")) }
                            }
                        }
                        p class="who" {
                            (viewer.agent.username) " · " (role_name(t, viewer.agent))
                            @if viewer.agent.is_elevated_at(viewer.now) {
                                " · " span class="elevated" { (t.get("stepped-up")) }
                            }
                        }
                        form method="post" action="/console/logout" class="inline" {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            button type="submit" class="link" { (t.get("sign-out")) }
                        }
                    }
                    a class="language" href={ "?lang=" (other.code()) } lang=(other.code()) { (other.own_name()) }
                }
                main id="main" tabindex="-1" { (body) }
            }
        }
    }
}

fn role_name(t: Text, agent: &CurrentAgent) -> &'static str {
    match agent.role {
        crate::domain::agent::Role::Analyst => t.get("role-analyst"),
        crate::domain::agent::Role::Lead => t.get("role-lead"),
        crate::domain::agent::Role::Admin => t.get("role-admin"),
    }
}

/// A timestamp as people read it (UTC), machine-readable too.
pub fn time(at: Timestamp) -> Markup {
    html! {
        time datetime=(at.to_rfc3339()) { (at.as_datetime().format("%Y-%m-%d %H:%M:%S UTC").to_string()) }
    }
}

/// A length of time, in the largest two units: `4m 12s`, `3h 5m`, `2d 4h`.
/// `console.js` writes the same while it counts down.
pub fn span(lang: Lang, length: Duration) -> String {
    let units: Vec<&str> = Text::of(lang).get("duration-units").split(',').collect();
    let unit = |n: u64, i: usize| format!("{n}{}", units[i]);
    let s = length.as_secs();
    let (days, hours, minutes, seconds) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if s < 60 {
        unit(seconds, 3)
    } else if s < 3600 {
        format!("{} {}", unit(minutes, 2), unit(seconds, 3))
    } else if s < 2 * 86_400 {
        format!("{} {}", unit(hours + days * 24, 1), unit(minutes, 2))
    } else {
        format!("{} {}", unit(days, 0), unit(hours, 1))
    }
}

/// The SLA deadline an incident is working to now: acknowledge while it is
/// open, contain until it is contained; none after that.
pub fn current_deadline(incident: &Incident) -> Option<(Timestamp, &'static str)> {
    match incident.status {
        IncidentStatus::Open => Some((incident.deadlines.acknowledge_by, "acknowledge")),
        IncidentStatus::Acknowledged => Some((incident.deadlines.contain_by, "contain")),
        _ => None,
    }
}

/// Time left to the incident's current SLA deadline, or how long it is
/// overdue (red, and said in words, not by colour alone). `console.js`
/// keeps it counting.
pub fn sla(lang: Lang, incident: &Incident, now: Timestamp) -> Markup {
    let t = Text::of(lang);
    match current_deadline(incident) {
        Some((deadline, which)) => {
            let label = if which == "acknowledge" {
                t.get("sla-acknowledge")
            } else {
                t.get("sla-contain")
            };
            let overdue = deadline <= now;
            let words = if overdue {
                t.with("sla-overdue", [("time", span(lang, now.since(deadline)).into())])
            } else {
                t.with("sla-left", [("time", span(lang, deadline.since(now)).into())])
            };
            html! {
                span class={ "sla" @if overdue { " overdue" } } {
                    span class="deadline-kind" { (label) " " }
                    time class="countdown" datetime=(deadline.to_rfc3339()) { (words) }
                }
            }
        }
        None if incident.sla_breached() => html! { span class="sla missed" { (t.get("sla-missed")) } },
        None if incident.status.is_closed() => html! { span class="sla" { "—" } },
        None => html! { span class="sla met" { (t.get("sla-met")) } },
    }
}

/// A priority as a badge (`P1` … `P4`).
pub fn priority(p: crate::domain::priority::Priority) -> Markup {
    html! { span class={ "priority " (p.as_str().to_lowercase()) } { (p.as_str()) } }
}

/// The mark of a drill's incident (SPEC §14): a rehearsal, not a real account.
pub fn drill_badge(lang: Lang) -> Markup {
    html! { span class="badge drill" title=(Text::of(lang).get("drill-badge.title")) { (Text::of(lang).get("drill-badge")) } }
}

/// A status as the API spells it.
pub fn status(s: IncidentStatus) -> Markup {
    html! { span class={ "status " (s.as_str()) } { (s.as_str()) } }
}

/// What to tell an agent about a refused action.
pub fn problem_message(lang: Lang, error: &ApiError) -> String {
    let t = Text::of(lang);
    match error {
        ApiError::Forbidden {
            kind: ProblemKind::MfaRequired,
            ..
        } => t.get("step-up-needed").to_owned(),
        ApiError::Unauthorized {
            kind: ProblemKind::OtpReplayed,
            ..
        } => t.get("code-replayed").to_owned(),
        ApiError::Unauthorized { .. } => t.get("code-wrong").to_owned(),
        ApiError::Locked { retry_after } => t.with("signin-locked", [("minutes", retry_after.div_ceil(60).into())]),
        ApiError::Internal(_) | ApiError::Unavailable(_) => error.kind().text(lang).happened.to_owned(),
        ApiError::Invalid(errors) => {
            let fields: Vec<String> = errors.iter().map(|e| format!("{} {}", e.field, e.message)).collect();
            format!("{}: {}", error.kind().text(lang).title, fields.join("; "))
        }
        other => format!("{}: {}", other.kind().text(lang).title, other),
    }
}

/// A refused form post (a bad CSRF token or a foreign origin): nothing changed.
pub fn refused(lang: Lang) -> Markup {
    let t = Text::of(lang);
    layout(
        lang,
        t.get("refused-heading"),
        Section::None,
        None,
        html! {
            h1 { (t.get("refused-heading")) }
            p { (t.get("refused-body")) }
            p { a href="/console/" { (t.get("back-to-queue")) } }
        },
    )
}

/// A page for a failure that is not about one form.
pub fn failure(lang: Lang, error: &ApiError) -> Markup {
    let t = Text::of(lang);
    let kind = error.kind().text(lang);
    layout(
        lang,
        kind.title,
        Section::None,
        None,
        html! {
            h1 { (kind.title) }
            p role="alert" { (problem_message(lang, error)) }
            p { a href="/console/" { (t.get("back-to-queue")) } }
        },
    )
}

/// A notice or an error shown at the top of a page or beside a form.
pub fn notice(message: Option<&str>, is_error: bool) -> Markup {
    html! {
        @if let Some(message) = message {
            @if is_error {
                p class="notice error" role="alert" { (message) }
            } @else {
                p class="notice ok" role="status" { (message) }
            }
        }
    }
}

/// Why the form beside it was refused (the page's alert says it too).
pub fn field_error(message: Option<&str>) -> Markup {
    html! { @if let Some(message) = message { p class="error" { (message) } } }
}

/// The TOTP field of a sensitive form, shown when a step-up is needed.
pub fn step_up_field(lang: Lang, id: &str, viewer: &Viewer) -> Markup {
    let t = Text::of(lang);
    html! {
        @if viewer.needs_step_up() {
            div class="step-up" {
                label for=(id) { (t.get("otp-label")) }
                p id={ (id) "-help" } class="help" { (t.get("otp-help")) }
                input id=(id) name="otp" type="text" inputmode="numeric" autocomplete="one-time-code"
                    pattern="[0-9]{6}" maxlength="6" required aria-describedby={ (id) "-help" };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_use_the_two_largest_units_in_each_language() {
        assert_eq!(span(Lang::En, Duration::from_secs(42)), "42s");
        assert_eq!(span(Lang::En, Duration::from_secs(4 * 60 + 12)), "4m 12s");
        assert_eq!(span(Lang::En, Duration::from_secs(3 * 3600 + 5 * 60 + 9)), "3h 5m");
        assert_eq!(span(Lang::En, Duration::from_secs(30 * 3600)), "30h 0m");
        assert_eq!(span(Lang::En, Duration::from_secs(3 * 86_400 + 4 * 3600)), "3d 4h");
        assert_eq!(span(Lang::Ko, Duration::from_secs(4 * 60 + 12)), "4분 12초");
    }

    #[test]
    fn the_countdown_templates_keep_their_slot_and_four_units_in_every_language() {
        for lang in Lang::ALL {
            let t = Text::of(lang);
            for id in ["sla-left", "sla-overdue"] {
                assert!(t.with(id, [("time", "{}".into())]).contains("{}"), "{id} in {lang:?}");
            }
            assert_eq!(t.get("duration-units").split(',').count(), 4, "{lang:?}");
        }
    }
}
