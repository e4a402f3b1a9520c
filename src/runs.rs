//! The playbook runner.
//!
//! A run is durable: every step's state is stored, and [`advance`] moves a
//! locked run forward as far as it can go, in the caller's transaction. An
//! action's effect is verified before the next step starts: a hold must be in
//! the database and the exchange must have confirmed its push. Requests to
//! the exchange go through the outbox with idempotency keys derived from the
//! run and the step (`<run id>:<position>:<action>[:<scope>]`), so a step
//! resumed after a crash re-queues nothing new and the exchange never sees
//! one action under two keys.
//!
//! Runs are advanced when they start, when an approval or a resume arrives,
//! when the exchange answers one of their messages, when the holder's
//! identity is verified, and by a sweeper that picks up runs left `running`
//! (after a restart, say).

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::audit::AuditRecord;
use crate::domain::hold::HoldScope;
use crate::domain::incident::{Incident, IncidentStatus, Transition};
use crate::domain::playbook::{Action, Playbook, PlaybookKind};
use crate::domain::run::{Approval, Gate, PlaybookRef, Run, RunStatus, RunStep, StepStatus};
use crate::domain::time::Timestamp;
use crate::domain::validation::{FieldError, Fields};
use crate::error::ApiError;
use crate::holds::{self, Placement};
use crate::http::{FromJson, JsonBody, Routes};
use crate::outbox::{AccountAction, queue_action};
use crate::playbooks::LoadedPlaybook;
use crate::storage::{OutboxStatus, WriteTx};

/// How often the sweeper looks for runs to pick up again.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// A run is swept only when nothing has moved it for this long.
const SWEEP_AFTER: Duration = Duration::from_secs(2);

pub fn routes() -> Routes {
    Routes::new()
        .post("/v1/incidents/{id}/runs", start_run)
        .get("/v1/runs/{id}", show_run)
        .post("/v1/runs/{id}/approve", approve_run)
        .post("/v1/runs/{id}/resume", resume_run)
}

/// Who starts a run.
pub enum Starter {
    /// Holdfast itself, for automatic containment: only automatic steps run.
    System,
    /// The account holder, through the unfreeze flow; their verified second
    /// factor counts as the run's MFA.
    Holder,
    /// An agent, who stepped up at `elevated_at`.
    Agent {
        id: String,
        username: String,
        elevated_at: Timestamp,
    },
}

/// Creates a run of `playbook` on a locked incident and advances it.
pub async fn start(
    state: &AppState,
    tx: &mut WriteTx,
    incident: &mut Incident,
    loaded: &LoadedPlaybook,
    playbook: &Playbook,
    starter: Starter,
    now: Timestamp,
) -> anyhow::Result<Run> {
    let (started_by, started_by_name, elevated_at, automatic_only) = match starter {
        Starter::System => ("system".to_owned(), "system".to_owned(), None, true),
        Starter::Holder => ("holder".to_owned(), "holder".to_owned(), Some(now), false),
        Starter::Agent {
            id,
            username,
            elevated_at,
        } => (id, format!("agent:{username}"), Some(elevated_at), false),
    };
    let mut run = Run {
        id: crate::ids::new_id(),
        incident_id: incident.id.clone(),
        playbook: PlaybookRef {
            id: playbook.id.clone(),
            version: playbook.version,
            digest: loaded.digest.clone(),
            kind: playbook.kind,
        },
        status: RunStatus::Running,
        started_by,
        started_by_name,
        automatic_only,
        elevated_at,
        created_at: now,
        updated_at: now,
        finished_at: None,
        failure: None,
        steps: playbook
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| RunStep {
                position: index as u32 + 1,
                step: step.clone(),
                status: StepStatus::Pending,
                waiting_for: None,
                started_at: None,
                finished_at: None,
                outcome: None,
            })
            .collect(),
        approvals: Vec::new(),
    };
    tx.insert_run(&run).await?;
    tx.audit(
        AuditRecord::new(now, &run.started_by_name, "run.started")
            .incident(&incident.id, &incident.account_id)
            .detail(json!({
                "run_id": run.id,
                "playbook_id": run.playbook.id,
                "playbook_version": run.playbook.version,
                "playbook_digest": run.playbook.digest,
                "automatic_only": run.automatic_only,
            })),
    );
    if matches!(playbook.kind, PlaybookKind::Recovery | PlaybookKind::Unfreeze)
        && incident.status == IncidentStatus::Contained
    {
        let record = incident.transition(
            Transition::StartRecovery,
            &run.started_by_name,
            json!({"run_id": run.id}),
            now,
        )?;
        tx.audit(record);
    }
    let before = run.clone();
    advance(state, tx, &mut run, incident, now).await?;
    tx.save_run(&run, &before).await?;
    Ok(run)
}

