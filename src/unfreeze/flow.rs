//! The holder's steps through a flow: the one-time code, their own 2-step
//! code (checked by the exchange), and their answer about each flagged
//! activity; then the automatic unfreeze or the agents' queue. The JSON API
//! ([`super::api`]) and the web pages ([`super::web`]) are two adapters over
//! these functions.

use std::time::Duration;

use serde_json::{Value, json};

pub use super::error::HolderError;
use super::notify::record_change;
use super::status::{FlowStatus, status};
use super::{UNFREEZE_PLAYBOOK, codes};
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::disposition::HolderSaid;
use crate::domain::exchange::{AccountAction, Destination};
use crate::domain::ids::{RunId, new_id};
use crate::domain::incident::Incident;
use crate::domain::incident::Resolution;
use crate::domain::run::Initiator;
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::{Answer, AutomaticRoute, FAILURE_WINDOW, Flow, FlowState, Route, StepError};
use crate::domain::validation::FieldError;
use crate::feedback::record_holder_said;
use crate::platform::crypto::token_hash;
use crate::runs::finish;
use crate::state::AppState;
use crate::storage::WriteTx;

/// A flow and its incident, both locked (incident first, as everywhere).
struct Locked {
    tx: WriteTx,
    flow: Flow,
    incident: Incident,
    before: FlowState,
}

async fn lock(state: &AppState, token: &str) -> Result<Locked, HolderError> {
    let hash = token_hash(token);
    let found = state.db().flow_by_token(&hash).await?.ok_or(HolderError::UnknownLink)?;
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let incident = tx
        .lock_incident(&found.incident_id)
        .await?
        .ok_or(HolderError::UnknownLink)?;
    let mut flow = tx.lock_flow_by_token(&hash).await?.ok_or(HolderError::UnknownLink)?;
    tracing::Span::current().record("flow.id", flow.id.as_str());
    let before = flow.state;
    if flow.expire_if_due(now) {
        record_change(state, &mut tx, &flow, before, now).await?;
        tx.save_flow(&flow).await?;
        state.commit(tx).await?;
        return Err(HolderError::Expired);
    }
    if flow.state == FlowState::Expired {
        return Err(HolderError::Expired);
    }
    Ok(Locked {
        tx,
        flow,
        incident,
        before,
    })
}

/// Saves the flow, records a state change (audit and notification) and commits.
async fn finish(state: &AppState, locked: Locked) -> Result<(), HolderError> {
    let Locked {
        mut tx, flow, before, ..
    } = locked;
    let now = state.clock().now();
    tx.save_flow(&flow).await?;
    if flow.state != before {
        record_change(state, &mut tx, &flow, before, now).await?;
    }
    state.commit(tx).await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(flow.id))]
pub async fn enter_code(state: &AppState, token: &str, code: &str) -> Result<FlowStatus, HolderError> {
    let mut locked = lock(state, token).await?;
    let now = state.clock().now();
    let matches = codes::code_matches(state, &locked.flow, code.trim());
    let result = locked.flow.submit_code(matches, now);
    if matches!(result, Err(StepError::Wrong { .. } | StepError::Locked)) {
        locked.tx.record_flow_failure(&locked.flow, "code", now).await?;
    }
    finish(state, locked).await?;
    result.map_err(HolderError::Step)?;
    // Ask the exchange at once whether the holder has a 2-step method; if not,
    // the step is skipped and the holder goes straight on to the review.
    if let Err(error) = check_second_factor(state, token, None).await {
        tracing::info!(error = ?error, "could not ask the exchange about the holder's second factor yet");
    }
    status(state, token).await
}

#[tracing::instrument(skip_all, fields(flow.id))]
pub async fn resend_code(state: &AppState, token: &str) -> Result<FlowStatus, HolderError> {
    let mut locked = lock(state, token).await?;
    let now = state.clock().now();
    codes::send_code(state, &mut locked.tx, &mut locked.flow, now).await?;
    finish(state, locked).await?;
    status(state, token).await
}

#[tracing::instrument(skip_all, fields(flow.id))]
pub async fn enter_second_factor(state: &AppState, token: &str, code: &str) -> Result<FlowStatus, HolderError> {
    check_second_factor(state, token, Some(code)).await?;
    status(state, token).await
}

