//! The incident page: what happened, why it has its priority, what is held,
//! each run with its steps and approvals, the holder's requests, the whole
//! timeline, and the actions the viewer's role allows in its current state.
//!
//! The page and its summary, holds and actions are here; its runs
//! (`runs`) and its history (`history`) are parts of their own.

mod history;
mod runs;

use std::sync::Arc;

use maud::{Markup, html};
use serde_json::Value;

pub use self::history::answers;
use self::history::{flows, readable_pairs, timeline};
use self::runs::run_view;
use super::{Section, Viewer, field_error, layout, notice, priority, sla, status, step_up_field, time};
use crate::domain::ids::RunId;
use crate::domain::incident::{Incident, Resolution};
use crate::domain::playbook::{Action as StepAction, Playbook};
use crate::edge::l10n::Text;
use crate::edge::web::Lang;
use crate::holder::case::ForAgents;
use crate::incidents::{Decision, Dossier};
use crate::state::handles::LoadedPlaybook;

/// The form an error belongs to, so the page shows it there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    Resolve,
    Dismiss,
    Run(String),
    Approve(RunId),
    Resume(RunId),
    /// Answering the holder.
    Message,
}

/// A refused action: where, and why.
pub struct Refusal {
    pub action: Action,
    pub message: String,
}

pub fn page(
    lang: Lang,
    viewer: &Viewer,
    dossier: &Dossier,
    playbooks: &[(&LoadedPlaybook, &Arc<Playbook>)],
    case: &ForAgents,
    done: Option<&str>,
    refusal: Option<&Refusal>,
) -> Markup {
    let t = Text::of(lang);
    let incident = &dossier.incident;
    let error_at = |action: &Action| refusal.filter(|r| &r.action == action).map(|r| r.message.as_str());
    let title = format!("{} · {}", incident.priority, incident.account_id);
    let body = html! {
        p class="crumbs" { a href="/console/" { "← " (t.get("nav-queue")) } }
        h1 {
            (priority(incident.priority)) " " (incident.account_id) " " (status(incident.status))
            @if incident.is_drill() { " " (super::drill_badge(lang)) }
        }
        @for campaign in &dossier.campaigns { p class="campaign" { (super::campaigns::badge(lang, campaign.as_str())) } }
        (summary(lang, viewer, incident))
        (notice(done, false))
        @if let Some(refusal) = refusal { (notice(Some(&refusal.message), true)) }
        div class="columns" {
            div class="story" {
                section aria-labelledby="alerts-heading" {
                    h2 id="alerts-heading" { (t.get("alerts-heading")) }
                    ol class="alerts" {
                        @for row in &dossier.alerts {
                            li {
                                p class="what" { (row.alert.summary()) }
                                (signals(&row.alert))
                                p class="help" { code { (row.alert.alert_id.as_str()) } " · " (t.get("received")) " " (time(row.received_at)) }
                            }
                        }
                    }
                }
                section aria-labelledby="reasons-heading" {
                    h2 id="reasons-heading" { (t.get("reasons-heading")) }
                    ul class="reasons" {
                        @for reason in &incident.priority_reasons {
                            li { (reason.description) " " span class="muted" { "(" (reason.rule) ", +" (reason.points) ")" } }
                        }
                    }
                }
                (holds(lang, viewer, dossier))
                section aria-labelledby="runs-heading" {
                    h2 id="runs-heading" { (t.get("runs-heading")) }
                    @if dossier.runs.is_empty() { p class="muted" { (t.get("no-runs")) } }
                    @for run in &dossier.runs { (run_view(lang, viewer, incident, run, &error_at)) }
                }
                @if !dossier.flows.is_empty() { (flows(lang, dossier)) }
                (super::case::section(lang, viewer, incident.id.as_str(), case, error_at(&Action::Message)))
                (timeline(lang, dossier))
            }
            aside class="actions" aria-labelledby="actions-heading" {
                h2 id="actions-heading" { (t.get("actions-heading")) }
                (decisions(lang, viewer, incident, &error_at))
                (playbook_forms(lang, viewer, dossier, playbooks, &error_at))
            }
        }
    };
    layout(lang, &title, Section::Queue, Some(viewer), body)
}

