//! The runs API: start a playbook on an incident, read a run, approve it
//! (a second lead), resume it with a fresh step-up; each a thin translation
//! to [`super::agent_actions`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::agent_actions;
use crate::auth::{CurrentAgent, otp_header};
use crate::domain::agent::Permission;
use crate::domain::ids::{IncidentId, RunId};
use crate::domain::playbook::waits_for;
use crate::domain::run::{Gate, PlaybookRef, Run, RunStatus, StepOutcome, StepStatus};
use crate::domain::time::Timestamp;
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

#[derive(ToSchema)]
#[schema(as = StartRunRequest)]
pub struct StartRequest {
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
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let run = agent_actions::start(
        &state,
        &mut agent,
        &incident_id,
        &request.playbook_id,
        otp_header(&headers),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(RunView::of(&run))))
}

#[tracing::instrument(skip_all, fields(run.id = %run_id))]
async fn show_run(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(run_id): Path<RunId>,
) -> Result<Json<RunView>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let run = state
        .db()
        .run(&run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the run"))?;
    Ok(Json(RunView::of(&run)))
}

/// A second lead's approval. The agent who started the run never counts.
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
async fn approve_run(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(run_id): Path<RunId>,
) -> Result<Json<RunView>, ApiError> {
    let run = agent_actions::approve(&state, &mut agent, &run_id, otp_header(&headers)).await?;
    Ok(Json(RunView::of(&run)))
}

/// Gives a waiting run a fresh MFA (for a step marked `mfa` reached after
/// the last step-up expired).
#[tracing::instrument(skip_all, fields(run.id = %run_id))]
async fn resume_run(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(run_id): Path<RunId>,
) -> Result<Json<RunView>, ApiError> {
    let run = agent_actions::resume(&state, &mut agent, &run_id, otp_header(&headers)).await?;
    Ok(Json(RunView::of(&run)))
}

/// A playbook run and the state of each of its steps.
#[derive(Serialize, ToSchema)]
#[schema(as = Run)]
pub struct RunView {
    #[schema(value_type = String)]
    run_id: RunId,
    #[schema(value_type = String)]
    incident_id: IncidentId,
    status: RunStatus,
    playbook: PlaybookRef,
    /// `agent:<username>`, `system` or `holder`.
    started_by: String,
    automatic_only: bool,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    finished_at: Option<Timestamp>,
    #[schema(required)]
    failure: Option<String>,
    approvals: Vec<ApprovalView>,
    steps: Vec<RunStepView>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Approval)]
pub struct ApprovalView {
    /// The approving lead's username.
    agent: String,
    #[schema(value_type = String, format = DateTime)]
    approved_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
#[schema(as = RunStep)]
pub struct RunStepView {
    #[schema(minimum = 1)]
    position: u32,
    name: String,
    action: String,
    automatic: bool,
    mfa: bool,
    /// The positions of the steps this one starts after: every step before
    /// it, unless the playbook names fewer (`after`).
    waits_for: Vec<u32>,
    status: StepStatus,
    #[schema(required)]
    waiting_for: Option<Gate>,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    finished_at: Option<Timestamp>,
    /// What the step did and which exchange confirmations it waited for; null before it ran.
    #[schema(value_type = Option<Value>, nullable, required)]
    outcome: Option<StepOutcome>,
}

impl RunView {
    pub fn of(run: &Run) -> Self {
        RunView {
            run_id: run.id.clone(),
            incident_id: run.incident_id.clone(),
            status: run.status,
            playbook: run.playbook.clone(),
            started_by: run.started_by_name.clone(),
            automatic_only: run.automatic_only,
            created_at: run.created_at,
            updated_at: run.updated_at,
            finished_at: run.finished_at,
            failure: run.failure.clone(),
            approvals: run
                .approvals
                .iter()
                .map(|a| ApprovalView {
                    agent: a.username.clone(),
                    approved_at: a.approved_at,
                })
                .collect(),
            steps: run
                .steps
                .iter()
                .enumerate()
                .map(|(index, step)| RunStepView {
                    position: step.position,
                    name: step.step.name.clone(),
                    action: step.step.action.name(),
                    automatic: step.step.automatic,
                    mfa: step.step.mfa,
                    waits_for: waits_for(&run.steps, index)
                        .map(|earlier| run.steps[earlier].position)
                        .collect(),
                    status: step.status,
                    waiting_for: step.waiting_for,
                    started_at: step.started_at,
                    finished_at: step.finished_at,
                    outcome: step.outcome.clone(),
                })
                .collect(),
        }
    }
}
