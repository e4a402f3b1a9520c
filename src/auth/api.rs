//! The sign-in API: `POST /v1/auth/login`, `POST /v1/auth/step-up` and
//! `POST /v1/auth/logout`, each a translation to `sign_in` and `session`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::session::{CurrentAgent, elevate, sign_out};
use super::sign_in::sign_in;
use crate::domain::agent::{Role, SESSION_IDLE_TIMEOUT};
use crate::domain::time::Timestamp;
use crate::domain::validation::{FieldError, Fields};
use crate::edge::error::ApiError;
use crate::edge::http::ClientAddress;
use crate::edge::http::{FromJson, JsonBody, Routes};
use crate::state::AppState;
use crate::state::shared::Limit;

pub fn routes() -> Routes {
    Routes::new()
        .post("/v1/auth/login", login)
        .post("/v1/auth/step-up", step_up)
        .post("/v1/auth/logout", logout)
}

#[derive(ToSchema)]
pub struct LoginRequest {
    username: String,
    #[schema(format = Password)]
    password: String,
    /// The current TOTP code.
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

#[derive(ToSchema)]
pub struct StepUpRequest {
    /// The current TOTP code (a code is accepted once).
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

#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Json<Session>, ApiError> {
    let signed_in = sign_in(&state, &client, &request.username, &request.password, &request.otp).await?;
    Ok(Json(Session {
        token: signed_in.token,
        expires_at: signed_in.expires_at,
        idle_timeout_seconds: SESSION_IDLE_TIMEOUT.as_secs(),
        role: signed_in.role,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Session {
    /// The bearer token. Send it as `Authorization: Bearer <token>`.
    token: String,
    /// The session's absolute end (12 hours).
    #[schema(value_type = String, format = DateTime)]
    expires_at: Timestamp,
    /// The session ends after this long without a request.
    idle_timeout_seconds: u64,
    role: Role,
}

#[tracing::instrument(skip_all, fields(agent = %agent.username))]
async fn step_up(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    agent: CurrentAgent,
    JsonBody(request): JsonBody<StepUpRequest>,
) -> Result<Json<Elevation>, ApiError> {
    state.shared().check(Limit::StepUp, &client).await?;
    let elevated_until = elevate(&state, &agent, &request.otp).await?;
    Ok(Json(Elevation { elevated_until }))
}

#[derive(Serialize, ToSchema)]
pub struct Elevation {
    /// Sensitive actions are allowed until then (five minutes).
    #[schema(value_type = String, format = DateTime)]
    elevated_until: Timestamp,
}

/// Signs the calling session out: its token stops working at once.
#[tracing::instrument(skip_all, fields(agent = %agent.username))]
async fn logout(State(state): State<AppState>, agent: CurrentAgent) -> Result<StatusCode, ApiError> {
    sign_out(&state, &agent).await?;
    Ok(StatusCode::NO_CONTENT)
}
