//! Delivering the outbox to the exchange.
//!
//! A loop per instance claims due messages, sends them, and records the
//! outcome. A message the exchange did not confirm is retried with
//! exponential backoff and jitter under the same idempotency key; after the
//! last attempt it is marked failed, and the failure is put on the audit log
//! (and so on the incident's timeline). A run waiting for the message is told
//! through the runner's own channel ([`crate::state::handles::RunWaker`]).

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::messages::{is_sealed, open_sealed};
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::exchange::Destination;
use crate::domain::ids::AccountId;
use crate::domain::time::Timestamp;
use crate::platform::config::RetryPolicy;
use crate::platform::exchange::{DeliveryError, confirms};
use crate::platform::trace_context::TraceContext;
use crate::state::AppState;
use crate::storage::{Confirmed, OutboxMessage};
use tracing::Instrument;

/// How many messages one pass claims.
const BATCH: i64 = 32;
/// The longest the loop sleeps without looking for messages: a safety net
/// only. A message queued here wakes the loop in-process, one queued by
/// another instance through the database's announcement (PostgreSQL), and
/// after the listening connection was lost the loop looks at once; a retry
/// or an expired claim is waited for until it is due. What is left is a
/// message whose announcement went by unheard in some way none of that
/// covers, and five minutes bound how late it is, at one look (two reads)
/// per five minutes of an idle instance.
const SAFETY_NET: Duration = Duration::from_secs(300);

pub async fn deliver_until_cancelled(state: AppState, cancel: CancellationToken) {
    loop {
        // Taken before the pass: a moved clock (tests) after it is not missed.
        let mut moves = state.clock().moves();
        match deliver_due(&state).await {
            Ok(0) => {}
            Ok(_) => continue,
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "outbox pass failed; retrying")
            }
        }
        let wait = next_wait(&state).await;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = state.outbox_signal().woken() => {}
            _ = moves.changed() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Until the next pending message is due (a retry, or a claim of an
/// instance that stopped), at most [`SAFETY_NET`]; a second after a failed
/// read.
async fn next_wait(state: &AppState) -> Duration {
    match state.db().next_message_due().await {
        Ok(Some(due)) => due.since(state.clock().now()).min(SAFETY_NET),
        Ok(None) => SAFETY_NET,
        Err(_) => Duration::from_secs(1),
    }
}

/// Claims and delivers one batch of due messages; returns how many.
///
/// The messages are sent at once. Their outcomes are recorded as they come
/// in, those that arrived together in one transaction: a storm of
/// containments settles in a few commits instead of one per message, and a
/// slow answer delays only its own record.
pub async fn deliver_due(state: &AppState) -> anyhow::Result<usize> {
    let mut tx = state.db().begin().await?;
    let messages = tx
        .claim_due_messages(state.clock().now(), state.config().outbound_retry.lease, BATCH)
        .await?;
    tx.commit().await?.no_follow_up();
    let count = messages.len();
    let mut sending: FuturesUnordered<_> = messages.into_iter().map(|message| send(state, message)).collect();
    while let Some(first) = sending.next().await {
        let mut arrived = vec![first];
        while let Some(Some(next)) = sending.next().now_or_never() {
            arrived.push(next);
        }
        let sent: Vec<Sent> = arrived
            .into_iter()
            .filter_map(|attempt| {
                attempt
                    .map_err(|error| {
                        tracing::warn!(
                            error = format!("{error:#}"),
                            "a message could not be sent; it will be retried"
                        )
                    })
                    .ok()
            })
            .collect();
        if let Err(error) = record(state, sent).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "recording deliveries failed; they will be retried"
            );
        }
    }
    Ok(count)
}

/// A message after an attempt to deliver it.
struct Sent {
    message: OutboxMessage,
    /// Whether its stored body is sealed (a secret for the holder).
    sealed: bool,
    /// The exchange's confirmation, or why there is none.
    outcome: Result<Value, DeliveryError>,
}

/// Sends one message to the exchange, in the trace that queued it.
async fn send(state: &AppState, mut message: OutboxMessage) -> anyhow::Result<Sent> {
    let now = state.clock().now();
    let sealed = is_sealed(&message);
    if sealed {
        message.body = open_sealed(state.secrets(), &message)?;
    }
    // The push is a span of the trace that queued the message.
    let trace = message.traceparent.as_deref().and_then(TraceContext::parse);
    let span = tracing::info_span!("exchange.send", destination = message.destination.as_str());
    if let Some(trace) = trace {
        trace.adopt(&span);
    }
    let traceparent = trace.map(|trace| trace.outbound(&span));
    let outcome = state
        .exchange()
        .send(message.destination, &message.body, traceparent.as_deref(), now)
        .instrument(span)
        .await
        .and_then(|answer| confirmation(&message, answer));
    Ok(Sent {
        message,
        sealed,
        outcome,
    })
}

