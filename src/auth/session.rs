//! Bearer sessions: the agent a request acts for (`CurrentAgent`, from a
//! session token, touched at most once a minute, expired when idle or too
//! old), stepping up (`elevate`, or inline with the `X-Holdfast-OTP`
//! header) and signing out.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde_json::json;

use super::attempts::{Attempt, accept_step, check_code, locked, replayed};
use crate::domain::agent::{ELEVATION, Permission, Role, SESSION_IDLE_TIMEOUT, agent_actor};
use crate::domain::audit::AuditRecord;
use crate::domain::ids::{AgentId, SessionId};
use crate::domain::time::Timestamp;
use crate::edge::error::{ApiError, ProblemKind};
use crate::edge::http::ClientAddress;
use crate::platform::crypto::token_hash;
use crate::state::AppState;

pub const OTP_HEADER: &str = "x-holdfast-otp";

/// A session's last-seen time is written at most this often.
const TOUCH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Ends `agent`'s session (the API's logout and the console's sign-out).
pub async fn sign_out(state: &AppState, agent: &CurrentAgent) -> Result<(), ApiError> {
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    if tx.revoke_session(&agent.session_id, now).await? {
        tx.audit(AuditRecord::new(now, agent.actor(), "agent.logout").detail(json!({"session_id": agent.session_id})));
    }
    tx.commit().await?.no_follow_up();
    Ok(())
}

/// Verifies `code` for the agent behind `session` and elevates the session.
pub(super) async fn elevate(state: &AppState, current: &CurrentAgent, code: &str) -> Result<Timestamp, ApiError> {
    let now = state.clock().now();
    let agent = state
        .db()
        .agent_by_username(&current.username)
        .await?
        .ok_or_else(|| ApiError::unauthorized(ProblemKind::Unauthorized, "the agent no longer exists"))?;
    let client = current.client.0.as_str();
    let failures = state.db().sign_in_failures(&agent.username, client, now).await?;
    if let Some(remaining) = failures.locked_for(now) {
        return Err(locked(remaining));
    }
    let attempt = Attempt {
        username: &agent.username,
        client,
        failures: &failures,
    };
    let step = check_code(state, &agent, code, &attempt, "agent.step_up_failed").await?;
    let mut tx = state.db().begin().await?;
    if !accept_step(&mut tx, &agent, step).await? {
        drop(tx);
        return Err(replayed(state, &attempt, "agent.step_up_failed").await);
    }
    let until = now.plus(ELEVATION);
    tx.clear_sign_in_failures(&agent.username, client).await?;
    tx.elevate_session(&current.session_id, until).await?;
    tx.audit(
        AuditRecord::new(now, agent_actor(&agent.username), "agent.step_up").detail(json!({"elevated_until": until})),
    );
    tx.commit().await?.no_follow_up();
    Ok(until)
}

/// The agent behind a request's bearer token (or the console's cookie).
#[derive(Clone, Debug)]
pub struct CurrentAgent {
    pub id: AgentId,
    pub username: String,
    pub role: Role,
    pub session_id: SessionId,
    pub elevated_until: Option<Timestamp>,
    /// Where the request came from: a failed step-up counts against it.
    pub client: ClientAddress,
}

impl CurrentAgent {
    /// `agent:<username>`, as the audit log names actors.
    pub fn actor(&self) -> String {
        agent_actor(&self.username)
    }

    /// 403 unless the agent's role allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.can(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("the {} role may not do this", self.role)))
        }
    }

    /// For sensitive actions: the time of a step-up in the last five minutes,
    /// taking `code` (the API's `X-Holdfast-OTP` header, the console's `otp`
    /// field) as an inline step-up; otherwise a 403 `mfa-required`.
    pub async fn require_fresh_mfa(&mut self, state: &AppState, code: Option<&str>) -> Result<Timestamp, ApiError> {
        let now = state.clock().now();
        if let Some(code) = code {
            let until = elevate(state, self, code).await?;
            self.elevated_until = Some(until);
            return Ok(now);
        }
        match self.elevated_until {
            Some(until) if until > now => Ok(until.minus(ELEVATION)),
            _ => Err(ApiError::Forbidden {
                kind: ProblemKind::MfaRequired,
                detail: "this action needs a fresh step-up: POST /v1/auth/step-up or send X-Holdfast-OTP".into(),
            }),
        }
    }

    /// Whether the session's step-up still allows sensitive actions at `at`.
    pub fn is_elevated_at(&self, at: Timestamp) -> bool {
        self.elevated_until.is_some_and(|until| until > at)
    }
}

/// The inline step-up code of an API request (`X-Holdfast-OTP`), if any.
pub fn otp_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(OTP_HEADER).and_then(|value| value.to_str().ok())
}

/// Whether reading a session counts as its use (and so keeps an idle
/// session alive). A background poll of the console does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Touch {
    Yes,
    No,
}

/// The agent behind a session token (a bearer token or the console's
/// cookie): the one check of a session's revocation, idle and absolute
/// timeouts and its agent's state, for the API and the console alike.
pub async fn agent_for_session_token(
    state: &AppState,
    token: &str,
    touch: Touch,
    client: ClientAddress,
) -> Result<CurrentAgent, ApiError> {
    let (session, agent) = state
        .db()
        .session_by_token(&token_hash(token))
        .await?
        .ok_or_else(|| ApiError::unauthorized(ProblemKind::Unauthorized, "the token is not valid"))?;
    let now = state.clock().now();
    let expired = session.revoked_at.is_some()
        || now >= session.expires_at
        || now >= session.last_seen_at.plus(SESSION_IDLE_TIMEOUT)
        || agent.disabled_at.is_some();
    if expired {
        return Err(ApiError::unauthorized(
            ProblemKind::SessionExpired,
            "the session has ended; sign in again",
        ));
    }
    if touch == Touch::Yes && now.since(session.last_seen_at) >= TOUCH_EVERY {
        let mut tx = state.db().begin().await?;
        tx.touch_session(&session.id, now).await?;
        tx.commit().await?.no_follow_up();
    }
    Ok(CurrentAgent {
        id: agent.id,
        username: agent.username,
        role: agent.role,
        session_id: session.id,
        elevated_until: session.elevated_until,
        client,
    })
}

impl FromRequestParts<AppState> for CurrentAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let client = ClientAddress::from_request_parts(parts, state).await?;
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    ProblemKind::Unauthorized,
                    "sign in and send Authorization: Bearer <token>",
                )
            })?
            .to_owned();
        agent_for_session_token(state, &token, Touch::Yes, client).await
    }
}