fn summary(lang: Lang, viewer: &Viewer, incident: &Incident) -> Markup {
    let t = Text::of(lang);
    html! {
        dl class="facts" {
            dt { (t.get("col-sla")) } dd { (sla(lang, incident, viewer.now)) }
            dt { (t.get("acknowledge-by")) } dd { (time(incident.deadlines.acknowledge_by)) }
            dt { (t.get("contain-by")) } dd { (time(incident.deadlines.contain_by)) }
            dt { (t.get("col-claimed")) } dd { @match &incident.assignee { Some(who) => (who), None => (t.get("nobody")) } }
            dt { (t.get("opened")) } dd { (time(incident.opened_at)) }
            @if let Some(resolution) = incident.resolution {
                dt { (t.get("resolution-label")) } dd { (resolution.as_str()) @if let Some(note) = &incident.resolution_note { " — " (note) } }
            }
        }
    }
}

/// An alert's signals: the ones that are set, as the risk engine named them.
fn signals(alert: &crate::domain::alert::Alert) -> Markup {
    let value = serde_json::to_value(alert).unwrap_or(Value::Null);
    let group = value.get("login").or_else(|| value.get("withdrawal"));
    let entries = readable_pairs(group.and_then(Value::as_object), |v| {
        !matches!(v, Value::Null | Value::Bool(false))
    });
    html! {
        @if !entries.is_empty() || alert.risk_score.is_some() {
            ul class="signals" {
                @if let Some(score) = alert.risk_score { li { "risk score " strong { (score) } } }
                @for (key, value) in &entries { li { (key) " " strong { (value) } } }
            }
        }
    }
}

