//! The run engine: moves a locked run forward as far as it can go, inside the
//! caller's transaction.
//!
//! An action's effect is verified before any step that waits for it starts
//! (by default the next one; requests to the exchange may name what they
//! wait for, and then go out together): a hold must be in the database and
//! the exchange must have confirmed its push. Requests to
//! the exchange go through the outbox with idempotency keys derived from the
//! run and the step (`<run id>:<position>:<action>[:<scope>]`), so a step
//! resumed after a crash re-queues nothing new and the exchange never sees
//! one action under two keys.
//!
//! The engine decides nothing about what a finished run means to other
//! features: it reports the outcome ([`Progressed`]) and
//! [`super::finish`] passes it on to the feature that owns the kind.

use std::time::Duration;

use serde_json::json;

use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::hold::HoldScope;
use crate::domain::ids::RunId;
use crate::domain::incident::{Incident, Transition};
use crate::domain::playbook::{Action, Playbook, PlaybookKind};
use crate::domain::run::{
    Gate, Initiator, LiftCheck, PlaybookRef, Run, RunEvent, RunOutcome, RunStatus, StepOutcome, StepStatus,
};
use crate::domain::time::Timestamp;
use crate::holds::{self, Placement};
use crate::outbox::{AccountRequest, queue_action};
use crate::state::handles::LoadedPlaybook;
use crate::storage::WriteTx;

/// What a pass of the engine left for the caller: a run that finished in
/// this pass must be reported to [`super::finish::run_finished`].
#[must_use = "a run that finished must be reported through runs::finish::run_finished"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progressed {
    /// Set when the run finished in this pass.
    pub finished: Option<RunOutcome>,
}

/// Creates a run of `playbook` on a locked incident and advances it.
pub async fn start(
    tx: &mut WriteTx,
    incident: &mut Incident,
    loaded: &LoadedPlaybook,
    playbook: &Playbook,
    initiator: Initiator,
    now: Timestamp,
) -> anyhow::Result<(Run, Progressed)> {
    let reference = PlaybookRef {
        id: playbook.id.clone(),
        version: playbook.version,
        digest: loaded.digest.clone(),
        kind: playbook.kind,
    };
    let mut run = Run::start(
        RunId::new(),
        incident.id.clone(),
        reference,
        &playbook.steps,
        initiator,
        now,
    );
    tx.insert_run(&run).await?;
    tx.audit(
        AuditRecord::new(now, &run.started_by_name, AuditAction::RunStarted)
            .incident(&incident.id, &incident.account_id)
            .detail(json!({
                "run_id": run.id,
                "playbook_id": run.playbook.id,
                "playbook_version": run.playbook.version,
                "playbook_digest": run.playbook.digest,
                "automatic_only": run.automatic_only,
            })),
    );
    let gives_back = matches!(playbook.kind, PlaybookKind::Recovery | PlaybookKind::Unfreeze);
    if gives_back && incident.status.allows(Transition::StartRecovery) {
        let record = incident.transition(
            Transition::StartRecovery,
            &run.started_by_name,
            json!({"run_id": run.id}),
            now,
        )?;
        tx.audit(record);
    }
    let before = run.clone();
    let progressed = advance(tx, &mut run, incident, now).await?;
    tx.save_run(&run, &before).await?;
    Ok((run, progressed))
}

/// What one step allows after this pass.
enum Step {
    /// Done (succeeded or skipped): go on to the next step.
    Done,
    /// The run pauses here, `running` (confirming an effect) or `waiting` (a gate).
    Paused(RunStatus),
    /// The step failed; the run fails with it.
    Failed(String),
}

/// Moves a locked run (and its locked incident) forward as far as possible.
#[tracing::instrument(skip_all, fields(run.id = %run.id, incident.id = %incident.id))]
pub async fn advance(
    tx: &mut WriteTx,
    run: &mut Run,
    incident: &mut Incident,
    now: Timestamp,
) -> anyhow::Result<Progressed> {
    if run.status.is_finished() {
        return Ok(Progressed { finished: None });
    }
    // Steps in file order: a step waits only for steps before it, so one
    // pass starts everything that became ready during the pass.
    let mut paused = None;
    for index in 0..run.steps.len() {
        if !run.ready(index) {
            continue;
        }
        match step(tx, run, index, incident, now).await? {
            Step::Done => continue,
            Step::Paused(status) => {
                // Confirming an effect outranks waiting at a gate: a `running`
                // run is the one the sweeper picks up again after a restart.
                if paused != Some(RunStatus::Running) {
                    paused = Some(status);
                }
            }
            Step::Failed(reason) => {
                if run.steps[index].status != StepStatus::Failed {
                    tx.count_failed_step();
                }
                let events = run.fail_step(index, &reason, now);
                for event in events {
                    record(tx, incident, event, now);
                }
                tracing::warn!(run.id = %run.id, incident.id = %incident.id, failure = ?run.failure, "playbook run failed");
                return Ok(Progressed {
                    finished: Some(RunOutcome::Failed),
                });
            }
        }
    }
    if let Some(status) = paused {
        run.pause(status, now);
        return Ok(Progressed { finished: None });
    }
    let event = run.succeed(now);
    record(tx, incident, event, now);
    Ok(Progressed {
        finished: Some(RunOutcome::Succeeded),
    })
}

/// Puts a run's event on the incident's timeline.
fn record(tx: &mut WriteTx, incident: &Incident, event: RunEvent, now: Timestamp) {
    tx.audit(
        AuditRecord::new(now, "system", event.action)
            .incident(&incident.id, &incident.account_id)
            .detail(event.detail),
    );
}

