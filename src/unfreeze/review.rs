//! The agents' side of the flow: the queue of holders waiting for a
//! decision, and turning a request down. Unfreezing is a run of the
//! `unfreeze-account` playbook, started like any other (see `crate::runs`).
//! The JSON API and the console call these same functions.

use super::notify::record_change;
use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::ids::IncidentId;
use crate::domain::unfreeze::Flow;
use crate::edge::error::ApiError;
use crate::state::AppState;

/// Holders' flows waiting for an agent, oldest first.
pub async fn waiting(state: &AppState, agent: &CurrentAgent) -> Result<Vec<Flow>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    Ok(state.db().flows_in_review().await?)
}

/// Turns down the incident's flow in review; the holder is told `reason`
/// and what to do next. The deciding agent needs a role that reviews
/// unfreezes, and is recorded as the decider.
#[tracing::instrument(skip(state, agent, reason), fields(incident.id = %incident_id, agent = %agent.username))]
pub async fn reject(
    state: &AppState,
    agent: &CurrentAgent,
    incident_id: &IncidentId,
    reason: &str,
) -> Result<Flow, ApiError> {
    agent.require(Permission::ReviewUnfreezes)?;
    let by = agent.actor();
    let by = by.as_str();
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    tx.lock_incident(incident_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the incident"))?;
    let mut flow = tx
        .lock_flow_in_review(incident_id)
        .await?
        .ok_or_else(|| ApiError::Conflict("no unfreeze request of this incident is waiting for review".into()))?;
    let before = flow.state;
    flow.reject(by, reason, now)
        .map_err(|error| ApiError::Conflict(error.to_string()))?;
    tx.save_flow(&flow).await?;
    record_change(state, &mut tx, &flow, before, now).await?;
    state.commit(tx).await?;
    Ok(flow)
}
