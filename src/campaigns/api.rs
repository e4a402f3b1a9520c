//! Campaigns as JSON (SPEC §12): the list, one campaign, and containing
//! every incident of one; each a thin translation to [`super`]'s functions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::CampaignView;
use crate::auth::{CurrentAgent, otp_header};
use crate::domain::campaign::SignalKind;
use crate::domain::ids::{CampaignId, IncidentId, RunId};
use crate::domain::incident::IncidentStatus;
use crate::domain::priority::Priority;
use crate::domain::time::Timestamp;
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
async fn list(State(state): State<AppState>, agent: CurrentAgent) -> Result<Json<CampaignList>, ApiError> {
    let campaigns = super::list(&state, &agent).await?;
    Ok(Json(CampaignList {
        campaigns: campaigns.iter().map(Campaign::of).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct CampaignList {
    /// The newest activity first.
    campaigns: Vec<Campaign>,
}

#[tracing::instrument(skip_all, fields(campaign.id = %id))]
async fn show(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(id): Path<CampaignId>,
) -> Result<Json<Campaign>, ApiError> {
    let campaign = super::show(&state, &agent, &id).await?;
    Ok(Json(Campaign::of(&campaign)))
}

#[derive(ToSchema)]
#[schema(as = ContainCampaignRequest)]
pub struct ContainRequest {
    /// A verified containment playbook.
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
) -> Result<Json<CampaignContainment>, ApiError> {
    let done = super::contain(&state, &mut agent, &id, &request.playbook_id, otp_header(&headers)).await?;
    Ok(Json(CampaignContainment {
        runs: done
            .runs
            .into_iter()
            .map(|(incident_id, run_id)| StartedRun { incident_id, run_id })
            .collect(),
        skipped: done
            .skipped
            .into_iter()
            .map(|(incident_id, status)| Skipped { incident_id, status })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct CampaignContainment {
    /// One run per incident that was not contained yet.
    #[schema(inline)]
    runs: Vec<StartedRun>,
    /// Incidents already contained (or closed), with their status.
    #[schema(inline)]
    skipped: Vec<Skipped>,
}

#[derive(Serialize, ToSchema)]
struct StartedRun {
    #[schema(value_type = String)]
    incident_id: IncidentId,
    #[schema(value_type = String)]
    run_id: RunId,
}

#[derive(Serialize, ToSchema)]
struct Skipped {
    #[schema(value_type = String)]
    incident_id: IncidentId,
    status: IncidentStatus,
}

/// Incidents of different accounts sharing one attacker signal within a window.
#[derive(Serialize, ToSchema)]
pub struct Campaign {
    #[schema(value_type = String)]
    id: CampaignId,
    #[schema(inline)]
    signal: Signal,
    /// How many distinct accounts share the signal.
    #[schema(minimum = 0)]
    accounts: i64,
    incident_ids: Vec<String>,
    incidents: Vec<CampaignIncident>,
    #[schema(value_type = String, format = DateTime)]
    first_seen: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    last_seen: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    recognized_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
struct Signal {
    kind: SignalKind,
    /// The shared value; masked once its retention period has passed.
    value: String,
    /// Whether `value` is masked.
    masked: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignIncident {
    #[schema(value_type = String)]
    id: IncidentId,
    #[schema(value_type = String)]
    account_id: String,
    status: IncidentStatus,
    priority: Priority,
    #[schema(value_type = String, format = DateTime)]
    joined_at: Timestamp,
}

impl Campaign {
    /// A campaign as the API shows it.
    pub fn of(view: &CampaignView) -> Self {
        let c = &view.campaign;
        let mut incident_ids: Vec<String> = view.incidents.iter().map(|m| m.incident_id.to_string()).collect();
        incident_ids.dedup();
        Campaign {
            id: c.id.clone(),
            signal: Signal {
                kind: c.kind,
                value: view.shown_value().to_owned(),
                masked: c.value.is_none(),
            },
            accounts: c.accounts,
            incident_ids,
            incidents: view
                .incidents
                .iter()
                .map(|m| CampaignIncident {
                    id: m.incident_id.clone(),
                    account_id: m.account_id.to_string(),
                    status: m.status,
                    priority: m.priority,
                    joined_at: m.joined_at,
                })
                .collect(),
            first_seen: c.first_seen,
            last_seen: c.last_seen,
            recognized_at: c.recognized_at,
        }
    }
}
