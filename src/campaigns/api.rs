//! Campaigns as JSON (SPEC §12): the list, one campaign, and containing
//! every incident of one; each a thin translation to [`super`]'s functions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::CampaignView;
use crate::auth::{CurrentAgent, otp_header};
use crate::domain::ids::CampaignId;
use crate::domain::validation::{FieldError, Fields};
use crate::edge::error::ApiError;
use crate::edge::http::{FromJson, JsonBody, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/campaigns", list)
        .get("/v1/campaigns/{id}", show)
        .post("/v1/campaigns/{id}/contain", contain)
}

#[tracing::instrument(skip_all)]
async fn list(State(state): State<AppState>, agent: CurrentAgent) -> Result<Json<Value>, ApiError> {
    let campaigns = super::list(&state, &agent).await?;
    Ok(Json(
        json!({"campaigns": campaigns.iter().map(campaign_json).collect::<Vec<_>>()}),
    ))
}

#[tracing::instrument(skip_all, fields(campaign.id = %id))]
async fn show(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(id): Path<CampaignId>,
) -> Result<Json<Value>, ApiError> {
    let campaign = super::show(&state, &agent, &id).await?;
    Ok(Json(campaign_json(&campaign)))
}

struct ContainRequest {
    playbook_id: String,
}

impl FromJson for ContainRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            Some(ContainRequest {
                playbook_id: fields.required_string(map, "playbook_id")?,
            })
        })
    }
}

#[tracing::instrument(skip_all, fields(campaign.id = %id))]
async fn contain(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(id): Path<CampaignId>,
    JsonBody(request): JsonBody<ContainRequest>,
) -> Result<Json<Value>, ApiError> {
    let done = super::contain(&state, &mut agent, &id, &request.playbook_id, otp_header(&headers)).await?;
    Ok(Json(json!({
        "runs": done.runs.iter().map(|(incident, run)| json!({"incident_id": incident, "run_id": run})).collect::<Vec<_>>(),
        "skipped": done.skipped.iter().map(|(incident, status)| json!({"incident_id": incident, "status": status})).collect::<Vec<_>>(),
    })))
}

/// A campaign as the API shows it.
pub fn campaign_json(view: &CampaignView) -> Value {
    let c = &view.campaign;
    let mut incident_ids: Vec<&str> = view.incidents.iter().map(|m| m.incident_id.as_str()).collect();
    incident_ids.dedup();
    json!({
        "id": c.id,
        "signal": {"kind": c.kind, "value": view.shown_value(), "masked": c.value.is_none()},
        "accounts": c.accounts,
        "incident_ids": incident_ids,
        "incidents": view.incidents.iter().map(|m| json!({
            "id": m.incident_id,
            "account_id": m.account_id,
            "status": m.status,
            "priority": m.priority,
            "joined_at": m.joined_at,
        })).collect::<Vec<_>>(),
        "first_seen": c.first_seen,
        "last_seen": c.last_seen,
        "recognized_at": c.recognized_at,
    })
}
