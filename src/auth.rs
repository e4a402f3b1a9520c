//! Agents signing in: password + TOTP login, bearer sessions, step-up.
//!
//! Signing in does not elevate. Sensitive actions need a step-up in the last
//! five minutes (`POST /v1/auth/step-up`) or an `X-Holdfast-OTP` header that
//! steps up inline. Every accepted TOTP code advances the agent's last
//! accepted time step by compare-and-set, so a code (or any older one) is
//! accepted once. Five failed password or code attempts within fifteen
//! minutes lock the agent for fifteen minutes; attempts are counted per agent,
//! and separately rate-limited per client address.
//!
//! (Over 400 lines: sign-in, sessions, step-up and the failure counting
//! share one rule set (what counts as a failure, when a source is locked);
//! TOTP itself is in `auth/totp`.)

use std::time::Duration;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::domain::agent::{
    ELEVATION, FailureHistory, LOCKOUT_THRESHOLD, Permission, Role, SESSION_IDLE_TIMEOUT, SESSION_LIFETIME, agent_actor,
};
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::ids::{AgentId, SessionId};
use crate::domain::time::Timestamp;
use crate::domain::validation::{FieldError, Fields};
use crate::edge::error::{ApiError, ProblemKind};
use crate::edge::http::{FromJson, JsonBody, Routes};
use crate::platform::crypto::{self, token_hash};
use crate::state::AppState;
use crate::state::shared::Limit;
use crate::storage::{AgentRecord, SessionRecord, WriteTx};

pub mod totp;

pub const OTP_HEADER: &str = "x-holdfast-otp";

/// A session's last-seen time is written at most this often.
const TOUCH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

pub fn routes() -> Routes {
    Routes::new()
        .post("/v1/auth/login", login)
        .post("/v1/auth/step-up", step_up)
        .post("/v1/auth/logout", logout)
}

pub use crate::edge::http::ClientAddress;

struct LoginRequest {
    username: String,
    password: String,
    otp: String,
}

impl FromJson for LoginRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            let username = fields.required_string(map, "username");
            let password = fields.required_string(map, "password");
            let otp = fields.required_string(map, "otp");
            Some(LoginRequest {
                username: username?,
                password: password?,
                otp: otp?,
            })
        })
    }
}

struct StepUpRequest {
    otp: String,
}

impl FromJson for StepUpRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            Some(StepUpRequest {
                otp: fields.required_string(map, "otp")?,
            })
        })
    }
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized(
        ProblemKind::InvalidCredentials,
        "the username, password or code is wrong",
    )
}

#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Json<Value>, ApiError> {
    let signed_in = sign_in(&state, &client, &request.username, &request.password, &request.otp).await?;
    Ok(Json(json!({
        "token": signed_in.token,
        "expires_at": signed_in.expires_at,
        "idle_timeout_seconds": SESSION_IDLE_TIMEOUT.as_secs(),
        "role": signed_in.role,
    })))
}

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
            AuditAction::AgentLoginFailed,
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
    let step = check_code(state, &agent, otp, &attempt, AuditAction::AgentLoginFailed).await?;

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
        return Err(replayed(state, &attempt, AuditAction::AgentLoginFailed).await);
    }
    tx.clear_sign_in_failures(&agent.username, client).await?;
    tx.insert_session(&session, &token_hash(&token)).await?;
    tx.audit(
        AuditRecord::new(now, agent_actor(&agent.username), AuditAction::AgentLogin)
            .detail(json!({"session_id": session.id})),
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

#[tracing::instrument(skip_all, fields(agent = %agent.username))]
async fn step_up(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    agent: CurrentAgent,
    JsonBody(request): JsonBody<StepUpRequest>,
) -> Result<Json<Value>, ApiError> {
    state.shared().check(Limit::StepUp, &client).await?;
    let elevated_until = elevate(&state, &agent, &request.otp).await?;
    Ok(Json(json!({"elevated_until": elevated_until})))
}

/// Signs the calling session out: its token stops working at once.
#[tracing::instrument(skip_all, fields(agent = %agent.username))]
async fn logout(State(state): State<AppState>, agent: CurrentAgent) -> Result<StatusCode, ApiError> {
    sign_out(&state, &agent).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends `agent`'s session (the API's logout and the console's sign-out).
pub async fn sign_out(state: &AppState, agent: &CurrentAgent) -> Result<(), ApiError> {
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    if tx.revoke_session(&agent.session_id, now).await? {
        tx.audit(
            AuditRecord::new(now, agent.actor(), AuditAction::AgentLogout)
                .detail(json!({"session_id": agent.session_id})),
        );
    }
    tx.commit().await?.no_follow_up();
    Ok(())
}

/// Verifies `code` for the agent behind `session` and elevates the session.
async fn elevate(state: &AppState, current: &CurrentAgent, code: &str) -> Result<Timestamp, ApiError> {
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
    let step = check_code(state, &agent, code, &attempt, AuditAction::AgentStepUpFailed).await?;
    let mut tx = state.db().begin().await?;
    if !accept_step(&mut tx, &agent, step).await? {
        drop(tx);
        return Err(replayed(state, &attempt, AuditAction::AgentStepUpFailed).await);
    }
    let until = now.plus(ELEVATION);
    tx.clear_sign_in_failures(&agent.username, client).await?;
    tx.elevate_session(&current.session_id, until).await?;
    tx.audit(
        AuditRecord::new(now, agent_actor(&agent.username), AuditAction::AgentStepUp)
            .detail(json!({"elevated_until": until})),
    );
    tx.commit().await?.no_follow_up();
    Ok(until)
}

/// Who is trying, as failures are counted: the username and the source.
struct Attempt<'a> {
    username: &'a str,
    client: &'a str,
    /// The failures remembered before this attempt.
    failures: &'a FailureHistory,
}

fn locked(remaining: Duration) -> ApiError {
    ApiError::Locked {
        retry_after: remaining.as_secs().max(1),
    }
}

/// A replayed code: counted as a failure, answered `otp-replayed`.
async fn replayed(state: &AppState, attempt: &Attempt<'_>, action: AuditAction) -> ApiError {
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
async fn check_code(
    state: &AppState,
    agent: &AgentRecord,
    code: &str,
    attempt: &Attempt<'_>,
    failure_action: AuditAction,
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
async fn accept_step(tx: &mut WriteTx, agent: &AgentRecord, step: i64) -> Result<bool, ApiError> {
    if tx.lock_agent(&agent.id).await?.is_none() {
        return Ok(false);
    }
    Ok(tx.accept_totp_step(&agent.id, step).await?)
}

/// The one place a failed password or code is counted: records it against
/// the username and the source, audits it (and the lock it earns), holds the
/// answer back by the progressive delay, and answers `401` — or `423` when
/// this failure locked the source out.
async fn fail(
    state: &AppState,
    username: &str,
    client: &str,
    action: AuditAction,
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

async fn count_failure(
    state: &AppState,
    username: &str,
    client: &str,
    action: AuditAction,
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
        tx.audit(AuditRecord::new(now, "system", AuditAction::AgentLocked).detail(json!({
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