/// What one step allows after this pass.
enum Progress {
    /// Done (succeeded or skipped): go on to the next step.
    Done,
    /// The run pauses here, `running` (confirming an effect) or `waiting` (a gate).
    Paused(RunStatus),
    /// The step failed; the run fails with it.
    Failed(String),
}

/// Moves a locked run (and its locked incident) forward as far as possible.
pub async fn advance(
    state: &AppState,
    tx: &mut WriteTx,
    run: &mut Run,
    incident: &mut Incident,
    now: Timestamp,
) -> anyhow::Result<()> {
    if run.status.is_finished() {
        return Ok(());
    }
    for index in 0..run.steps.len() {
        match progress(state, tx, run, index, incident, now).await? {
            Progress::Done => continue,
            Progress::Paused(status) => {
                run.status = status;
                run.updated_at = now;
                return Ok(());
            }
            Progress::Failed(reason) => {
                let step = &mut run.steps[index];
                step.status = StepStatus::Failed;
                step.waiting_for = None;
                step.finished_at = Some(now);
                let mut outcome = step.outcome.take().unwrap_or_else(|| json!({}));
                outcome["error"] = json!(reason);
                step.outcome = Some(outcome);
                let failure = format!("step {} ({}): {reason}", step.position, step.step.name);
                audit_step(
                    tx,
                    run,
                    index,
                    incident,
                    "run.step_failed",
                    json!({"error": reason}),
                    now,
                );
                tx.audit(
                    AuditRecord::new(now, "system", "run.failed")
                        .incident(&incident.id, &incident.account_id)
                        .detail(json!({"run_id": run.id, "failure": failure})),
                );
                tracing::warn!(run.id = %run.id, incident.id = %incident.id, failure = %failure, "playbook run failed");
                run.status = RunStatus::Failed;
                run.failure = Some(failure);
                run.finished_at = Some(now);
                run.updated_at = now;
                crate::unfreeze::on_unfreeze_run_failed(state, tx, run, now).await?;
                return Ok(());
            }
        }
    }
    run.status = RunStatus::Succeeded;
    run.finished_at = Some(now);
    run.updated_at = now;
    crate::unfreeze::on_unfreeze_run_succeeded(state, tx, run, now).await?;
    tx.audit(
        AuditRecord::new(now, "system", "run.succeeded")
            .incident(&incident.id, &incident.account_id)
            .detail(json!({"run_id": run.id, "playbook_id": run.playbook.id})),
    );
    Ok(())
}

