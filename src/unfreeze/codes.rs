//! One-time codes: six random digits, sent to the holder's registered
//! contact, stored only as an HMAC under a key derived from the master key
//! (so the million possible codes cannot be tried offline against a stolen
//! database), and compared in constant time.

use ring::hmac;
use serde_json::json;

use super::error::HolderError;
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::ids::FlowId;
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::Flow;
use crate::outbox::{Notification, queue_secret_notification};
use crate::platform::crypto;
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
    let (hash, key_id) = code_hash(state, &flow.id, &code);
    flow.issue_code(hash, &key_id, now).map_err(HolderError::Step)?;
    let key = format!("{}:code:{}", flow.id, flow.codes_sent);
    let notification = Notification {
        idempotency_key: &key,
        account_id: &flow.account_id,
        incident_id: Some(&flow.incident_id),
        template: "unfreeze_code",
        data: json!({"code": code}),
    };
    queue_secret_notification(tx, state.secrets(), &notification, now).await?;
    tx.audit(
        AuditRecord::new(now, "system", AuditAction::UnfreezeCodeSent)
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

/// The HMAC key of codes made under the master key `key_id`: the current
/// one, or a previous one still configured during a rotation, so a code sent
/// just before the rotation still verifies.
fn code_key(state: &AppState, key_id: Option<&str>) -> Option<hmac::Key> {
    let config = state.config();
    let master = match key_id {
        None => &config.master_key,
        Some(id) => std::iter::once(&config.master_key)
            .chain(&config.previous_master_keys)
            .find(|key| crypto::key_id(key) == id)?,
    };
    Some(hmac::Key::new(
        hmac::HMAC_SHA256,
        &master.derive("holdfast unfreeze codes v1"),
    ))
}

/// The HMAC of a new code under the current master key, and that key's id.
fn code_hash(state: &AppState, flow_id: &FlowId, code: &str) -> (Vec<u8>, String) {
    let key = code_key(state, None).expect("the current master key is always configured");
    let tag = hmac::sign(&key, format!("{flow_id}:{code}").as_bytes());
    (tag.as_ref().to_vec(), crypto::key_id(&state.config().master_key))
}

pub(super) fn code_matches(state: &AppState, flow: &Flow, code: &str) -> bool {
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let stored = flow.code_hash.as_deref().unwrap_or_default();
    let Some(key) = code_key(state, flow.code_key_id.as_deref()) else {
        return false;
    };
    // Verify even a malformed code, so timing does not tell the two apart.
    let verified = hmac::verify(&key, format!("{}:{code}", flow.id).as_bytes(), stored).is_ok();
    well_formed && verified
}
