//! One-time codes: six random digits, sent to the holder's registered
//! contact, stored only as an HMAC under a key derived from the master key
//! (so the million possible codes cannot be tried offline against a stolen
//! database), and compared in constant time.

use ring::hmac;
use serde_json::json;

use super::flow::HolderError;
use crate::crypto;
use crate::domain::audit::AuditRecord;
use crate::domain::ids::FlowId;
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::Flow;
use crate::outbox::{Notification, queue_secret_notification};
use crate::state::AppState;
use crate::storage::WriteTx;

/// Issues a new one-time code (replacing any earlier one) and queues it.
pub(super) async fn send_code(
    state: &AppState,
    tx: &mut WriteTx,
    flow: &mut Flow,
    now: Timestamp,
) -> Result<(), HolderError> {
    let code = new_code()?;
    flow.issue_code(code_hash(state, &flow.id, &code), now)
        .map_err(HolderError::Step)?;
    let key = format!("{}:code:{}", flow.id, flow.codes_sent);
    let notification = Notification {
        idempotency_key: &key,
        account_id: &flow.account_id,
        template: "unfreeze_code",
        data: json!({"code": code}),
    };
    queue_secret_notification(tx, state.secrets(), &notification, now).await?;
    tx.audit(
        AuditRecord::new(now, "system", "unfreeze.code_sent")
            .incident(&flow.incident_id, &flow.account_id)
            .detail(json!({"flow_id": flow.id, "codes_sent": flow.codes_sent})),
    );
    Ok(())
}

/// Six uniformly random digits.
fn new_code() -> anyhow::Result<String> {
    loop {
        let n = u32::from_le_bytes(crypto::random_bytes::<4>()?);
        // Reject the top of the range so every code is equally likely.
        if n < u32::MAX - u32::MAX % 1_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

fn code_key(state: &AppState) -> hmac::Key {
    hmac::Key::new(
        hmac::HMAC_SHA256,
        &state.config().master_key.derive("holdfast unfreeze codes v1"),
    )
}

fn code_hash(state: &AppState, flow_id: &FlowId, code: &str) -> Vec<u8> {
    hmac::sign(&code_key(state), format!("{flow_id}:{code}").as_bytes())
        .as_ref()
        .to_vec()
}

pub(super) fn code_matches(state: &AppState, flow: &Flow, code: &str) -> bool {
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let stored = flow.code_hash.as_deref().unwrap_or_default();
    // Verify even a malformed code, so timing does not tell the two apart.
    let verified = hmac::verify(&code_key(state), format!("{}:{code}", flow.id).as_bytes(), stored).is_ok();
    well_formed && verified
}
