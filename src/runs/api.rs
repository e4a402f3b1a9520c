//! The runs API: start a playbook on an incident, read a run, approve it
//! (a second lead), resume it with a fresh step-up; each a thin translation
//! to [`super::agent_actions`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::agent_actions;
use crate::auth::{CurrentAgent, otp_header};
use crate::domain::agent::Permission;
use crate::domain::ids::{IncidentId, RunId};
use crate::domain::run::Run;
use crate::domain::validation::{FieldError, Fields};
use crate::edge::error::ApiError;
use crate::edge::http::{FromJson, JsonBody, Routes};
use crate::state::AppState;

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

#[tracing::instrument(skip_all, fields(incident.id = %incident_id))]
async fn start_run(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(incident_id): Path<IncidentId>,
    JsonBody(request): JsonBody<StartRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let run = agent_actions::start(
        &state,
        &mut agent,
        &incident_id,
        &request.playbook_id,
        otp_header(&headers),
    )
    .await?;
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
    let run = agent_actions::approve(&state, &mut agent, &run_id, otp_header(&headers)).await?;
    Ok(Json(run_json(&run)))
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
    let run = agent_actions::resume(&state, &mut agent, &run_id, otp_header(&headers)).await?;
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
