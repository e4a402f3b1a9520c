//! What the holder can do to make the account safer (SPEC §13), one service
//! function each: [`not_me`] (a case link), [`lock`] (a lock link or the
//! exchange's app) and [`was_me`]. Nothing here lifts, lowers or proves
//! anything.
//!
//! Freezing for the holder is Holdfast's own containment, in one
//! transaction before the answer: every scope held, pending withdrawals
//! cancelled, sessions and API keys revoked through the outbox, the
//! incident at P1 (reason `holder_reported`) and contained, the account's
//! live unfreeze flow rejected and its unfinished unfreeze run failed. A
//! case that had ended with an unfreeze is open again: the incident is
//! live, and the holder needs the team.

use serde_json::json;

use super::case::CaseError;
use crate::domain::alert::AlertId;
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::case::{HOLDER_REPORTED_RULE, HolderAnswer, IssuedAs};
use crate::domain::disposition::HolderSaid;
use crate::domain::exchange::AccountAction;
use crate::domain::hold::HoldScope;
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{Incident, Transition};
use crate::domain::priority::{Assessment, Priority, Reason};
use crate::domain::run::StepStatus;
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::HOLDER_DECIDER;
use crate::feedback;
use crate::holds::{self, Placement};
use crate::outbox::messages::{AccountRequest, queue_action};
use crate::state::AppState;
use crate::storage::WriteTx;

/// The holder's answer: the incident the case now follows, and a new case
/// token when that is another incident than the one asked about.
pub struct Protected {
    pub incident: Incident,
    pub new_token: Option<String>,
}

/// "This was not me" through a case link of `incident_id`.
#[tracing::instrument(skip_all, fields(incident.id = %incident_id))]
pub async fn not_me(state: &AppState, incident_id: &IncidentId, issued_as: IssuedAs) -> Result<Protected, CaseError> {
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let incident = tx.lock_incident(incident_id).await?.ok_or(CaseError::Unknown)?;
    let account_id = incident.account_id.clone();
    let (mut incident, new_token) = if incident.status.is_closed() {
        let (live, _) = live_or_opened(state, &mut tx, &account_id, now).await?;
        let token = crate::notices::issue_token(&mut tx, &state.links(), &live.id, issued_as, now).await?;
        (live, Some(token))
    } else {
        (incident, None)
    };
    freeze(state, &mut tx, &mut incident, now).await?;
    tx.lock_holder_case(&incident.id, &account_id).await?;
    tx.reopen_case(&incident.id).await?;
    tx.record_holder_answer(&incident.id, HolderAnswer::NotMe, now).await?;
    feedback::record_holder_said(&mut tx, &incident.id, &account_id, HolderSaid::NotMine, now).await?;
    tx.audit(AuditRecord::new(now, "holder", AuditAction::HolderNotMe).incident(&incident.id, &account_id));
    state.commit(tx).await?;
    metrics::counter!("holdfast_holder_not_me_total").increment(1);
    Ok(Protected { incident, new_token })
}

/// Freezes an account for its holder (a lock link's button, the exchange's
/// app): its live incident, or a new `holder_report` incident at P1. Returns
/// the incident and a new case token issued as `issued_as`.
#[tracing::instrument(skip_all)]
pub async fn lock(
    state: &AppState,
    account_id: &AccountId,
    issued_as: IssuedAs,
) -> Result<(Incident, String), CaseError> {
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let (mut incident, _) = live_or_opened(state, &mut tx, account_id, now).await?;
    freeze(state, &mut tx, &mut incident, now).await?;
    let token = crate::notices::issue_token(&mut tx, &state.links(), &incident.id, issued_as, now).await?;
    tx.lock_holder_case(&incident.id, account_id).await?;
    tx.reopen_case(&incident.id).await?;
    tx.record_holder_answer(&incident.id, HolderAnswer::NotMe, now).await?;
    feedback::record_holder_said(&mut tx, &incident.id, account_id, HolderSaid::NotMine, now).await?;
    tx.audit(
        AuditRecord::new(now, "holder", AuditAction::HolderLock)
            .incident(&incident.id, account_id)
            .detail(json!({"via": issued_as})),
    );
    state.commit(tx).await?;
    metrics::counter!("holdfast_holder_locks_total", "via" => issued_as.as_str()).increment(1);
    Ok((incident, token))
}

/// "This was me": recorded and shown to agents, never lowering or lifting
/// anything; on a frozen account it asks for an unfreeze link exactly as
/// `POST /v1/unfreeze` would (the link goes to the registered contact).
#[tracing::instrument(skip_all, fields(incident.id = %incident.id))]
pub async fn was_me(state: &AppState, incident: &Incident, client: &str) -> Result<(), CaseError> {
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    tx.lock_holder_case(&incident.id, &incident.account_id).await?;
    tx.record_holder_answer(&incident.id, HolderAnswer::WasMe, now).await?;
    tx.audit(AuditRecord::new(now, "holder", AuditAction::HolderWasMe).incident(&incident.id, &incident.account_id));
    state.commit(tx).await?;
    metrics::counter!("holdfast_holder_was_me_total").increment(1);
    crate::unfreeze::link::accept_link_request(state, &incident.account_id, client).await;
    Ok(())
}

