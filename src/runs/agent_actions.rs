//! What agents do to runs: start a playbook on an incident, approve a run (a
//! second lead), resume a run with a fresh step-up. The JSON API
//! ([`super::api`]) and the console call these same functions, so the rules
//! (roles, step-up, four eyes, the audit log) are the same everywhere.
//!
//! `otp` is an inline step-up code (the API's `X-Holdfast-OTP` header, the
//! console's `otp` field); without one, the session's own step-up from the
//! last five minutes must do.

use std::sync::Arc;

use serde_json::json;

use super::finish;
use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::ids::{IncidentId, RunId};
use crate::domain::incident::Incident;
use crate::domain::playbook::Playbook;
use crate::domain::run::{Approval, Initiator, Run};
use crate::domain::time::Timestamp;
use crate::edge::error::ApiError;
use crate::state::AppState;
use crate::state::handles::LoadedPlaybook;
use crate::storage::WriteTx;

/// The verified playbook `playbook_id`, or the problem starting it would
/// answer: `422` for an unknown id, `409` for one that failed verification.
pub fn runnable_playbook<'a>(
    state: &'a AppState,
    playbook_id: &str,
) -> Result<(&'a LoadedPlaybook, &'a Arc<Playbook>), ApiError> {
    let playbooks = state.playbooks();
    match playbooks.runnable(playbook_id) {
        Some(found) => Ok(found),
        None if playbooks.entries().iter().any(|e| e.id.as_deref() == Some(playbook_id)) => Err(ApiError::Conflict(
            format!("the playbook `{playbook_id}` failed verification and cannot run"),
        )),
        None => Err(ApiError::invalid("playbook_id", "no playbook has this id")),
    }
}

/// Starts `playbook_id` on an incident for `agent` and returns the run as
/// it stands after its first advance.
#[tracing::instrument(skip_all, fields(incident.id = %incident_id, run.id))]
pub async fn start(
    state: &AppState,
    agent: &mut CurrentAgent,
    incident_id: &IncidentId,
    playbook_id: &str,
    otp: Option<&str>,
) -> Result<Run, ApiError> {
    let (loaded, playbook) = runnable_playbook(state, playbook_id)?;
    agent.require(playbook.kind.permission())?;
    let elevated_at = agent.require_fresh_mfa(state, otp).await?;
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let mut incident = tx
        .lock_incident(incident_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the incident"))?;
    if incident.status.is_closed() {
        return Err(ApiError::Conflict(format!("the incident is {}", incident.status)));
    }
    if tx.unfinished_run(&incident.id, &playbook.id).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "a run of `{}` is already in progress on this incident",
            playbook.id
        )));
    }
    let before = incident.clone();
    let initiator = Initiator::Agent {
        id: agent.id.clone(),
        username: agent.username.clone(),
        elevated_at,
    };
    let run = finish::start_run(state, &mut tx, &mut incident, loaded, playbook, initiator, now).await?;
    tracing::Span::current().record("run.id", run.id.as_str());
    if incident != before {
        tx.save_incident(&incident).await?;
    }
    state.commit(tx).await?;
    Ok(run)
}

/// A second lead's approval. The agent who started the run never counts.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn approve(
    state: &AppState,
    agent: &mut CurrentAgent,
    run_id: &RunId,
    otp: Option<&str>,
) -> Result<Run, ApiError> {
    agent.require(Permission::ApproveRuns)?;
    let found = state
        .db()
        .run(run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the run"))?;
    if found.started_by == agent.id.as_str() {
        return Err(ApiError::forbidden("the agent who started a run cannot approve it"));
    }
    let elevated_at = agent.require_fresh_mfa(state, otp).await?;
    let agent = agent.clone();
    change_run(state, &found, move |tx, run, incident, now| {
        Box::pin(async move {
            if !run.needs_approvals() {
                return Err(ApiError::Conflict("this run's playbook needs no approval".into()));
            }
            let approval = Approval {
                agent_id: agent.id.clone(),
                username: agent.username.clone(),
                approved_at: now,
            };
            if !tx.insert_approval(&run.id, &approval).await? {
                return Err(ApiError::Conflict("you have already approved this run".into()));
            }
            run.approvals.push(approval);
            run.elevated_at = run.elevated_at.max(Some(elevated_at));
            tx.audit(
                AuditRecord::new(now, agent.actor(), AuditAction::RunApproved)
                    .incident(&incident.id, &incident.account_id)
                    .detail(json!({"run_id": run.id})),
            );
            Ok(())
        })
    })
    .await
}

/// Gives a waiting run a fresh MFA (for a step marked `mfa` reached after
/// the last step-up expired).
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
pub async fn resume(
    state: &AppState,
    agent: &mut CurrentAgent,
    run_id: &RunId,
    otp: Option<&str>,
) -> Result<Run, ApiError> {
    let found = state
        .db()
        .run(run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the run"))?;
    agent.require(found.playbook.kind.permission())?;
    let elevated_at = agent.require_fresh_mfa(state, otp).await?;
    let agent = agent.clone();
    change_run(state, &found, move |tx, run, incident, now| {
        Box::pin(async move {
            run.elevated_at = run.elevated_at.max(Some(elevated_at));
            tx.audit(
                AuditRecord::new(now, agent.actor(), AuditAction::RunResumed)
                    .incident(&incident.id, &incident.account_id)
                    .detail(json!({"run_id": run.id})),
            );
            Ok(())
        })
    })
    .await
}

/// Whether `agent` may approve `run` at all: a lead who did not start it and
/// has not approved it yet, while it is unfinished and its playbook asks for
/// approvals. What the console offers; [`approve`] checks it again.
pub fn may_approve(agent: &CurrentAgent, run: &Run) -> bool {
    agent.role.can(Permission::ApproveRuns)
        && run.started_by != agent.id.as_str()
        && !run.status.is_finished()
        && run.needs_approvals()
        && !run.approvals.iter().any(|a| a.agent_id == agent.id)
}

type ChangeFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ApiError>> + Send + 'a>>;

/// Locks a run found by the caller (incident first), applies `change`,
/// advances and commits.
async fn change_run<F>(state: &AppState, found: &Run, change: F) -> Result<Run, ApiError>
where
    F: for<'a> FnOnce(&'a mut WriteTx, &'a mut Run, &'a Incident, Timestamp) -> ChangeFuture<'a>,
{
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let mut incident = tx
        .lock_incident(&found.incident_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the incident"))?;
    let mut run = tx
        .lock_run(&found.id)
        .await?
        .ok_or_else(|| ApiError::not_found("the run"))?;
    if run.status.is_finished() {
        return Err(ApiError::Conflict(format!("the run has already {}", run.status)));
    }
    let (run_before, incident_before) = (run.clone(), incident.clone());
    change(&mut tx, &mut run, &incident, now).await?;
    finish::advance_run(state, &mut tx, &mut run, &mut incident, now).await?;
    tx.save_run(&run, &run_before).await?;
    if incident != incident_before {
        tx.save_incident(&incident).await?;
    }
    state.commit(tx).await?;
    Ok(run)
}