async fn step(
    tx: &mut WriteTx,
    run: &mut Run,
    index: usize,
    incident: &mut Incident,
    now: Timestamp,
) -> anyhow::Result<Step> {
    let current = run.steps[index].clone();
    match current.status {
        StepStatus::Succeeded | StepStatus::Skipped => return Ok(Step::Done),
        StepStatus::Failed => return Ok(Step::Failed("the step had failed".into())),
        StepStatus::Running => return verify(tx, run, index, incident, now).await,
        StepStatus::Pending | StepStatus::Waiting => {}
    }
    if run.automatic_only && !current.step.automatic {
        let event = run.skip_step(index, "not automatic; run it by hand if needed", now);
        record(tx, incident, event, now);
        return Ok(Step::Done);
    }
    if current.step.mfa && !run.mfa_is_fresh(now) {
        return Ok(wait(tx, run, index, incident, Gate::Mfa, now));
    }
    match &current.step.action {
        Action::VerifyIdentity { .. } => {
            if tx.holder_verified(&incident.id).await? {
                let verified = StepOutcome {
                    verified_by: Some("unfreeze_flow".into()),
                    ..StepOutcome::default()
                };
                let event = run.succeed_step(index, verified, now);
                record(tx, incident, event, now);
                Ok(Step::Done)
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
                let outcome = StepOutcome {
                    approved_by: Some(run.approvals.iter().map(|a| a.username.clone()).collect()),
                    needed: Some(for_priorities.contains(&incident.priority)),
                    ..StepOutcome::default()
                };
                let event = run.succeed_step(index, outcome, now);
                record(tx, incident, event, now);
                Ok(Step::Done)
            } else {
                Ok(wait(tx, run, index, incident, Gate::Approval, now))
            }
        }
        Action::LiftHold { .. } => match run.lift_check(incident) {
            LiftCheck::Proceed => act(tx, run, index, incident, now).await,
            LiftCheck::Wait(gate) => Ok(wait(tx, run, index, incident, gate, now)),
            LiftCheck::Refuse(reason) => Ok(Step::Failed(reason)),
        },
        _ => act(tx, run, index, incident, now).await,
    }
}

/// Carries out an effect step and starts verifying it.
async fn act(
    tx: &mut WriteTx,
    run: &mut Run,
    index: usize,
    incident: &mut Incident,
    now: Timestamp,
) -> anyhow::Result<Step> {
    let current = run.steps[index].clone();
    let outcome = execute(tx, run, current.position, &current.step.action, incident, now).await?;
    let event = run.begin_step(index, outcome, now);
    record(tx, incident, event, now);
    verify(tx, run, index, incident, now).await
}

/// Places containment's floor: the scopes every automatic containment
/// freezes at least, when no playbook ran or the one that ran froze less.
/// No run owns these holds; they are placed by `system` and pushed under
/// `<push_key_prefix>:place_hold:<scope>`.
pub(super) async fn place_floor(
    tx: &mut WriteTx,
    incident: &Incident,
    scopes: &[HoldScope],
    reason: &str,
    push_key_prefix: &str,
    now: Timestamp,
) -> anyhow::Result<()> {
    holds::place(
        tx,
        &Placement {
            incident,
            scopes,
            reason,
            placed_by: "system",
            expires_at: None,
            push_key_prefix,
            run_id: None,
        },
        now,
    )
    .await?;
    Ok(())
}

fn wait(tx: &mut WriteTx, run: &mut Run, index: usize, incident: &Incident, gate: Gate, now: Timestamp) -> Step {
    if let Some(event) = run.wait_step(index, gate, now) {
        record(tx, incident, event, now);
    }
    Step::Paused(RunStatus::Waiting)
}

/// Carries out an effect step; returns its outcome (what it changed, which
/// messages confirm it).
async fn execute(
    tx: &mut WriteTx,
    run: &Run,
    position: u32,
    action: &Action,
    incident: &mut Incident,
    now: Timestamp,
) -> anyhow::Result<StepOutcome> {
    let prefix = format!("{}:{position}", run.id);
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
            let freezes = expires_at.is_none();
            if run.playbook.kind == PlaybookKind::Containment && freezes && incident.status.allows(Transition::Contain)
            {
                tx.audit(incident.transition(Transition::Contain, actor, json!({"run_id": run.id}), now)?);
            }
            Ok(StepOutcome {
                holds: Some(placed.iter().map(|p| p.hold.id.clone()).collect()),
                messages: Some(placed.iter().map(|p| p.message_key.clone()).collect()),
                ..StepOutcome::default()
            })
        }
        Action::LiftHold { scopes } => {
            // Re-contained while the run waited (a rise to P1, say): lifting
            // is the recovery again.
            if incident.status.allows(Transition::StartRecovery) {
                tx.audit(incident.transition(Transition::StartRecovery, actor, json!({"run_id": run.id}), now)?);
            }
            let lifted = holds::lift(tx, incident, scopes, actor, &prefix, Some(&run.id), now).await?;
            Ok(StepOutcome {
                lifted: Some(lifted.iter().map(|p| p.hold.id.clone()).collect()),
                messages: Some(lifted.iter().map(|p| p.message_key.clone()).collect()),
                ..StepOutcome::default()
            })
        }
        Action::Exchange { request } => {
            let key = format!("{prefix}:{}", request.as_str());
            queue_action(
                tx,
                &AccountRequest {
                    idempotency_key: key.clone(),
                    account_id: &incident.account_id,
                    action: (*request).into(),
                    scope: None,
                    incident_id: &incident.id,
                    run_id: Some(&run.id),
                },
                now,
            )
            .await?;
            Ok(StepOutcome {
                messages: Some(vec![key]),
                ..StepOutcome::default()
            })
        }
        Action::VerifyIdentity { .. } | Action::RequireApproval { .. } => Ok(StepOutcome::default()),
    }
}

mod verify;

use verify::verify;