async fn progress(
    state: &AppState,
    tx: &mut WriteTx,
    run: &mut Run,
    index: usize,
    incident: &mut Incident,
    now: Timestamp,
) -> anyhow::Result<Progress> {
    let step = run.steps[index].clone();
    match step.status {
        StepStatus::Succeeded | StepStatus::Skipped => return Ok(Progress::Done),
        StepStatus::Failed => return Ok(Progress::Failed("the step had failed".into())),
        StepStatus::Running => return verify(tx, run, index, incident, now).await,
        StepStatus::Pending | StepStatus::Waiting => {}
    }
    if run.automatic_only && !step.step.automatic {
        let step = &mut run.steps[index];
        step.status = StepStatus::Skipped;
        step.finished_at = Some(now);
        step.outcome = Some(json!({"reason": "not automatic; run it by hand if needed"}));
        audit_step(tx, run, index, incident, "run.step_skipped", json!({}), now);
        return Ok(Progress::Done);
    }
    if step.step.mfa && !run.mfa_is_fresh(now) {
        return Ok(wait(tx, run, index, incident, Gate::Mfa, now));
    }
    match &step.step.action {
        Action::VerifyIdentity { .. } => {
            if crate::unfreeze::identity_verified(tx, incident).await? {
                succeed(tx, run, index, incident, json!({"verified_by": "unfreeze_flow"}), now);
                Ok(Progress::Done)
            } else {
                Ok(wait(tx, run, index, incident, Gate::Identity, now))
            }
        }
        Action::RequireApproval {
            approvals,
            for_priorities,
            ..
        } => {
            if run.approved(*approvals, for_priorities, incident.priority) {
                let approvers: Vec<&str> = run.approvals.iter().map(|a| a.username.as_str()).collect();
                let needed = for_priorities.contains(&incident.priority);
                succeed(
                    tx,
                    run,
                    index,
                    incident,
                    json!({"approved_by": approvers, "needed": needed}),
                    now,
                );
                Ok(Progress::Done)
            } else {
                Ok(wait(tx, run, index, incident, Gate::Approval, now))
            }
        }
        action => {
            let outcome = execute(state, tx, run, &step, action, incident, now).await?;
            let step = &mut run.steps[index];
            step.status = StepStatus::Running;
            step.waiting_for = None;
            step.started_at = Some(now);
            step.outcome = Some(outcome.clone());
            audit_step(tx, run, index, incident, "run.step_started", outcome, now);
            verify(tx, run, index, incident, now).await
        }
    }
}

/// Carries out an effect step; returns its outcome (what it changed, which
/// messages confirm it).
async fn execute(
    _state: &AppState,
    tx: &mut WriteTx,
    run: &Run,
    step: &RunStep,
    action: &Action,
    incident: &mut Incident,
    now: Timestamp,
) -> anyhow::Result<Value> {
    let prefix = format!("{}:{}", run.id, step.position);
    let actor = run.started_by_name.as_str();
    match action {
        Action::PlaceHold {
            scopes,
            reason,
            cool_off_seconds,
        } => {
            let expires_at = cool_off_seconds.map(|seconds| now.plus(Duration::from_secs(seconds)));
            let placed = holds::place(
                tx,
                &Placement {
                    incident,
                    scopes,
                    reason,
                    placed_by: actor,
                    expires_at,
                    push_key_prefix: &prefix,
                    run_id: Some(&run.id),
                },
                now,
            )
            .await?;
            if run.playbook.kind == PlaybookKind::Containment
                && expires_at.is_none()
                && matches!(
                    incident.status,
                    IncidentStatus::Open | IncidentStatus::Acknowledged | IncidentStatus::Recovering
                )
            {
                tx.audit(incident.transition(Transition::Contain, actor, json!({"run_id": run.id}), now)?);
            }
            let messages: Vec<String> = placed
                .iter()
                .map(|h| format!("{prefix}:place_hold:{}", h.scope))
                .collect();
            Ok(json!({"holds": placed.iter().map(|h| &h.id).collect::<Vec<_>>(), "messages": messages}))
        }
        Action::LiftHold { scopes } => {
            let lifted = holds::lift(tx, incident, scopes, actor, &prefix, Some(&run.id), now).await?;
            let messages: Vec<String> = lifted
                .iter()
                .map(|h| format!("{prefix}:lift_hold:{}", h.scope))
                .collect();
            Ok(json!({"lifted": lifted.iter().map(|h| &h.id).collect::<Vec<_>>(), "messages": messages}))
        }
        Action::Exchange { request } => {
            let key = format!("{prefix}:{}", request.as_str());
            queue_action(
                tx,
                &AccountAction {
                    idempotency_key: key.clone(),
                    account_id: &incident.account_id,
                    action: request.as_str(),
                    scope: None,
                    incident_id: &incident.id,
                    run_id: Some(&run.id),
                },
                now,
            )
            .await?;
            Ok(json!({"messages": [key]}))
        }
        Action::VerifyIdentity { .. } | Action::RequireApproval { .. } => Ok(json!({})),
    }
}

