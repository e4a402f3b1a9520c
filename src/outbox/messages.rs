//! Queuing messages for the exchange inside the transaction of the change
//! that calls for them.
//!
//! Bodies carrying a secret (a flow token, a one-time code) are stored sealed
//! under the master key, opened only to send them, and redacted once settled.

use base64::Engine;
use serde_json::{Value, json};

use crate::domain::exchange::{AccountAction, Destination};
use crate::domain::hold::HoldScope;
use crate::domain::ids::{AccountId, IncidentId, RunId};
use crate::domain::time::Timestamp;
use crate::platform::crypto::SecretBox;
use crate::storage::{OutboxMessage, Queued, WriteTx};

/// A request to the exchange's account control (SPEC §6), to queue in a transaction.
pub struct AccountRequest<'a> {
    pub idempotency_key: String,
    pub account_id: &'a AccountId,
    pub action: AccountAction,
    pub scope: Option<HoldScope>,
    pub incident_id: &'a IncidentId,
    /// The playbook run to wake when the exchange has answered.
    pub run_id: Option<&'a RunId>,
}

/// Queues an account-control request in `tx`; a request with the same
/// idempotency key already queued is left as it is.
pub async fn queue_action(tx: &mut WriteTx, request: &AccountRequest<'_>, at: Timestamp) -> Result<bool, sqlx::Error> {
    let mut body = json!({
        "idempotency_key": request.idempotency_key,
        "account_id": request.account_id,
        "action": request.action,
        "incident_id": request.incident_id,
    });
    if let Some(scope) = request.scope {
        body["scope"] = json!(scope);
    }
    let body = body.to_string();
    let message = Queued {
        idempotency_key: &request.idempotency_key,
        destination: Destination::AccountControl,
        body: &body,
        run_id: request.run_id,
        incident_id: Some(request.incident_id),
    };
    tx.enqueue(&message, at).await
}

/// A notification for the notification service (SPEC §8).
pub struct Notification<'a> {
    pub idempotency_key: &'a str,
    pub account_id: &'a AccountId,
    /// The incident it is about, if any: a legal hold keeps its delivery.
    pub incident_id: Option<&'a IncidentId>,
    pub template: &'a str,
    pub data: Value,
}

impl Notification<'_> {
    /// The message to queue with `body` (plain or sealed).
    fn queued<'b>(&'b self, body: &'b str) -> Queued<'b> {
        Queued {
            idempotency_key: self.idempotency_key,
            destination: Destination::Notify,
            body,
            run_id: None,
            incident_id: self.incident_id,
        }
    }

    fn body(&self) -> Value {
        json!({
            "idempotency_key": self.idempotency_key,
            "account_id": self.account_id,
            "template": self.template,
            "data": self.data,
        })
    }
}

/// Queues a notification in `tx`.
pub async fn queue_notification(
    tx: &mut WriteTx,
    notification: &Notification<'_>,
    at: Timestamp,
) -> Result<bool, sqlx::Error> {
    let body = notification.body().to_string();
    tx.enqueue(&notification.queued(&body), at).await
}

/// Queues a notification whose data holds a secret (SPEC §8 `unfreeze_link`,
/// `unfreeze_code`): stored sealed, redacted after delivery.
pub async fn queue_secret_notification(
    tx: &mut WriteTx,
    secrets: &SecretBox,
    notification: &Notification<'_>,
    at: Timestamp,
) -> anyhow::Result<bool> {
    let key = notification.idempotency_key;
    let (sealed, key_id) = secrets.seal(notification.body().to_string().as_bytes(), &seal_context(key))?;
    let stored = format!(
        "{SEALED_PREFIX}{key_id}:{}",
        base64::engine::general_purpose::STANDARD.encode(sealed)
    );
    Ok(tx.enqueue(&notification.queued(&stored), at).await?)
}

const SEALED_PREFIX: &str = "sealed:v1:";

fn seal_context(idempotency_key: &str) -> String {
    format!("holdfast:outbox:{idempotency_key}")
}

/// Whether a stored body is sealed.
pub fn is_sealed(message: &OutboxMessage) -> bool {
    message.body.starts_with(SEALED_PREFIX)
}

/// The plain body of a sealed message, for sending it.
pub fn open_sealed(secrets: &SecretBox, message: &OutboxMessage) -> anyhow::Result<String> {
    let rest = &message.body[SEALED_PREFIX.len()..];
    let (key_id, encoded) = rest
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("a sealed message without a key id"))?;
    let sealed = base64::engine::general_purpose::STANDARD.decode(encoded)?;
    let plain = secrets.open(&sealed, key_id, &seal_context(&message.idempotency_key))?;
    Ok(String::from_utf8(plain.to_vec())?)
}
