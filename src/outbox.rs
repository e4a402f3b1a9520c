//! Delivering the outbox to the exchange.
//!
//! A loop per instance claims due messages, sends them, and records the
//! outcome. A message the exchange did not confirm is retried with
//! exponential backoff and jitter under the same idempotency key; after the
//! last attempt it is marked failed, and the failure is put on the audit log
//! (and so on the incident's timeline) and handed to its playbook run.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::config::RetryPolicy;
use crate::domain::audit::AuditRecord;
use crate::domain::time::Timestamp;
use crate::exchange::{ACCOUNT_CONTROL, DeliveryError, confirms};
use crate::storage::{OutboxMessage, OutboxStatus};

/// How many messages one pass claims.
const BATCH: i64 = 32;
/// The longest the loop sleeps without looking for messages other instances queued.
const POLL: Duration = Duration::from_millis(500);

/// Wakes the delivery loop when a transaction queued a message.
#[derive(Clone, Default)]
pub struct OutboxSignal(Arc<Notify>);

impl OutboxSignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

pub async fn deliver_until_cancelled(state: AppState, cancel: CancellationToken) {
    loop {
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
            _ = state.outbox_signal().0.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn next_wait(state: &AppState) -> Duration {
    match state.db().next_message_due().await {
        Ok(Some(due)) => due.since(state.clock().now()).min(POLL),
        _ => POLL,
    }
}

/// Claims and delivers one batch of due messages; returns how many.
pub async fn deliver_due(state: &AppState) -> anyhow::Result<usize> {
    let mut tx = state.db().begin().await?;
    let messages = tx
        .claim_due_messages(state.clock().now(), state.config().outbound_retry.lease, BATCH)
        .await?;
    tx.commit().await?;
    let count = messages.len();
    let deliveries = messages.into_iter().map(|message| deliver(state, message));
    for result in join_all(deliveries).await {
        if let Err(error) = result {
            tracing::warn!(
                error = format!("{error:#}"),
                "recording a delivery failed; it will be retried"
            );
        }
    }
    Ok(count)
}

async fn deliver(state: &AppState, mut message: OutboxMessage) -> anyhow::Result<()> {
    let now = state.clock().now();
    let sealed = message.body.starts_with(SEALED_PREFIX);
    if sealed {
        message.body = open_sealed(state, &message)?;
    }
    let outcome = state
        .exchange()
        .send(&message.destination, &message.body, now)
        .await
        .and_then(|answer| confirmation(&message, answer));
    let now = state.clock().now();
    let policy = state.config().outbound_retry;
    let mut tx = state.db().begin().await?;
    let settled = match outcome {
        Ok(answer) => {
            let answer = answer.to_string();
            tx.settle_message(&message.id, OutboxStatus::Delivered, Some(&answer), None, now)
                .await?
        }
        Err(error) if message.attempts >= policy.max_attempts as i32 => {
            tracing::warn!(idempotency_key = %message.idempotency_key, attempts = message.attempts, error = %error, "delivery to the exchange failed for good");
            tx.audit(failure_record(&message, &error, now));
            tx.settle_message(&message.id, OutboxStatus::Failed, None, Some(&error.to_string()), now)
                .await?
        }
        Err(error) => {
            tracing::info!(idempotency_key = %message.idempotency_key, attempts = message.attempts, error = %error, "delivery to the exchange failed; will retry");
            let delay = backoff(policy, message.attempts);
            tx.retry_message(&message.id, now.plus(delay), &error.to_string())
                .await?;
            false
        }
    };
    if settled && sealed {
        // The code or token it carried is no longer needed: keep no copy.
        tx.redact_message(&message.id).await?;
    }
    let committed = tx.commit().await?;
    state.after_commit(committed).await;
    if settled && let Some(run_id) = &message.run_id {
        crate::runs::wake(state, run_id);
    }
    Ok(())
}

/// Account-control requests must be confirmed with `"status": "done"` and
/// the same idempotency key; the notification service's 200 is enough.
fn confirmation(message: &OutboxMessage, answer: Value) -> Result<Value, DeliveryError> {
    if message.destination == ACCOUNT_CONTROL {
        confirms(&answer, &message.idempotency_key)?;
    }
    Ok(answer)
}

fn failure_record(message: &OutboxMessage, error: &DeliveryError, at: Timestamp) -> AuditRecord {
    let body: Value = serde_json::from_str(&message.body).unwrap_or(Value::Null);
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    let mut record = AuditRecord::new(at, "system", "exchange.delivery_failed").detail(json!({
        "idempotency_key": message.idempotency_key,
        "destination": message.destination,
        "action": text("action").or_else(|| text("template")),
        "attempts": message.attempts,
        "error": error.to_string(),
    }));
    record.incident_id = text("incident_id");
    record.account_id = text("account_id");
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

/// A request to the exchange's account control, to queue in a transaction.
pub struct AccountAction<'a> {
    pub idempotency_key: String,
    pub account_id: &'a str,
    /// `place_hold`, `lift_hold`, `revoke_sessions`, `revoke_api_keys`,
    /// `require_credential_reset` or `cancel_pending_withdrawals`.
    pub action: &'a str,
    pub scope: Option<crate::domain::hold::HoldScope>,
    pub incident_id: &'a str,
    /// The playbook run to wake when the exchange has answered.
    pub run_id: Option<&'a str>,
}

/// Queues an account-control request (SPEC §6) in `tx`; a request with the
/// same idempotency key already queued is left as it is.
pub async fn queue_action(
    tx: &mut crate::storage::WriteTx,
    action: &AccountAction<'_>,
    at: Timestamp,
) -> Result<bool, sqlx::Error> {
    let mut body = json!({
        "idempotency_key": action.idempotency_key,
        "account_id": action.account_id,
        "action": action.action,
        "incident_id": action.incident_id,
    });
    if let Some(scope) = action.scope {
        body["scope"] = json!(scope.as_str());
    }
    tx.enqueue(
        &crate::ids::new_id(),
        &action.idempotency_key,
        ACCOUNT_CONTROL,
        &body.to_string(),
        action.run_id,
        at,
    )
    .await
}

/// Queues a notification (SPEC §8) for the notification service.
pub async fn queue_notification(
    tx: &mut crate::storage::WriteTx,
    idempotency_key: &str,
    account_id: &str,
    template: &str,
    data: Value,
    at: Timestamp,
) -> Result<bool, sqlx::Error> {
    let body = json!({
        "idempotency_key": idempotency_key,
        "account_id": account_id,
        "template": template,
        "data": data,
    });
    tx.enqueue(
        &crate::ids::new_id(),
        idempotency_key,
        crate::exchange::NOTIFY,
        &body.to_string(),
        None,
        at,
    )
    .await
}

/// Bodies carrying a secret (a flow token, a one-time code) are stored sealed
/// under the master key, opened only to send them, and redacted once settled.
const SEALED_PREFIX: &str = "sealed:v1:";

fn seal_context(idempotency_key: &str) -> String {
    format!("holdfast:outbox:{idempotency_key}")
}

fn open_sealed(state: &AppState, message: &OutboxMessage) -> anyhow::Result<String> {
    use base64::Engine;
    let rest = &message.body[SEALED_PREFIX.len()..];
    let (key_id, encoded) = rest
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("a sealed message without a key id"))?;
    let sealed = base64::engine::general_purpose::STANDARD.decode(encoded)?;
    let plain = state
        .secrets()
        .open(&sealed, key_id, &seal_context(&message.idempotency_key))?;
    Ok(String::from_utf8(plain.to_vec())?)
}

/// Queues a notification whose data holds a secret (SPEC §8 `unfreeze_link`,
/// `unfreeze_code`): stored sealed, redacted after delivery.
pub async fn queue_secret_notification(
    tx: &mut crate::storage::WriteTx,
    secrets: &crate::crypto::SecretBox,
    idempotency_key: &str,
    account_id: &str,
    template: &str,
    data: Value,
    at: Timestamp,
) -> anyhow::Result<bool> {
    use base64::Engine;
    let body = json!({
        "idempotency_key": idempotency_key,
        "account_id": account_id,
        "template": template,
        "data": data,
    });
    let (sealed, key_id) = secrets.seal(body.to_string().as_bytes(), &seal_context(idempotency_key))?;
    let stored = format!(
        "{SEALED_PREFIX}{key_id}:{}",
        base64::engine::general_purpose::STANDARD.encode(sealed)
    );
    Ok(tx
        .enqueue(
            &crate::ids::new_id(),
            idempotency_key,
            crate::exchange::NOTIFY,
            &stored,
            None,
            at,
        )
        .await?)
}
