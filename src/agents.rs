//! Agents of the security team: creating them (`holdfast agent add`, or an
//! admin through the API), listing and disabling them.
//!
//! The API creates analysts only. Leads approve each other's unfreezes (four
//! eyes), so an admin who could create leads through the API could create
//! the second lead a serious unfreeze needs and approve it alone; leads and
//! admins are therefore created with `holdfast agent add` on the server,
//! where creating one needs access to the host and its master key.

use serde::Serialize;
use serde_json::json;

use crate::auth::{totp, totp_context};
use crate::domain::agent::Role;
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::ids::AgentId;
use crate::domain::time::Timestamp;
use crate::platform::crypto::{self, SecretBox};
use crate::storage::{AgentRecord, Database, is_unique_violation};

/// What a new agent is told once: never stored in the clear, never shown again.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(description = "A new agent's credentials, shown once.")]
pub struct Credentials {
    pub username: String,
    pub role: Role,
    /// Shown once, never stored in the clear.
    pub password: String,
    /// The TOTP seed, base32 (RFC 6238, SHA-1, 6 digits, 30 s). Shown once.
    pub totp_secret: String,
    /// The seed as an `otpauth://` URI for an authenticator app.
    pub otpauth_uri: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AddAgentError {
    #[error("{0}")]
    InvalidUsername(&'static str),
    #[error("an agent named `{0}` already exists")]
    Taken(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Usernames: 3 to 64 of `a-z 0-9 . _ -`, starting with a letter.
pub fn check_username(username: &str) -> Result<(), &'static str> {
    let valid_chars = username
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !(3..=64).contains(&username.len()) || !valid_chars || !username.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must be 3 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter");
    }
    Ok(())
}

/// Creates an agent with a random password and TOTP seed, and returns them once.
pub async fn add(
    db: &Database,
    secrets: &SecretBox,
    username: &str,
    role: Role,
    by: &str,
    at: Timestamp,
) -> Result<Credentials, AddAgentError> {
    check_username(username).map_err(AddAgentError::InvalidUsername)?;
    let password = crypto::new_password().map_err(anyhow::Error::from)?;
    let seed = zeroize::Zeroizing::new(crypto::random_bytes::<{ totp::SECRET_BYTES }>().map_err(anyhow::Error::from)?);
    let for_hashing = password.clone();
    let password_hash = tokio::task::spawn_blocking(move || crypto::hash_password(&for_hashing))
        .await
        .map_err(|e| anyhow::anyhow!("password hashing panicked: {e}"))??;
    let id = AgentId::new();
    let (sealed, key_id) = secrets
        .seal(seed.as_slice(), &totp_context(&id))
        .map_err(anyhow::Error::from)?;
    let agent = AgentRecord {
        id,
        username: username.to_owned(),
        role,
        password_hash,
        totp_secret: sealed,
        totp_key_id: key_id,
        last_totp_step: 0,
        created_at: at,
        disabled_at: None,
    };
    let mut tx = db.begin().await.map_err(anyhow::Error::from)?;
    match tx.insert_agent(&agent).await {
        Err(e) if is_unique_violation(&e) => return Err(AddAgentError::Taken(username.to_owned())),
        other => other.map_err(anyhow::Error::from)?,
    }
    tx.audit(AuditRecord::new(at, by, AuditAction::AgentCreated).detail(json!({"username": username, "role": role})));
    tx.commit().await.map_err(anyhow::Error::from)?.no_follow_up();
    Ok(Credentials {
        username: username.to_owned(),
        role,
        password,
        totp_secret: totp::base32(seed.as_slice()),
        otpauth_uri: totp::otpauth_uri(seed.as_slice(), username),
    })
}

/// Re-seals every agent's TOTP seed from `current` to `next`, in one
/// transaction; returns how many.
pub async fn reseal_all(db: &Database, current: &SecretBox, next: &SecretBox, at: Timestamp) -> anyhow::Result<usize> {
    let mut tx = db.begin().await?;
    let agents = tx.lock_all_agents().await?;
    for agent in &agents {
        let context = totp_context(&agent.id);
        let seed = current
            .open(&agent.totp_secret, &agent.totp_key_id, &context)
            .map_err(|e| anyhow::anyhow!("agent {}: {e}", agent.username))?;
        let (sealed, key_id) = next.seal(&seed, &context)?;
        tx.reseal_agent_secret(&agent.id, &sealed, &key_id).await?;
    }
    tx.audit(
        AuditRecord::new(at, "cli", AuditAction::KeysRotated)
            .detail(json!({"to_key_id": next.current_key_id(), "secrets": agents.len()})),
    );
    tx.commit().await?.no_follow_up();
    Ok(agents.len())
}

pub mod api;
