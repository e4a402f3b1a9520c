//! Agents as JSON: `GET /v1/agents` (admins), `POST /v1/agents` (an admin adds an
//! analyst; the answer carries the new agent's password and TOTP secret once) and
//! `POST /v1/agents/{username}/disable`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{AddAgentError, Credentials, add, check_username};
use crate::auth::CurrentAgent;
use crate::domain::agent::{Permission, Role};
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::time::Timestamp;
use crate::domain::validation::{FieldError, Fields};
use crate::edge::error::ApiError;
use crate::edge::http::{FromJson, JsonBody, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/agents", list_agents)
        .post("/v1/agents", add_agent)
        .post("/v1/agents/{username}/disable", disable_agent)
}

async fn list_agents(State(state): State<AppState>, agent: CurrentAgent) -> Result<Json<AgentList>, ApiError> {
    agent.require(Permission::ManageAgents)?;
    let now = state.clock().now();
    let mut agents = Vec::new();
    for a in state.db().agents().await? {
        // Locks are per source; what concerns an admin is how hard the
        // username is being tried, and a lock that holds for every source.
        let failures = state.db().sign_in_failures(&a.username, "", now).await?;
        agents.push(Agent {
            username: a.username,
            role: a.role,
            created_at: a.created_at,
            disabled: a.disabled_at.is_some(),
            locked_until: failures.locked_for(now).map(|remaining| now.plus(remaining)),
            recent_failures: failures.from_everywhere.len(),
        });
    }
    Ok(Json(AgentList { agents }))
}

#[derive(Serialize, ToSchema)]
pub struct AgentList {
    agents: Vec<Agent>,
}

#[derive(Serialize, ToSchema)]
pub struct Agent {
    username: String,
    role: Role,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    disabled: bool,
    /// Set while the username is locked for every source (a distributed attack: 50 failures within 15 minutes). A single source that fails five times is locked out on its own, without locking the agent.
    #[schema(value_type = Option<String>, format = DateTime, required)]
    locked_until: Option<Timestamp>,
    /// Failed sign-ins and step-ups against this username in the last 30 minutes, from every source.
    recent_failures: usize,
}

#[derive(ToSchema)]
#[schema(as = NewAgentRequest)]
pub struct AddAgentRequest {
    /// 3 to 64 of `a-z 0-9 . _ -`, starting with a letter.
    #[schema(pattern = "^[a-z][a-z0-9._-]{2,63}$")]
    username: String,
    role: Role,
}

impl FromJson for AddAgentRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            let username =
                fields.required_parsed(map, "username", |name| check_username(name).map(|()| name.to_owned()));
            let role = fields.required_parsed(map, "role", |text| {
                Role::parse(text).ok_or("must be one of analyst, lead, admin")
            });
            Some(AddAgentRequest {
                username: username?,
                role: role?,
            })
        })
    }
}

async fn add_agent(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    JsonBody(request): JsonBody<AddAgentRequest>,
) -> Result<(StatusCode, Json<Credentials>), ApiError> {
    agent.require(Permission::ManageAgents)?;
    if request.role != Role::Analyst {
        // One admin must not be able to make the second lead that a four-eyes
        // approval needs: leads and admins are made on the server itself.
        return Err(ApiError::forbidden(
            "leads and admins are created on the server with `holdfast agent add`; the API creates analysts",
        ));
    }
    agent
        .require_fresh_mfa(&state, crate::auth::otp_header(&headers))
        .await?;
    let now = state.clock().now();
    match add(
        state.db(),
        state.secrets(),
        &request.username,
        request.role,
        &agent.actor(),
        now,
    )
    .await
    {
        Ok(credentials) => Ok((StatusCode::CREATED, Json(credentials))),
        Err(AddAgentError::Taken(name)) => Err(ApiError::Conflict(format!("an agent named `{name}` already exists"))),
        Err(AddAgentError::InvalidUsername(message)) => Err(ApiError::invalid("username", message)),
        Err(AddAgentError::Other(error)) => Err(ApiError::Internal(error)),
    }
}

async fn disable_agent(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> Result<Json<DisabledAgent>, ApiError> {
    agent.require(Permission::ManageAgents)?;
    agent
        .require_fresh_mfa(&state, crate::auth::otp_header(&headers))
        .await?;
    let target = state
        .db()
        .agent_by_username(&username)
        .await?
        .ok_or_else(|| ApiError::not_found("the agent"))?;
    if target.id == agent.id {
        return Err(ApiError::Conflict("an admin cannot disable themselves".into()));
    }
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    tx.disable_agent(&target.id, now).await?;
    let revoked = tx.revoke_sessions_of(&target.id, now).await?;
    tx.audit(
        AuditRecord::new(now, agent.actor(), AuditAction::AgentDisabled)
            .detail(json!({"username": username, "sessions_revoked": revoked})),
    );
    tx.commit().await?.no_follow_up();
    Ok(Json(DisabledAgent {
        username,
        disabled: true,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct DisabledAgent {
    username: String,
    disabled: bool,
}
