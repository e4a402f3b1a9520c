//! Signing in: a password and a TOTP code, checked under the rules of
//! `attempts` and rate-limited per client address, open a bearer session.

use serde_json::json;

use super::attempts::{Attempt, accept_step, check_code, fail, locked, replayed};
use crate::domain::agent::{Role, SESSION_LIFETIME, agent_actor};
use crate::domain::audit::AuditRecord;
use crate::domain::ids::SessionId;
use crate::domain::time::Timestamp;
use crate::edge::error::ApiError;
use crate::platform::crypto::{self, token_hash};
use crate::state::AppState;
use crate::state::shared::Limit;
use crate::storage::SessionRecord;

/// A new session, opened by [`sign_in`]. The token is shown to its holder
/// once (a bearer token, or the console's cookie) and stored only hashed.
pub struct SignedIn {
    pub token: String,
    pub session_id: SessionId,
    pub username: String,
    pub role: Role,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("session_id", &self.session_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Signs an agent in with password and TOTP code and opens a session: the
/// one sign-in of the API (`POST /v1/auth/login`) and the console, with the
/// same per-client limit, lockout, replay protection and audit entries.
/// `client` is the caller's rate-limit key ([`ClientAddress`]).
pub async fn sign_in(
    state: &AppState,
    client: &str,
    username: &str,
    password: &str,
    otp: &str,
) -> Result<SignedIn, ApiError> {
    state.shared().check(Limit::Login, client).await?;
    let now = state.clock().now();
    let agent = state.db().agent_by_username(username).await?;
    let failures = state.db().sign_in_failures(username, client, now).await?;
    // Every early exit spends the time a real password check would, so the
    // answer's timing says nothing about whether the agent exists, is
    // disabled or is locked.
    let hash = match &agent {
        Some(agent) if agent.disabled_at.is_none() && failures.locked_for(now).is_none() => agent.password_hash.clone(),
        _ => crypto::decoy_password_hash().to_owned(),
    };
    let password = password.to_owned();
    let password_ok = tokio::task::spawn_blocking(move || crypto::verify_password(&hash, &password))
        .await
        .map_err(|e| anyhow::anyhow!("password check panicked: {e}"))?;
    if let Some(remaining) = failures.locked_for(now) {
        return Err(locked(remaining));
    }
    let Some(agent) = agent.filter(|agent| agent.disabled_at.is_none() && password_ok) else {
        return Err(fail(
            state,
            username,
            client,
            "agent.login_failed",
            "bad_credentials",
            &failures,
        )
        .await);
    };
    let attempt = Attempt {
        username: &agent.username,
        client,
        failures: &failures,
    };
    let step = check_code(state, &agent, otp, &attempt, "agent.login_failed").await?;

    let token = crypto::new_token().map_err(anyhow::Error::from)?;
    let session = SessionRecord {
        id: SessionId::new(),
        agent_id: agent.id.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now.plus(SESSION_LIFETIME),
        elevated_until: None,
        revoked_at: None,
    };
    let mut tx = state.db().begin().await?;
    if !accept_step(&mut tx, &agent, step).await? {
        drop(tx);
        return Err(replayed(state, &attempt, "agent.login_failed").await);
    }
    tx.clear_sign_in_failures(&agent.username, client).await?;
    tx.insert_session(&session, &token_hash(&token)).await?;
    tx.audit(
        AuditRecord::new(now, agent_actor(&agent.username), "agent.login").detail(json!({"session_id": session.id})),
    );
    tx.commit().await?.no_follow_up();
    tracing::info!(agent = %agent.username, "agent signed in");
    Ok(SignedIn {
        token,
        session_id: session.id,
        username: agent.username,
        role: agent.role,
        expires_at: session.expires_at,
    })
}