/// The account's live incident, or a new `holder_report` incident.
async fn live_or_opened(
    state: &AppState,
    tx: &mut WriteTx,
    account_id: &AccountId,
    now: Timestamp,
) -> Result<(Incident, bool), CaseError> {
    let rules = &state.config().priority_rules;
    let assessment = holder_assessment(0);
    let candidate = Incident::open(
        IncidentId::new(),
        account_id.clone(),
        assessment,
        rules.sla(Priority::P1),
        now,
    );
    let (incident, opened) = tx.lock_or_open_live_incident(&candidate).await?;
    if opened {
        tx.audit(
            AuditRecord::new(now, "holder", AuditAction::IncidentOpened)
                .incident(&incident.id, account_id)
                .detail(json!({
                    "priority": incident.priority,
                    "kind": "holder_report",
                    "acknowledge_by": incident.deadlines.acknowledge_by,
                    "contain_by": incident.deadlines.contain_by,
                })),
        );
        metrics::counter!("holdfast_incidents_opened_total", "priority" => incident.priority.as_str()).increment(1);
        tx.lock_holder_case(&incident.id, account_id).await?;
        tx.mark_case_reported(&incident.id).await?;
    }
    Ok((incident, opened))
}

fn holder_assessment(score: u32) -> Assessment {
    Assessment {
        priority: Priority::P1,
        score,
        reasons: vec![Reason {
            rule: HOLDER_REPORTED_RULE.into(),
            description: "The account holder said this was not them".into(),
            points: 0,
            alert_id: AlertId::parse("holder").expect("a valid identifier"),
        }],
    }
}

/// Contains a locked, live incident for its holder. Changes nothing when
/// every scope is already frozen and the incident is P1 and contained.
async fn freeze(state: &AppState, tx: &mut WriteTx, incident: &mut Incident, now: Timestamp) -> anyhow::Result<()> {
    let held = tx.incident_holds_in_tx(&incident.id).await?;
    let missing: Vec<HoldScope> = HoldScope::ALL
        .into_iter()
        .filter(|scope| {
            !held
                .iter()
                .any(|hold| hold.scope == *scope && hold.expires_at.is_none())
        })
        .collect();
    let reported = incident
        .priority_reasons
        .iter()
        .any(|reason| reason.rule == HOLDER_REPORTED_RULE);
    if missing.is_empty()
        && reported
        && incident.priority == Priority::P1
        && !incident.status.allows(Transition::Contain)
    {
        return Ok(());
    }
    let before = incident.clone();
    let rules = &state.config().priority_rules;
    if let Some(from) = incident.reassess(holder_assessment(incident.score), |p| rules.sla(p), now) {
        tx.audit(
            AuditRecord::new(now, "holder", AuditAction::IncidentPriorityRaised)
                .incident(&incident.id, &incident.account_id)
                .detail(json!({"from": from, "to": incident.priority, "reason": HOLDER_REPORTED_RULE})),
        );
    }
    let prefix = format!("holder:{}:{}", incident.id, now.micros());
    if !missing.is_empty() {
        holds::place(
            tx,
            &Placement {
                incident: &*incident,
                scopes: &missing,
                reason: "The account holder said this was not them",
                placed_by: "holder",
                expires_at: None,
                push_key_prefix: &prefix,
                run_id: None,
            },
            now,
        )
        .await?;
        for action in [
            AccountAction::CancelPendingWithdrawals,
            AccountAction::RevokeSessions,
            AccountAction::RevokeApiKeys,
        ] {
            let request = AccountRequest {
                idempotency_key: format!("{prefix}:{action}"),
                account_id: &incident.account_id,
                action,
                scope: None,
                incident_id: &incident.id,
                run_id: None,
            };
            queue_action(tx, &request, now).await?;
        }
    }
    if incident.status.allows(Transition::Contain) {
        tx.audit(incident.transition(Transition::Contain, "holder", json!({"holder_reported": true}), now)?);
    }
    stop_unfreezing(state, tx, incident, now).await?;
    if *incident != before {
        tx.save_incident(incident).await?;
    }
    Ok(())
}

/// Rejects the account's live unfreeze flow and fails the incident's
/// unfinished unfreeze run: the holder said the activity was not theirs.
async fn stop_unfreezing(
    state: &AppState,
    tx: &mut WriteTx,
    incident: &Incident,
    now: Timestamp,
) -> anyhow::Result<()> {
    const REASON: &str = "The account holder said this was not them";
    if let Some(mut flow) = tx.lock_live_flow(&incident.account_id).await? {
        let from = flow.state;
        if flow.reject(HOLDER_DECIDER, REASON, now).is_ok() {
            tx.save_flow(&flow).await?;
            crate::unfreeze::notify::record_change(state, tx, &flow, from, now).await?;
        }
    }
    let Some(run_id) = tx
        .unfinished_run(&incident.id, crate::unfreeze::UNFREEZE_PLAYBOOK)
        .await?
    else {
        return Ok(());
    };
    let Some(mut run) = tx.lock_run(&run_id).await? else {
        return Ok(());
    };
    let before = run.clone();
    let Some(index) = run.steps.iter().position(|step| {
        matches!(
            step.status,
            StepStatus::Pending | StepStatus::Running | StepStatus::Waiting
        )
    }) else {
        return Ok(());
    };
    for event in run.fail_step(index, "cancelled: the account holder said this was not them", now) {
        tx.audit(
            AuditRecord::new(now, "holder", event.action)
                .incident(&incident.id, &incident.account_id)
                .detail(event.detail),
        );
    }
    tx.save_run(&run, &before).await?;
    tx.announce_run_finished(&run.id).await?;
    Ok(())
}