/// Asks the exchange to check the holder's own 2-step code (`None`: only
/// whether they have a method). A probe with no code never counts as a try.
async fn check_second_factor(state: &AppState, token: &str, code: Option<&str>) -> Result<(), HolderError> {
    let flow = state
        .db()
        .flow_by_token(&token_hash(token))
        .await?
        .ok_or(HolderError::UnknownLink)?;
    if flow.state != FlowState::AwaitingSecondFactor {
        // Already past it (the exchange said the holder has no method): nothing to check.
        if flow.second_factor_verified_at.is_some() && code.is_some() {
            return Ok(());
        }
        return Err(HolderError::Step(StepError::NotNow(flow.state.as_str())));
    }
    let key = format!("{}:second_factor:{}", flow.id, new_id());
    let body = json!({
        "idempotency_key": key,
        "account_id": flow.account_id,
        "action": AccountAction::CheckSecondFactor,
        "code": code.unwrap_or(""),
    });
    let now = state.clock().now();
    let traceparent = crate::platform::trace_context::current().map(|trace| trace.outbound(&tracing::Span::current()));
    let answer = state
        .exchange()
        .send(
            Destination::AccountControl,
            &body.to_string(),
            traceparent.as_deref(),
            now,
        )
        .await
        .map_err(|_| HolderError::ExchangeUnavailable)?;
    let verdict = match (
        answer.get("status").and_then(Value::as_str),
        answer.get("valid").and_then(Value::as_bool),
    ) {
        (Some("none"), _) => None,
        (Some("done"), Some(valid)) => Some(valid),
        _ => return Err(HolderError::ExchangeUnavailable),
    };
    let mut locked = lock(state, token).await?;
    let now = state.clock().now();
    let result = match (verdict, code) {
        (None, _) => locked.flow.skip_second_factor(now),
        (Some(valid), Some(_)) => {
            let result = locked.flow.submit_second_factor(valid, now);
            if matches!(result, Err(StepError::Wrong { .. } | StepError::Locked)) {
                locked
                    .tx
                    .record_flow_failure(&locked.flow, "second_factor", now)
                    .await?;
            }
            result
        }
        // A probe found a method: the holder must now enter their code.
        (Some(_), None) => {
            locked.flow.second_factor_required = Some(true);
            Ok(())
        }
    };
    finish(state, locked).await?;
    result.map_err(HolderError::Step)
}

/// Records the holder's answers and routes the flow: a low-risk incident whose
/// every activity was the holder's own is unfrozen at once by the
/// `unfreeze-account` playbook; anything else waits for an agent.
#[tracing::instrument(skip_all, fields(flow.id))]
pub async fn answer_activities(state: &AppState, token: &str, answers: Vec<Answer>) -> Result<FlowStatus, HolderError> {
    let mut locked = lock(state, token).await?;
    let now = state.clock().now();
    if locked.flow.state != FlowState::AwaitingActivityReview {
        return Err(HolderError::Step(StepError::NotNow(locked.flow.state.as_str())));
    }
    let alert_ids = locked.tx.incident_alert_ids(&locked.incident.id).await?;
    check_answers(&answers, alert_ids.iter().map(String::as_str))?;
    let automatic = automatic_route(state, &mut locked, now).await?;
    let route = locked
        .flow
        .submit_answers(answers, &automatic, now)
        .map_err(HolderError::Step)?;
    let answered = locked.flow.answers.clone().unwrap_or_default();
    locked.tx.audit(
        AuditRecord::new(now, "holder", AuditAction::UnfreezeActivityReviewed)
            .incident(&locked.incident.id, &locked.incident.account_id)
            .detail(json!({
                "flow_id": locked.flow.id,
                "mine": answered.iter().filter(|a| a.mine).count(),
                "not_mine": answered.iter().filter(|a| !a.mine).count(),
            })),
    );
    if let Some(said) = HolderSaid::of_flow(&locked.flow) {
        let incident = &locked.incident;
        record_holder_said(&mut locked.tx, &incident.id, &incident.account_id, said, now).await?;
    }
    // The identity gate reads the flow from the database: save it first.
    locked.tx.save_flow(&locked.flow).await?;
    match route {
        Route::Unfreeze => unfreeze_now(state, &mut locked, now).await?,
        Route::Review => {
            wake_waiting_unfreeze_run(state, &mut locked, false, now).await?;
        }
    }
    // A run that finished within this transaction updated the flow's row:
    // read it again rather than write back a stale copy.
    if let Some(current) = locked.tx.lock_flow(&locked.flow.id).await? {
        locked.flow = current;
    }
    let run_id = locked.flow.run_id.clone();
    let finished = state.run_events().subscribe();
    finish(state, locked).await?;
    if let (Route::Unfreeze, Some(run_id)) = (route, run_id) {
        wait_for_run(state, &run_id, finished).await?;
    }
    status(state, token).await
}

/// Whether the holder's answers may unfreeze the account at once: the one
/// place the automatic route's conditions are gathered (the rule itself is
/// [`AutomaticRoute::is_open`]).
async fn automatic_route(state: &AppState, locked: &mut Locked, now: Timestamp) -> anyhow::Result<AutomaticRoute> {
    let incident = &locked.incident;
    let playbook_allows = state
        .playbooks()
        .runnable(UNFREEZE_PLAYBOOK)
        .is_some_and(|(_, playbook)| playbook.approvals_needed(incident.priority) == 0);
    let recent_failures = locked
        .tx
        .flow_failures_since(&incident.account_id, now.minus(FAILURE_WINDOW))
        .await?;
    Ok(AutomaticRoute {
        playbook_allows,
        recent_failures,
        confirmed_takeover: incident.resolution == Some(Resolution::ConfirmedTakeover),
        two_proofs: locked.flow.two_proofs(),
    })
}

