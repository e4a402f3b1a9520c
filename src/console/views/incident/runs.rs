//! The incident page's runs: each run with its steps, what it waits for, and its
//! approvals.

use maud::{Markup, html};

use super::super::{Viewer, field_error, step_up_field, time};
use super::Action;
use crate::domain::incident::Incident;
use crate::domain::run::{Gate, Run, RunStatus, StepStatus};
use crate::edge::l10n::Text;
use crate::edge::web::Lang;
use crate::runs::agent_actions;

fn gate_text(t: Text, gate: Gate) -> &'static str {
    match gate {
        Gate::Mfa => t.get("waiting-mfa"),
        Gate::Identity => t.get("waiting-identity"),
        Gate::Approval => t.get("waiting-approval"),
    }
}

pub(super) fn run_view<'a>(
    lang: Lang,
    viewer: &Viewer,
    incident: &Incident,
    run: &Run,
    error_at: &impl Fn(&Action) -> Option<&'a str>,
) -> Markup {
    let t = Text::of(lang);
    let waiting_for_mfa =
        run.status == RunStatus::Waiting && run.steps.iter().any(|s| s.waiting_for == Some(Gate::Mfa));
    let needed = run.approvals_needed(incident.priority);
    html! {
        article class="run" id={ "run-" (run.id) } {
            h3 { (run.playbook.id) " v" (run.playbook.version) " " span class={ "run-status " (run.status.as_str()) } { (run.status.as_str()) } }
            p class="help" {
                (t.get("started-by")) " " (run.started_by_name) " · " (time(run.created_at))
                " · " (t.get("digest")) " " code { (&run.playbook.digest[..12.min(run.playbook.digest.len())]) }
            }
            @if let Some(failure) = &run.failure { p class="notice error" { (failure) } }
            ol class="steps" {
                @for step in &run.steps {
                    li class={ "step " (step.status.as_str()) } {
                        span class="step-name" { (step.step.name) }
                        " " code { (step.step.action.name()) }
                        " — " span class="step-status" { (step_status(t, step.status)) }
                        @if let Some(gate) = step.waiting_for { " · " strong { (gate_text(t, gate)) } }
                    }
                }
            }
            @if run.needs_approvals() {
                p {
                    (t.get("approvals")) ": "
                    @if run.approvals.is_empty() { span class="muted" { (t.get("none-yet")) } }
                    @for (i, approval) in run.approvals.iter().enumerate() {
                        @if i > 0 { ", " }
                        (approval.username) " (" (time(approval.approved_at)) ")"
                    }
                    @if needed > 0 { " · " (t.with("approvals-needed", [("count", needed.into())])) }
                }
            }
            @if agent_actions::may_approve(viewer.agent, run) {
                @let action = Action::Approve(run.id.clone());
                form method="post" action={ "/console/incidents/" (incident.id) "/runs/" (run.id) "/approve" } class="action" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    (step_up_field(lang, &format!("otp-approve-{}", run.id), viewer))
                    (field_error(error_at(&action)))
                    button type="submit" { (t.get("approve-run")) }
                }
            }
            @if waiting_for_mfa && viewer.can(run.playbook.kind.permission()) {
                @let action = Action::Resume(run.id.clone());
                form method="post" action={ "/console/incidents/" (incident.id) "/runs/" (run.id) "/resume" } class="action" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    (step_up_field(lang, &format!("otp-resume-{}", run.id), viewer))
                    (field_error(error_at(&action)))
                    button type="submit" { (t.get("resume-run")) }
                }
            }
        }
    }
}

fn step_status(t: Text, status: StepStatus) -> &'static str {
    match status {
        StepStatus::Pending => t.get("step-pending"),
        StepStatus::Running => t.get("step-running"),
        StepStatus::Waiting => t.get("step-waiting"),
        StepStatus::Succeeded => t.get("step-succeeded"),
        StepStatus::Failed => t.get("step-failed"),
        StepStatus::Skipped => t.get("step-skipped"),
    }
}
