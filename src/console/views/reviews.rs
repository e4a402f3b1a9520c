//! The holders' requests waiting for an agent, oldest first.

use maud::{Markup, html};

use super::{Section, Viewer, field_error, layout, notice, priority, step_up_field, time};
use crate::domain::agent::Permission;
use crate::domain::ids::IncidentId;
use crate::domain::incident::Incident;
use crate::domain::playbook::Playbook;
use crate::domain::unfreeze::Flow;
use crate::edge::l10n::Text;
use crate::edge::web::Lang;
use crate::storage::AlertRow;

/// A holder's request waiting for a decision, with what the page shows of it.
pub struct Review {
    pub flow: Flow,
    pub incident: Option<Incident>,
    /// The incident's alerts, to say what each answer is about.
    pub alerts: Vec<AlertRow>,
}

/// A refused decision: on which incident's request, and why.
pub struct Refusal {
    pub incident_id: IncidentId,
    pub message: String,
}

pub fn page(
    lang: Lang,
    viewer: &Viewer,
    reviews: &[Review],
    unfreeze: Option<&Playbook>,
    done: Option<&str>,
    refusal: Option<&Refusal>,
) -> Markup {
    let t = Text::of(lang);
    let may_unfreeze = unfreeze.is_some_and(|p| viewer.can(p.kind.permission()));
    let may_reject = viewer.can(Permission::ReviewUnfreezes);
    let body = html! {
        h1 { (t.get("reviews-heading")) }
        p { (t.get("reviews-intro")) }
        (notice(done, false))
        @if let Some(refusal) = refusal { (notice(Some(&refusal.message), true)) }
        @if reviews.is_empty() { p class="muted" { (t.get("reviews-empty")) } }
        ol class="reviews" {
            @for review in reviews {
                @let flow = &review.flow;
                @let error = refusal.filter(|r| r.incident_id == flow.incident_id).map(|r| r.message.as_str());
                li class="review" id={ "review-" (flow.incident_id) } {
                    h2 {
                        @if let Some(incident) = &review.incident { (priority(incident.priority)) " " }
                        a href={ "/console/incidents/" (flow.incident_id) } { (flow.account_id) }
                    }
                    p class="help" {
                        (t.get("waiting-since")) " " @match flow.queued_at { Some(at) => (time(at)), None => "—" }
                        @if let Some(at) = flow.queued_at { " (" (super::span(lang, viewer.now.since(at))) ")" }
                    }
                    @let reasons = flow.review_reasons();
                    @if !reasons.is_empty() {
                        h3 { (t.get("review-reasons")) }
                        ul class="review-reasons" {
                            @for reason in &reasons { li data-reason=(reason.code()) { (t.get(&format!("review-reason-{}", reason.code()))) } }
                        }
                    }
                    h3 { (t.get("holder-answers")) }
                    ul class="answers" {
                        @for answer in flow.answers.iter().flatten() {
                            @let what = review.alerts.iter().find(|row| row.alert.alert_id.as_str() == answer.alert_id)
                                .map(|row| row.alert.summary()).unwrap_or_else(|| answer.alert_id.clone());
                            li class=(if answer.mine { "mine" } else { "not-mine" }) {
                                (what) " — " strong { @if answer.mine { (t.get("answer-mine")) } @else { (t.get("answer-not-mine")) } }
                            }
                        }
                    }
                    div class="decide" {
                        @if may_unfreeze {
                            @let needed = match (unfreeze, &review.incident) {
                                (Some(playbook), Some(incident)) => playbook.approvals_needed(incident.priority),
                                _ => 0,
                            };
                            form method="post" action={ "/console/reviews/" (flow.incident_id) "/unfreeze" } class="action" {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                @if needed > 0 { p class="help" { (t.get("four-eyes")) } }
                                (step_up_field(lang, &format!("otp-unfreeze-{}", flow.incident_id), viewer))
                                button type="submit" { (t.get("unfreeze")) }
                            }
                        }
                        @if may_reject {
                            form method="post" action={ "/console/reviews/" (flow.incident_id) "/reject" } class="action" {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                label for={ "reason-" (flow.incident_id) } { (t.get("reject-reason")) }
                                p class="help" id={ "reason-help-" (flow.incident_id) } { (t.get("reject-reason-help")) }
                                textarea id={ "reason-" (flow.incident_id) } name="reason" rows="2" maxlength="1000" required
                                    aria-describedby={ "reason-help-" (flow.incident_id) } {}
                                button type="submit" class="secondary" { (t.get("reject")) }
                            }
                        }
                        (field_error(error))
                    }
                }
            }
        }
    };
    layout(lang, t.get("reviews-heading"), Section::Reviews, Some(viewer), body)
}
