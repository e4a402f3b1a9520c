//! The incident answers of the JSON API: a queue page, and an incident with
//! its alerts, holds, runs, unfreeze requests and timeline; each built from
//! what [`crate::incidents`] loads.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::alerts::StoredAlert;
use crate::domain::audit::AuditRecord;
use crate::domain::hold::{HoldRecord, HoldScope};
use crate::domain::ids::{CampaignId, RunId};
use crate::domain::incident::{Incident as Record, IncidentStatus, Resolution};
use crate::domain::priority::{Priority, Reason};
use crate::domain::run::{Run, RunStatus};
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::{Answer, Flow, FlowState};
use crate::incidents::Dossier;

#[derive(Serialize, ToSchema)]
pub struct IncidentPage {
    /// Newest first across pages; within a page, most urgent first (priority, then deadline).
    pub incidents: Vec<IncidentSummary>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Sla {
    #[schema(value_type = String, format = DateTime)]
    acknowledge_by: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    contain_by: Timestamp,
    /// A deadline passed unmet.
    breached: bool,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    acknowledge_breached_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    contain_breached_at: Option<Timestamp>,
}

impl Sla {
    fn of(incident: &Record) -> Self {
        Sla {
            acknowledge_by: incident.deadlines.acknowledge_by,
            contain_by: incident.deadlines.contain_by,
            breached: incident.sla_breached(),
            acknowledge_breached_at: incident.acknowledge_breached_at,
            contain_breached_at: incident.contain_breached_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IncidentSummary {
    id: String,
    account_id: String,
    /// Whether the incident belongs to a drill (an account named `drill-…`, SPEC §14): it sends nothing outside Holdfast, counts in no figure, and ends by itself after 24 h.
    drill: bool,
    status: IncidentStatus,
    priority: Priority,
    /// The priority rules' score.
    score: u32,
    sla: Sla,
    /// The agent who claimed it.
    #[schema(required)]
    assignee: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    opened_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

impl IncidentSummary {
    pub fn of(incident: &Record) -> Self {
        IncidentSummary {
            id: incident.id.to_string(),
            account_id: incident.account_id.to_string(),
            drill: incident.is_drill(),
            status: incident.status,
            priority: incident.priority,
            score: incident.score,
            sla: Sla::of(incident),
            assignee: incident.assignee.clone(),
            opened_at: incident.opened_at,
            updated_at: incident.updated_at,
        }
    }
}

/// An incident with its alerts, holds, runs and timeline.
#[derive(Serialize, ToSchema)]
pub struct Incident {
    id: String,
    account_id: String,
    /// Whether the incident belongs to a drill (an account named `drill-…`, SPEC §14): it sends nothing outside Holdfast, counts in no figure, and ends by itself after 24 h.
    drill: bool,
    status: IncidentStatus,
    priority: Priority,
    /// The priority rules' score.
    score: u32,
    sla: Sla,
    /// The agent who claimed it.
    #[schema(required)]
    assignee: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    opened_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
    /// Every rule that fired.
    priority_reasons: Vec<Reason>,
    /// The campaign the incident belongs to (the first it joined), or null.
    #[schema(value_type = Option<String>, required)]
    campaign_id: Option<CampaignId>,
    /// Every campaign the incident belongs to, the first it joined first.
    #[schema(value_type = Vec<String>)]
    campaign_ids: Vec<CampaignId>,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    acknowledged_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    contained_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    closed_at: Option<Timestamp>,
    #[schema(required)]
    resolution: Option<Resolution>,
    #[schema(required)]
    resolution_note: Option<String>,
    alerts: Vec<StoredAlert>,
    /// Every hold placed, lifted or not.
    holds: Vec<HoldView>,
    runs: Vec<RunSummary>,
    unfreeze_requests: Vec<UnfreezeRequest>,
    /// Every event, oldest first.
    timeline: Vec<TimelineEvent>,
    /// The legal hold in force (SPEC §15), or null.
    #[schema(required)]
    legal_hold: Option<LegalHold>,
    /// When the incident's last legal hold was released, or null.
    #[schema(value_type = Option<String>, format = DateTime, required)]
    legal_hold_released_at: Option<Timestamp>,
}

impl Incident {
    /// The incident as `GET /v1/incidents/{id}` shows it, holds in force at `now`.
    pub fn of(dossier: Dossier, now: Timestamp) -> Self {
        let Dossier {
            incident,
            alerts,
            holds,
            timeline,
            runs,
            flows,
            campaigns,
            legal_hold,
        } = dossier;
        let summary = IncidentSummary::of(&incident);
        let in_force = legal_hold.as_ref().filter(|h| h.released_at.is_none());
        Incident {
            id: summary.id,
            account_id: summary.account_id,
            drill: summary.drill,
            status: summary.status,
            priority: summary.priority,
            score: summary.score,
            sla: summary.sla,
            assignee: summary.assignee,
            opened_at: summary.opened_at,
            updated_at: summary.updated_at,
            priority_reasons: incident.priority_reasons,
            campaign_id: campaigns.first().cloned(),
            campaign_ids: campaigns,
            acknowledged_at: incident.acknowledged_at,
            contained_at: incident.contained_at,
            closed_at: incident.closed_at,
            resolution: incident.resolution,
            resolution_note: incident.resolution_note,
            alerts: alerts.into_iter().map(StoredAlert::of).collect(),
            holds: holds.into_iter().map(|hold| HoldView::of(hold, now)).collect(),
            runs: runs.iter().map(RunSummary::of).collect(),
            unfreeze_requests: flows.into_iter().map(UnfreezeRequest::of).collect(),
            timeline: timeline.into_iter().map(TimelineEvent::of).collect(),
            legal_hold: in_force.map(|h| LegalHold {
                set_by: h.set_by.clone(),
                set_at: h.set_at,
                reason: h.reason.clone(),
            }),
            legal_hold_released_at: legal_hold.as_ref().and_then(|h| h.released_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = HoldRecord)]
pub struct HoldView {
    id: String,
    account_id: String,
    incident_id: String,
    scope: HoldScope,
    reason: String,
    /// `system`, `agent:<username>`, `holder` or the run's starter.
    placed_by: String,
    #[schema(value_type = String, format = DateTime)]
    placed_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    lifted_at: Option<Timestamp>,
    #[schema(required)]
    lifted_by: Option<String>,
    in_force: bool,
}

impl HoldView {
    fn of(hold: HoldRecord, now: Timestamp) -> Self {
        HoldView {
            in_force: hold.in_force(now),
            id: hold.id.to_string(),
            account_id: hold.account_id.to_string(),
            incident_id: hold.incident_id.to_string(),
            scope: hold.scope,
            reason: hold.reason,
            placed_by: hold.placed_by,
            placed_at: hold.placed_at,
            expires_at: hold.expires_at,
            lifted_at: hold.lifted_at,
            lifted_by: hold.lifted_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RunSummary {
    #[schema(value_type = String)]
    run_id: RunId,
    playbook_id: String,
    status: RunStatus,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

impl RunSummary {
    fn of(run: &Run) -> Self {
        RunSummary {
            run_id: run.id.clone(),
            playbook_id: run.playbook.id.clone(),
            status: run.status,
            created_at: run.created_at,
        }
    }
}

/// A holder's unfreeze request of the incident.
#[derive(Serialize, ToSchema)]
pub struct UnfreezeRequest {
    state: FlowState,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    verified_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    queued_at: Option<Timestamp>,
    #[schema(required)]
    answers: Option<Vec<Answer>>,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    decided_at: Option<Timestamp>,
    #[schema(required)]
    decided_by: Option<String>,
    #[schema(required)]
    decision_reason: Option<String>,
    #[schema(value_type = Option<String>, required)]
    run_id: Option<RunId>,
}

impl UnfreezeRequest {
    fn of(flow: Flow) -> Self {
        UnfreezeRequest {
            state: flow.state,
            created_at: flow.created_at,
            verified_at: flow.verified_at,
            queued_at: flow.queued_at,
            answers: flow.answers,
            decided_at: flow.decided_at,
            decided_by: flow.decided_by,
            decision_reason: flow.decision_reason,
            run_id: flow.run_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TimelineEvent {
    #[schema(value_type = String, format = DateTime)]
    at: Timestamp,
    /// Who: `system`, `holder`, `risk-engine:<key id>`, `agent:<username>`.
    actor: String,
    /// What, such as `incident.opened`, `hold.placed`, `run.step_succeeded`.
    event: String,
    /// The event's details (never secrets).
    detail: Value,
}

impl TimelineEvent {
    fn of(entry: AuditRecord) -> Self {
        TimelineEvent {
            detail: entry.detail_value(),
            at: entry.at,
            actor: entry.actor,
            event: entry.action,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LegalHold {
    /// The lead who set it, as the audit log names actors (`agent:<username>`).
    set_by: String,
    #[schema(value_type = String, format = DateTime)]
    set_at: Timestamp,
    reason: String,
}
