//! The SLA watcher: finds incidents past a deadline, flags them, puts an
//! escalation on their timeline and notifies the leads (template `sla_breach`).
//!
//! Deadlines live in the database, so a restart loses nothing. Several
//! instances may run the watcher: on PostgreSQL each locks the rows it handles
//! with `FOR UPDATE SKIP LOCKED` and skips those another holds; on SQLite the
//! single write connection serialises them. A breach is recorded once, so it
//! is escalated once.

use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::outbox::{Notification, queue_notification};
use crate::state::AppState;

/// How many overdue incidents one pass handles.
const BATCH: i64 = 100;
/// The pause after a pass before the deadlines are read again: a deadline
/// still due right after a pass (its incident locked by another instance's
/// pass) is tried again this much later, not in a busy loop.
const PAUSE_AFTER_PASS: Duration = Duration::from_secs(1);

/// Escalates each deadline when it passes. Between passes it sleeps until the
/// earliest deadline of a live incident, rereading it at least every
/// `HOLDFAST_SLA_CHECK_INTERVAL` (a deadline set since, by this instance or
/// another, is seen that late at most: minutes before any deadline of the
/// rules' SLAs) and whenever the clock is moved (tests).
pub async fn watch_until_cancelled(state: AppState, cancel: CancellationToken) {
    loop {
        // Taken before the deadline is read: a move in between is not missed.
        let mut moves = state.clock().moves();
        let wait = match state.db().earliest_sla_deadline().await {
            Ok(Some(deadline)) => deadline.since(state.clock().now()),
            Ok(None) => state.config().sla_check_interval,
            Err(error) => {
                tracing::warn!(error = %error, "reading the next SLA deadline failed");
                Duration::ZERO
            }
        };
        let wait = wait.min(state.config().sla_check_interval);
        if !wait.is_zero() {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = moves.changed() => continue,
                _ = tokio::time::sleep(wait) => continue,
            }
        }
        loop {
            match escalate_overdue(&state).await {
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "SLA check failed; retrying at the next check"
                    );
                    break;
                }
            }
        }
        // At most one pass an interval should the deadline stay due (an
        // incident another instance holds locked).
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = moves.changed() => {}
            _ = tokio::time::sleep(state.config().sla_check_interval.min(PAUSE_AFTER_PASS)) => {}
        }
    }
}

/// Escalates the incidents past a deadline; returns how many it handled.
pub async fn escalate_overdue(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let mut incidents = tx.lock_overdue_incidents(now, BATCH).await?;
    for incident in &mut incidents {
        for breach in incident.record_breaches(now) {
            let deadline = match breach {
                crate::domain::incident::Breach::Acknowledge => incident.deadlines.acknowledge_by,
                crate::domain::incident::Breach::Contain => incident.deadlines.contain_by,
            };
            tracing::warn!(incident.id = %incident.id, priority = %incident.priority, deadline = breach.as_str(), "SLA breached; escalating");
            metrics::counter!("holdfast_sla_breaches_total", "priority" => incident.priority.as_str(), "deadline" => breach.as_str())
                .increment(1);
            tx.audit(
                AuditRecord::new(now, "system", AuditAction::IncidentSlaBreached)
                    .incident(&incident.id, &incident.account_id)
                    .detail(json!({"deadline": breach.as_str(), "due_at": deadline, "priority": incident.priority})),
            );
            tx.audit(
                AuditRecord::new(now, "system", AuditAction::IncidentEscalated)
                    .incident(&incident.id, &incident.account_id)
                    .detail(json!({"to": "leads", "deadline": breach.as_str()})),
            );
            let key = format!("sla_breach:{}:{}", incident.id, breach.as_str());
            let notification = Notification {
                idempotency_key: &key,
                account_id: &incident.account_id,
                incident_id: Some(&incident.id),
                template: "sla_breach",
                data: json!({
                    "audience": "leads",
                    "incident_id": incident.id,
                    "priority": incident.priority,
                    "deadline": breach.as_str(),
                    "due_at": deadline,
                    "status": incident.status,
                }),
            };
            queue_notification(&mut tx, &notification, now).await?;
        }
        tx.save_incident(incident).await?;
    }
    state.commit(tx).await?;
    Ok(incidents.len())
}