fn holds(lang: Lang, viewer: &Viewer, dossier: &Dossier) -> Markup {
    let t = Text::of(lang);
    html! {
        section aria-labelledby="holds-heading" {
            h2 id="holds-heading" { (t.get("holds-heading")) }
            @if dossier.holds.is_empty() { p class="muted" { (t.get("no-holds")) } } @else {
                table {
                    thead { tr {
                        th scope="col" { (t.get("hold-scope")) } th scope="col" { (t.get("hold-kind")) } th scope="col" { (t.get("hold-reason")) }
                        th scope="col" { (t.get("hold-placed")) } th scope="col" { (t.get("hold-state")) }
                    } }
                    tbody {
                        @for hold in &dossier.holds {
                            tr {
                                td { (hold.scope.as_str()) }
                                td { @if hold.is_freeze() { (t.get("freeze")) } @else { (t.get("cool-off")) } }
                                td { (hold.reason) }
                                td { (time(hold.placed_at)) br; span class="muted" { (hold.placed_by) } }
                                td {
                                    @if let Some(lifted) = hold.lifted_at {
                                        (t.get("lifted")) " " (time(lifted))
                                        @if let Some(by) = &hold.lifted_by { br; span class="muted" { (by) } }
                                    } @else if hold.in_force(viewer.now) {
                                        strong { (t.get("in-force")) }
                                        @if let Some(until) = hold.expires_at { br; (t.get("until")) " " (time(until)) }
                                    } @else {
                                        (t.get("expired")) @if let Some(at) = hold.expires_at { " " (time(at)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn decisions<'a>(
    lang: Lang,
    viewer: &Viewer,
    incident: &Incident,
    error_at: &impl Fn(&Action) -> Option<&'a str>,
) -> Markup {
    let t = Text::of(lang);
    let offer = |decision: &Decision| decision.allowed_for(viewer.agent) && decision.allowed_on(incident);
    let base = format!("/console/incidents/{}", incident.id);
    html! {
        @if offer(&Decision::Acknowledge { note: None }) {
            form method="post" action={ (base) "/acknowledge" } class="action" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                (field_error(error_at(&Action::Acknowledge)))
                button type="submit" id="acknowledge" { (t.get("acknowledge")) }
            }
        }
        @if offer(&Decision::Resolve { resolution: Resolution::FalsePositive, note: None }) {
            form method="post" action={ (base) "/resolve" } class="action" {
                h3 { (t.get("resolve-heading")) }
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="resolution" { (t.get("resolution-label")) }
                select id="resolution" name="resolution" required {
                    option value="confirmed_takeover" { (t.get("confirmed-takeover")) }
                    option value="false_positive" { (t.get("false-positive")) }
                    option value="user_error" { (t.get("user-error")) }
                }
                label for="resolve-note" { (t.get("note-label")) }
                textarea id="resolve-note" name="note" rows="3" maxlength="4000" {}
                (field_error(error_at(&Action::Resolve)))
                button type="submit" { (t.get("resolve")) }
            }
        }
        @if offer(&Decision::Dismiss { note: None }) {
            form method="post" action={ (base) "/dismiss" } class="action" {
                h3 { (t.get("dismiss-heading")) }
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="dismiss-note" { (t.get("note-label")) }
                textarea id="dismiss-note" name="note" rows="2" maxlength="4000" {}
                (field_error(error_at(&Action::Dismiss)))
                button type="submit" class="secondary" { (t.get("dismiss")) }
            }
        }
    }
}

fn playbook_forms<'a>(
    lang: Lang,
    viewer: &Viewer,
    dossier: &Dossier,
    playbooks: &[(&LoadedPlaybook, &Arc<Playbook>)],
    error_at: &impl Fn(&Action) -> Option<&'a str>,
) -> Markup {
    let t = Text::of(lang);
    let incident = &dossier.incident;
    let runnable: Vec<_> = playbooks
        .iter()
        .filter(|(_, playbook)| viewer.can(playbook.kind.permission()))
        .collect();
    html! {
        @if !incident.status.is_closed() && !runnable.is_empty() {
            h3 { (t.get("run-playbook-heading")) }
            @for (loaded, playbook) in runnable {
                @let in_progress = dossier.runs.iter().any(|r| r.playbook.id == playbook.id && !r.status.is_finished());
                @let action = Action::Run(playbook.id.clone());
                section class="playbook" aria-labelledby={ "pb-" (playbook.id) } {
                    h4 id={ "pb-" (playbook.id) } { (playbook.title) }
                    p class="help" {
                        code { (playbook.id) } " v" (playbook.version) " · " (playbook.kind.as_str())
                        " · " (t.get("digest")) " " code { (&loaded.digest[..12]) }
                    }
                    ol class="plan" {
                        @for step in &playbook.steps {
                            li {
                                (step.name) " " code { (step.action.name()) }
                                @if step.mfa { " · " (t.get("step-needs-mfa")) }
                                @if let StepAction::RequireApproval { .. } = step.action {
                                    @let needed = playbook.approvals_needed(incident.priority);
                                    @if needed > 0 { " · " (t.with("approvals-needed", [("count", needed.into())])) } @else { " · " (t.get("no-approval-needed")) }
                                }
                            }
                        }
                    }
                    @if in_progress {
                        p class="muted" { (t.get("run-in-progress")) }
                    } @else {
                        form method="post" action={ "/console/incidents/" (incident.id) "/runs" } class="action" {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            input type="hidden" name="playbook_id" value=(playbook.id);
                            (step_up_field(lang, &format!("otp-{}", playbook.id), viewer))
                            (field_error(error_at(&action)))
                            button type="submit" id={ "run-" (playbook.id) } { (t.with("run-playbook", [("title", playbook.title.as_str().into())])) }
                        }
                    }
                }
            }
        }
    }
}