/// How long a holder's answer waits for the automatic unfreeze to finish.
const UNFREEZE_WAIT: Duration = Duration::from_secs(8);
/// How often the wait looks at the run itself, in case news of it was missed.
const UNFREEZE_RECHECK: Duration = Duration::from_secs(1);

/// Waits (bounded) until the run ends, so the holder's answer reports an
/// account that is really unfrozen. `finished` was subscribed before the
/// transaction that started the run committed, so no news is missed. The
/// exchange confirms each step in milliseconds; if it is slow, the holder
/// sees the state as it stands and is notified when the run ends.
async fn wait_for_run(
    state: &AppState,
    run_id: &RunId,
    mut finished: tokio::sync::broadcast::Receiver<RunId>,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + UNFREEZE_WAIT;
    loop {
        if state.db().run(run_id).await?.is_none_or(|run| run.status.is_finished()) {
            return Ok(());
        }
        let wake_at = deadline.min(tokio::time::Instant::now() + UNFREEZE_RECHECK);
        loop {
            match tokio::time::timeout_at(wake_at, finished.recv()).await {
                Ok(Ok(id)) if id == *run_id => return Ok(()),
                Ok(Ok(_)) => continue,
                // Fell behind or closed: look at the run itself.
                Ok(Err(_)) | Err(_) => break,
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(());
        }
    }
}

fn check_answers<'a>(answers: &[Answer], alert_ids: impl Iterator<Item = &'a str>) -> Result<(), HolderError> {
    let expected: std::collections::BTreeSet<&str> = alert_ids.collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut errors = Vec::new();
    for (index, answer) in answers.iter().enumerate() {
        if !expected.contains(answer.alert_id.as_str()) {
            errors.push(FieldError::new(
                format!("answers[{index}].alert_id"),
                "is not one of the flagged activities",
            ));
        } else if !seen.insert(answer.alert_id.as_str()) {
            errors.push(FieldError::new(
                format!("answers[{index}].alert_id"),
                "is answered twice",
            ));
        }
    }
    for missing in expected.difference(&seen) {
        errors.push(FieldError::new(
            "answers",
            format!("has no answer for activity {missing}"),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(HolderError::Answers(errors))
    }
}

/// Lifts the freeze for the verified holder: an unfreeze run already waiting
/// on the incident continues, or a new one starts on the holder's behalf. The
/// holder's fresh verification counts as the run's MFA.
async fn unfreeze_now(state: &AppState, locked: &mut Locked, now: Timestamp) -> anyhow::Result<()> {
    if wake_waiting_unfreeze_run(state, locked, true, now).await? {
        return Ok(());
    }
    let (loaded, playbook) = state
        .playbooks()
        .runnable(UNFREEZE_PLAYBOOK)
        .expect("checked before routing");
    let incident_before = locked.incident.clone();
    let run = finish::start_run(
        state,
        &mut locked.tx,
        &mut locked.incident,
        loaded,
        playbook,
        Initiator::Holder,
        now,
    )
    .await?;
    locked.flow.run_id = Some(run.id);
    locked.tx.save_flow(&locked.flow).await?;
    if locked.incident != incident_before {
        locked.tx.save_incident(&locked.incident).await?;
    }
    Ok(())
}

/// Advances the incident's unfinished unfreeze run, if any, now that the
/// holder is verified. With `holder_mfa`, the holder's verification also
/// counts as the run's fresh MFA. Returns whether there was such a run.
async fn wake_waiting_unfreeze_run(
    state: &AppState,
    locked: &mut Locked,
    holder_mfa: bool,
    now: Timestamp,
) -> anyhow::Result<bool> {
    let Some(run_id) = locked.tx.unfinished_run(&locked.incident.id, UNFREEZE_PLAYBOOK).await? else {
        return Ok(false);
    };
    let Some(mut run) = locked.tx.lock_run(&run_id).await? else {
        return Ok(false);
    };
    let before = run.clone();
    let incident_before = locked.incident.clone();
    if holder_mfa {
        run.elevated_at = run.elevated_at.max(Some(now));
    }
    locked.flow.run_id = Some(run.id.clone());
    locked.tx.save_flow(&locked.flow).await?;
    finish::advance_run(state, &mut locked.tx, &mut run, &mut locked.incident, now).await?;
    locked.tx.save_run(&run, &before).await?;
    if locked.incident != incident_before {
        locked.tx.save_incident(&locked.incident).await?;
    }
    Ok(true)
}
