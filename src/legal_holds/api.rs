//! `POST /v1/incidents/{id}/legal-hold` and `…/legal-hold/release`, each
//! with a reason; both answer with the incident as `GET /v1/incidents/{id}`
//! shows it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::Value;

use crate::auth::{CurrentAgent, otp_header};
use crate::domain::ids::IncidentId;
use crate::domain::validation::{FieldError, Fields};
use crate::edge::error::ApiError;
use crate::edge::http::{FromJson, JsonBody, Routes};
use crate::incidents::api::detail;
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .post("/v1/incidents/{id}/legal-hold", set)
        .post("/v1/incidents/{id}/legal-hold/release", release)
}

struct ReasonRequest {
    reason: String,
}

impl FromJson for ReasonRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            let reason = fields.required_str(map, "reason")?;
            super::check_reason(reason)
                .map_err(|message| fields.error("reason", message))
                .ok()?;
            Some(ReasonRequest {
                reason: reason.to_owned(),
            })
        })
    }
}

#[tracing::instrument(skip_all, fields(incident.id = %id))]
async fn set(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(id): Path<IncidentId>,
    JsonBody(request): JsonBody<ReasonRequest>,
) -> Result<Json<Value>, ApiError> {
    let incident = super::set(&state, &mut agent, &id, &request.reason, otp_header(&headers)).await?;
    Ok(Json(detail(&state, &incident).await?))
}

#[tracing::instrument(skip_all, fields(incident.id = %id))]
async fn release(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(id): Path<IncidentId>,
    JsonBody(request): JsonBody<ReasonRequest>,
) -> Result<Json<Value>, ApiError> {
    let incident = super::release(&state, &mut agent, &id, &request.reason, otp_header(&headers)).await?;
    Ok(Json(detail(&state, &incident).await?))
}