/// Checks a running step's effect: its holds are (or are no longer) in place
/// and the exchange confirmed every message.
async fn verify(
    tx: &mut WriteTx,
    run: &mut Run,
    index: usize,
    incident: &Incident,
    now: Timestamp,
) -> anyhow::Result<Progress> {
    let step = run.steps[index].clone();
    let outcome = step.outcome.clone().unwrap_or_else(|| json!({}));
    let unlifted = tx.incident_holds_in_tx(&incident.id).await?;
    let in_place = |scope: &HoldScope| unlifted.iter().any(|h| h.scope == *scope && h.in_force(now));
    match &step.step.action {
        Action::PlaceHold { scopes, .. } => {
            if let Some(missing) = scopes.iter().find(|s| !in_place(s)) {
                return Ok(Progress::Failed(format!("the {missing} hold is not in place")));
            }
        }
        Action::LiftHold { scopes } => {
            if let Some(kept) = scopes
                .iter()
                .find(|s| unlifted.iter().any(|h| h.scope == **s && h.expires_at.is_none()))
            {
                return Ok(Progress::Failed(format!("the {kept} hold is still in place")));
            }
        }
        _ => {}
    }
    let keys: Vec<String> = outcome["messages"]
        .as_array()
        .map(|keys| keys.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let mut confirmed = Vec::new();
    for key in &keys {
        let message = tx.message_in_tx(key).await?;
        match message.as_ref().map(|m| m.status) {
            Some(OutboxStatus::Delivered) => confirmed.push(key.clone()),
            Some(OutboxStatus::Failed) => {
                let error = message.and_then(|m| m.last_error).unwrap_or_default();
                return Ok(Progress::Failed(format!("the exchange did not confirm {key}: {error}")));
            }
            Some(OutboxStatus::Pending) => return Ok(Progress::Paused(RunStatus::Running)),
            None => return Ok(Progress::Failed(format!("the message {key} is missing"))),
        }
    }
    let mut outcome = outcome;
    outcome["confirmed"] = json!(confirmed);
    succeed(tx, run, index, incident, outcome, now);
    Ok(Progress::Done)
}

fn succeed(tx: &mut WriteTx, run: &mut Run, index: usize, incident: &Incident, outcome: Value, now: Timestamp) {
    let step = &mut run.steps[index];
    step.status = StepStatus::Succeeded;
    step.waiting_for = None;
    step.started_at.get_or_insert(now);
    step.finished_at = Some(now);
    step.outcome = Some(outcome.clone());
    audit_step(tx, run, index, incident, "run.step_succeeded", outcome, now);
}

fn wait(tx: &mut WriteTx, run: &mut Run, index: usize, incident: &Incident, gate: Gate, now: Timestamp) -> Progress {
    let step = &mut run.steps[index];
    if step.status != StepStatus::Waiting || step.waiting_for != Some(gate) {
        step.status = StepStatus::Waiting;
        step.waiting_for = Some(gate);
        step.started_at.get_or_insert(now);
        audit_step(
            tx,
            run,
            index,
            incident,
            "run.step_waiting",
            json!({"waiting_for": gate.as_str()}),
            now,
        );
    }
    Progress::Paused(RunStatus::Waiting)
}

fn audit_step(
    tx: &mut WriteTx,
    run: &Run,
    index: usize,
    incident: &Incident,
    action: &str,
    detail: Value,
    now: Timestamp,
) {
    let step = &run.steps[index];
    let mut detail = detail;
    if !detail.is_object() {
        detail = json!({});
    }
    detail["run_id"] = json!(run.id);
    detail["position"] = json!(step.position);
    detail["step"] = json!(step.step.name);
    detail["action"] = json!(step.step.action.name());
    tx.audit(
        AuditRecord::new(now, "system", action)
            .incident(&incident.id, &incident.account_id)
            .detail(detail),
    );
}

/// Advances a run in its own transaction: incident first, then run.
pub async fn advance_by_id(state: &AppState, run_id: &str) -> anyhow::Result<()> {
    let Some(found) = state.db().run(run_id).await? else {
        return Ok(());
    };
    if found.status.is_finished() {
        return Ok(());
    }
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let Some(mut incident) = tx.lock_incident(&found.incident_id).await? else {
        return Ok(());
    };
    let Some(mut run) = tx.lock_run(run_id).await? else {
        return Ok(());
    };
    let (run_before, incident_before) = (run.clone(), incident.clone());
    advance(state, &mut tx, &mut run, &mut incident, now).await?;
    tx.save_run(&run, &run_before).await?;
    if incident != incident_before {
        tx.save_incident(&incident).await?;
    }
    state.after_commit(tx.commit().await?).await;
    Ok(())
}

/// Advances a run soon, on its own task (after the exchange answered, say).
pub fn wake(state: &AppState, run_id: &str) {
    let (state, run_id) = (state.clone(), run_id.to_owned());
    tokio::spawn(async move {
        if let Err(error) = advance_by_id(&state, &run_id).await {
            tracing::warn!(run.id = %run_id, error = format!("{error:#}"), "advancing a run failed; the sweeper will retry");
        }
    });
}

/// Picks up runs left `running` (after a restart, or a missed wake-up).
pub async fn sweep_until_cancelled(state: AppState, cancel: CancellationToken) {
    loop {
        let now = state.clock().now();
        match state.db().runs_in_progress(now.minus(SWEEP_AFTER), 100).await {
            Ok(runs) => {
                for (run_id, _) in runs {
                    if let Err(error) = advance_by_id(&state, &run_id).await {
                        tracing::warn!(run.id = %run_id, error = format!("{error:#}"), "resuming a run failed");
                    }
                }
            }
            Err(error) => tracing::warn!(error = format!("{error:#}"), "looking for runs to resume failed"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}

struct StartRequest {
    playbook_id: String,
}

impl FromJson for StartRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        let mut fields = Fields::new();
        let Some(map) = fields.object(value, "") else {
            return Err(fields.into_errors());
        };
        let playbook_id = fields.required_str(map, "playbook_id").map(str::to_owned);
        match playbook_id {
            Some(playbook_id) => Ok(StartRequest { playbook_id }),
            None => Err(fields.into_errors()),
        }
    }
}

async fn start_run(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(incident_id): Path<String>,
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
    let starter = Starter::Agent {
        id: agent.id.clone(),
        username: agent.username.clone(),
        elevated_at,
    };
    let run = start(&state, &mut tx, &mut incident, loaded, playbook, starter, now).await?;
    if incident != before {
        tx.save_incident(&incident).await?;
    }
    state.after_commit(tx.commit().await?).await;
    Ok((StatusCode::CREATED, Json(run_json(&run))))
}

async fn show_run(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(run_id): Path<String>,
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
async fn approve_run(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(run_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    agent.require(Permission::ApproveRuns)?;
    let found = state
        .db()
        .run(&run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the run"))?;
    if found.started_by == agent.id {
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
async fn resume_run(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(run_id): Path<String>,
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
    advance(state, &mut tx, &mut run, &mut incident, now).await?;
    tx.save_run(&run, &run_before).await?;
    if incident != incident_before {
        tx.save_incident(&incident).await?;
    }
    state.after_commit(tx.commit().await?).await;
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