/// Records the outcomes of `sent` in one transaction: delivered, failed for
/// good (on the audit log) or due again after a backoff. Runs waiting for a
/// settled message are woken once the record is committed.
async fn record(state: &AppState, mut sent: Vec<Sent>) -> anyhow::Result<()> {
    if sent.is_empty() {
        return Ok(());
    }
    // Rows in one order, whichever transaction records them.
    sent.sort_by(|a, b| a.message.id.cmp(&b.message.id));
    let now = state.clock().now();
    let policy = state.config().outbound_retry;
    let mut tx = state.db().begin().await?;
    let mut gave_up = 0;
    // Confirmations, the usual outcome, are recorded in one statement.
    let mut answers: Vec<Confirmed> = Vec::new();
    let mut failures: Vec<(&Sent, &DeliveryError)> = Vec::new();
    for attempt in &sent {
        match &attempt.outcome {
            Ok(answer) => answers.push(Confirmed {
                id: &attempt.message.id,
                response: answer.to_string(),
                // The code or token it carried is no longer needed: keep no copy.
                redact: attempt.sealed,
            }),
            Err(error) => failures.push((attempt, error)),
        }
    }
    let delivered = tx.settle_delivered(&answers, now).await?;
    let mut settled: Vec<&Sent> = sent.iter().filter(|s| delivered.contains(&s.message.id)).collect();
    for (attempt, error) in failures {
        let message = &attempt.message;
        if message.attempts >= policy.max_attempts as i32 {
            tracing::warn!(idempotency_key = %message.idempotency_key, attempts = message.attempts, error = %error, "delivery to the exchange failed for good");
            tx.audit(failure_record(message, error, now));
            let failed = tx.fail_message(&message.id, &error.to_string(), now).await?;
            gave_up += u64::from(failed);
            if failed {
                if attempt.sealed {
                    // Given up on, it will never be sent: keep no copy of its secret.
                    tx.redact_message(&message.id).await?;
                }
                settled.push(attempt);
            }
        } else {
            tracing::info!(idempotency_key = %message.idempotency_key, attempts = message.attempts, error = %error, "delivery to the exchange failed; will retry");
            let delay = backoff(policy, message.attempts);
            tx.retry_message(&message.id, now.plus(delay), &error.to_string())
                .await?;
        }
    }
    let mut settled_runs = Vec::new();
    for attempt in settled {
        if let Some(run_id) = &attempt.message.run_id {
            settled_runs.push(run_id.clone());
        }
    }
    state.commit(tx).await?;
    if gave_up > 0 {
        metrics::counter!("holdfast_outbox_failed_total").increment(gave_up);
    }
    for run_id in settled_runs {
        state.run_waker().wake(run_id);
    }
    Ok(())
}

/// Account-control requests must be confirmed with `"status": "done"` and
/// the same idempotency key; the notification service's 200 is enough.
fn confirmation(message: &OutboxMessage, answer: Value) -> Result<Value, DeliveryError> {
    if message.destination == Destination::AccountControl {
        confirms(&answer, &message.idempotency_key)?;
    }
    Ok(answer)
}

fn failure_record(message: &OutboxMessage, error: &DeliveryError, at: Timestamp) -> AuditRecord {
    let body: Value = serde_json::from_str(&message.body).unwrap_or(Value::Null);
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    let mut record = AuditRecord::new(at, "system", AuditAction::ExchangeDeliveryFailed).detail(json!({
        "idempotency_key": message.idempotency_key,
        "destination": message.destination.as_str(),
        "action": text("action").or_else(|| text("template")),
        "attempts": message.attempts,
        "error": error.to_string(),
    }));
    record.incident_id = text("incident_id");
    // Read back from a stored body, which only ever names an account id parsed on the way in.
    record.account_id = text("account_id").map(AccountId::from_string);
    record
}

/// The wait before attempt `attempts + 1`: doubling from the base delay, capped,
/// with "equal jitter" (half fixed, half random) so retries from many
/// messages do not arrive in lockstep.
pub fn backoff(policy: RetryPolicy, attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20);
    let full = policy.base_delay.saturating_mul(1 << exponent).min(policy.max_delay);
    let mut random = [0u8; 4];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random);
    let fraction = f64::from(u32::from_le_bytes(random)) / f64::from(u32::MAX);
    full / 2 + full.mul_f64(fraction / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stays_within_its_jitter_band() {
        let policy = RetryPolicy {
            max_attempts: 8,
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(30),
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
        };
        for (attempts, full) in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (12, 10.0)] {
            let delay = backoff(policy, attempts).as_secs_f64();
            assert!(
                delay >= full / 2.0 - 1e-9 && delay <= full + 1e-9,
                "attempt {attempts}: {delay}"
            );
        }
    }
}
