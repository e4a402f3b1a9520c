//! One rule set for every password and TOTP attempt, at sign-in and step-up
//! alike: each accepted code advances the agent's last time step by
//! compare-and-set (a code is accepted once), and failures are counted per
//! agent (five in fifteen minutes lock it for fifteen).

use std::time::Duration;

use serde_json::json;

use super::totp;
use crate::domain::agent::{FailureHistory, LOCKOUT_THRESHOLD, agent_actor};
use crate::domain::audit::AuditRecord;
use crate::domain::ids::AgentId;
use crate::domain::time::Timestamp;
use crate::edge::error::{ApiError, ProblemKind};
use crate::state::AppState;
use crate::storage::{AgentRecord, WriteTx};

pub(super) fn invalid_credentials() -> ApiError {
    ApiError::unauthorized(
        ProblemKind::InvalidCredentials,
        "the username, password or code is wrong",
    )
}

/// Who is trying, as failures are counted: the username and the source.
pub(super) struct Attempt<'a> {
    pub(super) username: &'a str,
    pub(super) client: &'a str,
    /// The failures remembered before this attempt.
    pub(super) failures: &'a FailureHistory,
}

pub(super) fn locked(remaining: Duration) -> ApiError {
    ApiError::Locked {
        retry_after: remaining.as_secs().max(1),
    }
}

/// A replayed code: counted as a failure, answered `otp-replayed`.
pub(super) async fn replayed(state: &AppState, attempt: &Attempt<'_>, action: &str) -> ApiError {
    let error = fail(
        state,
        attempt.username,
        attempt.client,
        action,
        "otp_replayed",
        attempt.failures,
    )
    .await;
    match error {
        ApiError::Unauthorized { .. } => ApiError::unauthorized(
            ProblemKind::OtpReplayed,
            "this code was already used; wait for the next one",
        ),
        other => other,
    }
}

/// Checks a code's validity (not yet its freshness); a wrong code is a counted failure.
pub(super) async fn check_code(
    state: &AppState,
    agent: &AgentRecord,
    code: &str,
    attempt: &Attempt<'_>,
    failure_action: &str,
) -> Result<i64, ApiError> {
    let now = state.clock().now();
    let seed = state
        .secrets()
        .open(&agent.totp_secret, &agent.totp_key_id, &totp_context(&agent.id))
        .map_err(|e| anyhow::anyhow!("Failed to open the TOTP seed of agent {}: {e}", agent.username))?;
    match totp::matching_step(&seed, code.trim(), now) {
        Some(step) => Ok(step),
        None => Err(fail(
            state,
            attempt.username,
            attempt.client,
            failure_action,
            "bad_otp",
            attempt.failures,
        )
        .await),
    }
}

/// Accepts `step` by compare-and-set inside `tx` (which the caller commits):
/// false when this code, or a newer one, was accepted before.
pub(super) async fn accept_step(tx: &mut WriteTx, agent: &AgentRecord, step: i64) -> Result<bool, ApiError> {
    if tx.lock_agent(&agent.id).await?.is_none() {
        return Ok(false);
    }
    Ok(tx.accept_totp_step(&agent.id, step).await?)
}

/// The one place a failed password or code is counted: records it against
/// the username and the source, audits it (and the lock it earns), holds the
/// answer back by the progressive delay, and answers `401` — or `423` when
/// this failure locked the source out.
pub(super) async fn fail(
    state: &AppState,
    username: &str,
    client: &str,
    action: &str,
    reason: &str,
    before: &FailureHistory,
) -> ApiError {
    let now = state.clock().now();
    if let Err(error) = count_failure(state, username, client, action, reason, before, now).await {
        return error;
    }
    tokio::time::sleep(before.delay()).await;
    invalid_credentials()
}

pub(super) async fn count_failure(
    state: &AppState,
    username: &str,
    client: &str,
    action: &str,
    reason: &str,
    before: &FailureHistory,
    now: Timestamp,
) -> Result<(), ApiError> {
    let mut tx = state.db().begin().await?;
    tx.record_sign_in_failure(username, client, now).await?;
    let actor = if state.db().agent_by_username(username).await?.is_some() {
        agent_actor(username)
    } else {
        "anonymous".to_owned()
    };
    tx.audit(AuditRecord::new(now, actor, action).detail(json!({"reason": reason})));
    let mut after = before.clone();
    after.from_source.push(now);
    after.from_everywhere.push(now);
    if let Some(remaining) = after.locked_for(now)
        && before.locked_for(now).is_none()
    {
        tracing::warn!("a source was locked out of a username after repeated failed attempts");
        tx.audit(AuditRecord::new(now, "system", "agent.locked").detail(json!({
            "username": username,
            "until": now.plus(remaining),
            "everywhere": after.from_source.len() < LOCKOUT_THRESHOLD as usize,
        })));
    }
    tx.commit().await?.no_follow_up();
    Ok(())
}

/// The associated data a TOTP seed is sealed with: its owner and purpose.
pub fn totp_context(agent_id: &AgentId) -> String {
    format!("holdfast:totp:{agent_id}")
}
