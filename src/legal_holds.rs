//! Legal holds (SPEC §15): a lead holds an incident so that nothing of it
//! expires (its alerts, sightings, messages and timeline); a different lead
//! releases it, and its data then stays at least
//! [`crate::storage::RELEASE_GRACE`] more. Both are step-up actions, audited
//! with their reason. Their routes are the incident's (`incidents::api`).

use serde_json::json;

use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::audit::{AuditAction, AuditRecord};
use crate::domain::ids::IncidentId;
use crate::domain::incident::Incident;
use crate::domain::time::Timestamp;
use crate::edge::error::ApiError;
use crate::state::AppState;
use crate::storage::WriteTx;

/// The longest reason kept, in characters.
pub const MAX_REASON: usize = 2000;

/// Why a reason is refused, if it is.
pub fn check_reason(reason: &str) -> Result<(), &'static str> {
    if reason.trim().is_empty() {
        Err("must say why")
    } else if reason.chars().count() > MAX_REASON {
        Err("must be at most 2000 characters")
    } else {
        Ok(())
    }
}

/// What setting and releasing both begin with: a lead's fresh step-up, then
/// the incident locked in a new transaction, and the time they happen at.
async fn locked_for_lead(
    state: &AppState,
    agent: &mut CurrentAgent,
    id: &IncidentId,
    otp: Option<&str>,
) -> Result<(WriteTx, Incident, Timestamp), ApiError> {
    agent.require(Permission::HoldLegally)?;
    agent.require_fresh_mfa(state, otp).await?;
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let incident = tx
        .lock_incident(id)
        .await?
        .ok_or_else(|| ApiError::not_found("incident"))?;
    Ok((tx, incident, now))
}

/// Sets a legal hold on the incident (409 when one already holds);
/// returns the incident.
#[tracing::instrument(skip_all, fields(agent = %agent.username, incident.id = %id))]
pub async fn set(
    state: &AppState,
    agent: &mut CurrentAgent,
    id: &IncidentId,
    reason: &str,
    otp: Option<&str>,
) -> Result<Incident, ApiError> {
    let (mut tx, incident, now) = locked_for_lead(state, agent, id, otp).await?;
    if !tx.set_legal_hold(id, &agent.actor(), reason, now).await? {
        return Err(ApiError::Conflict("the incident is already under legal hold".into()));
    }
    tx.audit(
        AuditRecord::new(now, agent.actor(), AuditAction::IncidentLegalHoldSet)
            .incident(id, &incident.account_id)
            .detail(json!({"reason": reason})),
    );
    state.commit(tx).await?;
    Ok(incident)
}

/// Releases the incident's legal hold: 409 when none holds, 403 when the
/// lead releasing it is the one who set it. Returns the incident.
#[tracing::instrument(skip_all, fields(agent = %agent.username, incident.id = %id))]
pub async fn release(
    state: &AppState,
    agent: &mut CurrentAgent,
    id: &IncidentId,
    reason: &str,
    otp: Option<&str>,
) -> Result<Incident, ApiError> {
    let (mut tx, incident, now) = locked_for_lead(state, agent, id, otp).await?;
    let hold = tx
        .legal_hold_in_force(id)
        .await?
        .ok_or_else(|| ApiError::Conflict("the incident is not under legal hold".into()))?;
    if hold.set_by == agent.actor() {
        return Err(ApiError::forbidden(
            "a legal hold is released by a second lead, not by the lead who set it",
        ));
    }
    if !tx.release_legal_hold(&hold.id, &agent.actor(), reason, now).await? {
        return Err(ApiError::Conflict("the incident is not under legal hold".into()));
    }
    tx.audit(
        AuditRecord::new(now, agent.actor(), AuditAction::IncidentLegalHoldReleased)
            .incident(id, &incident.account_id)
            .detail(json!({"reason": reason, "set_by": hold.set_by, "set_at": hold.set_at})),
    );
    state.commit(tx).await?;
    Ok(incident)
}
