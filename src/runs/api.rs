//! The runs API: start a playbook on an incident, read a run, approve it
//! (a second lead), resume it with a fresh step-up.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::auth::CurrentAgent;
use crate::dispatch;
use crate::domain::agent::Permission;
use crate::domain::audit::AuditRecord;
use crate::domain::ids::{IncidentId, RunId};
use crate::domain::incident::Incident;
use crate::domain::run::{Approval, Initiator, Run};
use crate::domain::time::Timestamp;
use crate::domain::validation::{FieldError, Fields};
use crate::error::ApiError;
use crate::http::{FromJson, JsonBody, Routes};
use crate::state::AppState;
use crate::storage::WriteTx;

pub fn routes() -> Routes {
    Routes::new()
        .post("/v1/incidents/{id}/runs", start_run)
        .get("/v1/runs/{id}", show_run)
        .post("/v1/runs/{id}/approve", approve_run)
        .post("/v1/runs/{id}/resume", resume_run)
}

struct StartRequest {
    playbook_id: String,
}

impl FromJson for StartRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            Some(StartRequest {
                playbook_id: fields.required_string(map, "playbook_id")?,
            })
        })
    }
}

#[tracing::instrument(skip_all, fields(incident.id = %incident_id, run.id))]
async fn start_run(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(incident_id): Path<IncidentId>,
    JsonBody(request): JsonBody<StartRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let playbooks = state.playbooks();
    let (loaded, playbook) = match playbooks.runnable(&request.playbook_id) {
        Some(found) => found,
        None if playbooks
            .entries()
            .iter()
            .any(|e| e.id.as_deref() == Some(request.playbook_id.as_str())) =>
        {
            return Err(ApiError::Conflict(format!(
                "the playbook `{}` failed verification and cannot run",
                request.playbook_id
            )));
        }
        None => return Err(ApiError::invalid("playbook_id", "no playbook has this id")),
    };
    agent.require(playbook.kind.permission())?;
    let elevated_at = agent.require_fresh_mfa(&state, &headers).await?;
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let mut incident = tx
        .lock_incident(&incident_id)
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
    let run = dispatch::start_run(&state, &mut tx, &mut incident, loaded, playbook, initiator, now).await?;
    tracing::Span::current().record("run.id", run.id.as_str());
    if incident != before {
        tx.save_incident(&incident).await?;
    }
    state.commit(tx).await?;
    Ok((StatusCode::CREATED, Json(run_json(&run))))
}

#[tracing::instrument(skip_all, fields(run.id = %run_id))]
async fn show_run(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(run_id): Path<RunId>,
) -> Result<Json<Value>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let run = state
        .db()
        .run(&run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the run"))?;
    Ok(Json(run_json(&run)))
}

/// A second lead's approval. The agent who started the run never counts.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
async fn approve_run(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(run_id): Path<RunId>,
) -> Result<Json<Value>, ApiError> {
    agent.require(Permission::ApproveRuns)?;
    let found = state
        .db()
        .run(&run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the run"))?;
    if found.started_by == agent.id.as_str() {
        return Err(ApiError::forbidden("the agent who started a run cannot approve it"));
    }
    let elevated_at = agent.require_fresh_mfa(&state, &headers).await?;
    change_run(&state, &found, |tx, run, incident, now| {
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
                AuditRecord::new(now, agent.actor(), "run.approved")
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
async fn resume_run(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(run_id): Path<RunId>,
) -> Result<Json<Value>, ApiError> {
    let found = state
        .db()
        .run(&run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the run"))?;
    agent.require(found.playbook.kind.permission())?;
    let elevated_at = agent.require_fresh_mfa(&state, &headers).await?;
    change_run(&state, &found, |tx, run, incident, now| {
        Box::pin(async move {
            run.elevated_at = run.elevated_at.max(Some(elevated_at));
            tx.audit(
                AuditRecord::new(now, agent.actor(), "run.resumed")
                    .incident(&incident.id, &incident.account_id)
                    .detail(json!({"run_id": run.id})),
            );
            Ok(())
        })
    })
    .await
}

type ChangeFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ApiError>> + Send + 'a>>;

/// Locks a run found by the caller (incident first), applies `change`,
/// advances and commits.
async fn change_run<F>(state: &AppState, found: &Run, change: F) -> Result<Json<Value>, ApiError>
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
    dispatch::advance_run(state, &mut tx, &mut run, &mut incident, now).await?;
    tx.save_run(&run, &run_before).await?;
    if incident != incident_before {
        tx.save_incident(&incident).await?;
    }
    state.commit(tx).await?;
    Ok(Json(run_json(&run)))
}

pub fn run_json(run: &Run) -> Value {
    json!({
        "run_id": run.id,
        "incident_id": run.incident_id,
        "status": run.status,
        "playbook": run.playbook,
        "started_by": run.started_by_name,
        "automatic_only": run.automatic_only,
        "created_at": run.created_at,
        "updated_at": run.updated_at,
        "finished_at": run.finished_at,
        "failure": run.failure,
        "approvals": run.approvals.iter().map(|a| json!({"agent": a.username, "approved_at": a.approved_at})).collect::<Vec<_>>(),
        "steps": run.steps.iter().map(|step| json!({
            "position": step.position,
            "name": step.step.name,
            "action": step.step.action.name(),
            "automatic": step.step.automatic,
            "mfa": step.step.mfa,
            "status": step.status,
            "waiting_for": step.waiting_for,
            "started_at": step.started_at,
            "finished_at": step.finished_at,
            "outcome": step.outcome,
        })).collect::<Vec<_>>(),
    })
}
