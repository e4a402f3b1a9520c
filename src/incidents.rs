//! The agents' work on incidents: the queue, an incident with everything
//! about it, claiming the most urgent one, and the state changes
//! (acknowledge, resolve, dismiss). The JSON API ([`api`]) and the console
//! call these same functions, so the rules (roles, the state machine, the
//! audit log) are the same everywhere.

use serde_json::json;

use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::hold::HoldRecord;
use crate::domain::ids::{CampaignId, IncidentId};
use crate::domain::incident::{Incident, Resolution, Transition};
use crate::domain::run::Run;
use crate::domain::unfreeze::Flow;
use crate::edge::error::ApiError;
use crate::state::AppState;
use crate::storage::{AlertRow, LegalHoldRow, QueueFilter, QueueRow};

pub mod api;

/// A page of the agents' queue: live incidents, most urgent first.
#[tracing::instrument(skip_all, fields(agent = %agent.username))]
pub async fn queue(state: &AppState, agent: &CurrentAgent, filter: &QueueFilter) -> Result<Vec<QueueRow>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    Ok(state.db().queue(filter).await?)
}

/// An incident and everything an agent needs to work it.
#[derive(Clone, Debug)]
pub struct Dossier {
    pub incident: Incident,
    /// Its alerts in the order they occurred.
    pub alerts: Vec<AlertRow>,
    pub holds: Vec<HoldRecord>,
    /// Every audit entry of the incident, oldest first.
    pub timeline: Vec<AuditRecord>,
    pub runs: Vec<Run>,
    /// The holder's unfreeze requests.
    pub flows: Vec<Flow>,
    /// The campaigns it belongs to, the first it joined first.
    pub campaigns: Vec<CampaignId>,
    /// Its latest legal hold, in force or released.
    pub legal_hold: Option<LegalHoldRow>,
}

/// Loads an incident's dossier (404 when there is no such incident).
pub async fn dossier(state: &AppState, agent: &CurrentAgent, id: &IncidentId) -> Result<Dossier, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let incident = state
        .db()
        .incident(id)
        .await?
        .ok_or_else(|| ApiError::not_found("the incident"))?;
    dossier_of(state, incident).await
}

/// The dossier of an incident already loaded.
pub async fn dossier_of(state: &AppState, incident: Incident) -> Result<Dossier, ApiError> {
    let db = state.db();
    let (alerts, holds, timeline, runs, flows, campaigns, legal_hold) = tokio::try_join!(
        db.incident_alerts(&incident.id),
        db.incident_holds(&incident.id),
        db.timeline(&incident.id),
        db.incident_runs(&incident.id),
        db.incident_flows(&incident.id),
        db.incident_campaigns(&incident.id),
        db.latest_legal_hold(&incident.id),
    )?;
    Ok(Dossier {
        incident,
        alerts,
        holds,
        timeline,
        runs,
        flows,
        campaigns,
        legal_hold,
    })
}

/// Claims the most urgent unassigned incident for `agent` (priority, then
/// earliest deadline); `None` when nothing is waiting. Two agents never get
/// the same one.
#[tracing::instrument(skip_all, fields(agent = %agent.username, incident.id))]
pub async fn claim_next(state: &AppState, agent: &CurrentAgent) -> Result<Option<Incident>, ApiError> {
    agent.require(Permission::ClaimIncidents)?;
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let Some(mut incident) = tx.lock_next_unassigned_incident().await? else {
        return Ok(None);
    };
    tracing::Span::current().record("incident.id", incident.id.as_str());
    incident.assignee = Some(agent.username.clone());
    incident.updated_at = now;
    tx.save_incident(&incident).await?;
    tx.audit(
        AuditRecord::new(now, agent.actor(), AuditAction::IncidentClaimed).incident(&incident.id, &incident.account_id),
    );
    state.commit(tx).await?;
    Ok(Some(incident))
}

/// What an agent does to an incident, with the words they give for it.
#[derive(Clone, Debug)]
pub enum Decision {
    Acknowledge {
        note: Option<String>,
    },
    Resolve {
        resolution: Resolution,
        note: Option<String>,
    },
    Dismiss {
        note: Option<String>,
    },
}

impl Decision {
    fn permission(&self) -> Permission {
        match self {
            Decision::Acknowledge { .. } => Permission::AcknowledgeIncidents,
            Decision::Resolve { .. } => Permission::ResolveIncidents,
            Decision::Dismiss { .. } => Permission::DismissIncidents,
        }
    }

    fn transition(&self) -> Transition {
        match self {
            Decision::Acknowledge { .. } => Transition::Acknowledge,
            Decision::Resolve { .. } => Transition::Resolve,
            Decision::Dismiss { .. } => Transition::Dismiss,
        }
    }
}

impl Decision {
    /// Whether the incident's state allows this decision now (what the
    /// console offers; [`decide`] checks it again).
    pub fn allowed_on(&self, incident: &Incident) -> bool {
        incident.status.allows(self.transition())
    }

    /// Whether `agent`'s role allows this decision.
    pub fn allowed_for(&self, agent: &CurrentAgent) -> bool {
        agent.role.can(self.permission())
    }
}

/// Applies an agent's decision to an incident through the state machine,
/// records it on the timeline, and returns the incident as it now stands.
/// The deciding agent takes the incident if nobody had claimed it.
#[tracing::instrument(skip_all, fields(incident.id = %id, agent = %agent.username))]
pub async fn decide(
    state: &AppState,
    agent: &CurrentAgent,
    id: &IncidentId,
    decision: Decision,
) -> Result<Incident, ApiError> {
    agent.require(decision.permission())?;
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let mut incident = tx
        .lock_incident(id)
        .await?
        .ok_or_else(|| ApiError::not_found("the incident"))?;
    let note = match &decision {
        Decision::Acknowledge { note } => note.clone(),
        Decision::Resolve { resolution, note } => {
            incident.resolution = Some(*resolution);
            incident.resolution_note = note.clone();
            note.clone()
        }
        Decision::Dismiss { note } => {
            incident.resolution = Some(Resolution::FalsePositive);
            incident.resolution_note = note.clone();
            note.clone()
        }
    };
    let detail = json!({"note": note, "resolution": incident.resolution});
    let record = incident.transition(decision.transition(), &agent.actor(), detail, now)?;
    if incident.assignee.is_none() {
        incident.assignee = Some(agent.username.clone());
    }
    tx.save_incident(&incident).await?;
    tx.audit(record);
    // Resolved or dismissed: the risk engine learns what was true.
    crate::feedback::queue_disposition(state.config(), &mut tx, &incident, now).await?;
    state.commit(tx).await?;
    Ok(incident)
}
