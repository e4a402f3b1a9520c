//! Incidents as JSON (SPEC §5): the queue, the detail with its timeline, and
//! the agents' decisions, each a thin translation to [`super`]'s functions
//! (a legal hold's, SPEC §15, to `legal_holds`').

pub mod alerts;
pub mod bodies;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::Decision;
use crate::auth::{CurrentAgent, otp_header};
use crate::domain::agent::Permission;
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{Incident, IncidentStatus, Resolution, check_note};
use crate::domain::priority::Priority;
use crate::domain::time::Timestamp;
use crate::domain::validation::{FieldError, Fields};
use crate::edge::error::ApiError;
use crate::edge::http::{FromJson, JsonBody, OptionalJsonBody, Routes};
use crate::incidents;
use crate::state::AppState;
use crate::storage::IncidentFilter;

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/incidents", list)
        .post("/v1/incidents/next", claim_next)
        .get("/v1/incidents/{id}", show)
        .post("/v1/incidents/{id}/acknowledge", acknowledge)
        .post("/v1/incidents/{id}/resolve", resolve)
        .post("/v1/incidents/{id}/dismiss", dismiss)
        .post("/v1/incidents/{id}/legal-hold", set_legal_hold)
        .post("/v1/incidents/{id}/legal-hold/release", release_legal_hold)
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    priority: Option<String>,
    /// Taken as given, not parsed: an id no account could have matches no
    /// incident, which is the answer the filter already gives.
    account_id: Option<AccountId>,
    limit: Option<String>,
    cursor: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> Result<IncidentFilter, ApiError> {
        let mut errors = Vec::new();
        let status = self.status.as_deref().filter(|s| !s.is_empty()).and_then(|text| {
            IncidentStatus::parse(text).or_else(|| {
                errors.push(FieldError::new(
                    "status",
                    "must be one of open, acknowledged, contained, recovering, resolved, dismissed",
                ));
                None
            })
        });
        let priority = self.priority.as_deref().filter(|s| !s.is_empty()).and_then(|text| {
            Priority::parse(text).or_else(|| {
                errors.push(FieldError::new("priority", "must be one of P1, P2, P3, P4"));
                None
            })
        });
        let limit = match self.limit.as_deref() {
            None | Some("") => DEFAULT_PAGE,
            Some(text) => match text.parse::<i64>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
                _ => {
                    errors.push(FieldError::new("limit", "must be a whole number from 1 to 200"));
                    DEFAULT_PAGE
                }
            },
        };
        let before = self.cursor.as_deref().filter(|s| !s.is_empty()).and_then(|cursor| {
            decode_cursor(cursor).or_else(|| {
                errors.push(FieldError::new("cursor", "is not a cursor this service issued"));
                None
            })
        });
        if !errors.is_empty() {
            return Err(ApiError::Invalid(errors));
        }
        Ok(IncidentFilter {
            status,
            priority,
            account_id: self.account_id.clone().filter(|a| !a.as_str().is_empty()),
            before,
            limit,
        })
    }
}

fn encode_cursor(incident: &Incident) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", incident.opened_at.micros(), incident.id))
}

fn decode_cursor(cursor: &str) -> Option<(Timestamp, IncidentId)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (micros, id) = text.split_once(':')?;
    Some((
        Timestamp::from_micros(micros.parse().ok()?)?,
        IncidentId::from_string(id.to_owned()),
    ))
}

/// Newest-first pages; within a page, the most urgent first (priority, then deadline).
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Query(query): Query<ListQuery>,
) -> Result<Json<bodies::IncidentPage>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let filter = query.filter()?;
    let mut page = state.db().incidents(&filter).await?;
    let next_cursor = (page.len() as i64 == filter.limit)
        .then(|| page.last().map(encode_cursor))
        .flatten();
    page.sort_by_key(|a| (a.priority, a.deadlines.acknowledge_by));
    let incidents = page.iter().map(bodies::IncidentSummary::of).collect();
    Ok(Json(bodies::IncidentPage { incidents, next_cursor }))
}

#[tracing::instrument(skip_all, fields(incident.id = %id))]
async fn show(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(id): Path<IncidentId>,
) -> Result<Json<bodies::Incident>, ApiError> {
    let dossier = incidents::dossier(&state, &agent, &id).await?;
    Ok(Json(bodies::Incident::of(dossier, state.clock().now())))
}

/// Claims the most urgent unassigned incident; two agents never get the same one.
#[tracing::instrument(skip_all)]
async fn claim_next(State(state): State<AppState>, agent: CurrentAgent) -> Result<Response, ApiError> {
    match incidents::claim_next(&state, &agent).await? {
        Some(incident) => Ok(Json(detail(&state, &incident).await?).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// An optional free-text note.
#[derive(ToSchema)]
pub struct NoteRequest {
    #[schema(max_length = 4000)]
    note: Option<String>,
}

impl FromJson for NoteRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            Some(NoteRequest {
                note: note(fields, map),
            })
        })
    }
}

fn note(fields: &mut Fields, map: &serde_json::Map<String, Value>) -> Option<String> {
    let note = fields.optional_str(map, "note")?;
    check_note(note).map_err(|message| fields.error("note", message)).ok()?;
    Some(note.to_owned())
}

#[derive(ToSchema)]
pub struct ResolveRequest {
    resolution: Resolution,
    #[schema(max_length = 4000)]
    note: Option<String>,
}

impl FromJson for ResolveRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            let resolution = fields.required_parsed(map, "resolution", |text| {
                Resolution::parse(text).ok_or("must be one of confirmed_takeover, false_positive, user_error")
            });
            let note = note(fields, map);
            Some(ResolveRequest {
                resolution: resolution?,
                note,
            })
        })
    }
}

#[tracing::instrument(skip_all, fields(incident.id = %id))]
async fn acknowledge(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(id): Path<IncidentId>,
    OptionalJsonBody(request): OptionalJsonBody<NoteRequest>,
) -> Result<Json<bodies::Incident>, ApiError> {
    let decision = Decision::Acknowledge { note: request.note };
    decided(&state, &agent, &id, decision).await
}

#[tracing::instrument(skip_all, fields(incident.id = %id))]
async fn resolve(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(id): Path<IncidentId>,
    OptionalJsonBody(request): OptionalJsonBody<ResolveRequest>,
) -> Result<Json<bodies::Incident>, ApiError> {
    let decision = Decision::Resolve {
        resolution: request.resolution,
        note: request.note,
    };
    decided(&state, &agent, &id, decision).await
}

#[tracing::instrument(skip_all, fields(incident.id = %id))]
async fn dismiss(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(id): Path<IncidentId>,
    OptionalJsonBody(request): OptionalJsonBody<NoteRequest>,
) -> Result<Json<bodies::Incident>, ApiError> {
    let decision = Decision::Dismiss { note: request.note };
    decided(&state, &agent, &id, decision).await
}

/// Why a legal hold is set or released.
#[derive(ToSchema)]
pub struct LegalHoldRequest {
    /// Why (audited): a non-blank text of at most 2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    reason: String,
}

impl FromJson for LegalHoldRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            let reason = fields.required_str(map, "reason")?;
            crate::legal_holds::check_reason(reason)
                .map_err(|message| fields.error("reason", message))
                .ok()?;
            Some(LegalHoldRequest {
                reason: reason.to_owned(),
            })
        })
    }
}

#[tracing::instrument(skip_all, fields(incident.id = %id))]
async fn set_legal_hold(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(id): Path<IncidentId>,
    JsonBody(request): JsonBody<LegalHoldRequest>,
) -> Result<Json<bodies::Incident>, ApiError> {
    let incident = crate::legal_holds::set(&state, &mut agent, &id, &request.reason, otp_header(&headers)).await?;
    Ok(Json(detail(&state, &incident).await?))
}

#[tracing::instrument(skip_all, fields(incident.id = %id))]
async fn release_legal_hold(
    State(state): State<AppState>,
    mut agent: CurrentAgent,
    headers: HeaderMap,
    Path(id): Path<IncidentId>,
    JsonBody(request): JsonBody<LegalHoldRequest>,
) -> Result<Json<bodies::Incident>, ApiError> {
    let incident = crate::legal_holds::release(&state, &mut agent, &id, &request.reason, otp_header(&headers)).await?;
    Ok(Json(detail(&state, &incident).await?))
}

/// The incident as `GET /v1/incidents/{id}` shows it.
/// Applies an agent's decision and answers the incident as it now stands.
async fn decided(
    state: &AppState,
    agent: &CurrentAgent,
    id: &IncidentId,
    decision: Decision,
) -> Result<Json<bodies::Incident>, ApiError> {
    let incident = incidents::decide(state, agent, id, decision).await?;
    Ok(Json(detail(state, &incident).await?))
}

pub async fn detail(state: &AppState, incident: &Incident) -> Result<bodies::Incident, ApiError> {
    let dossier = incidents::dossier_of(state, incident.clone()).await?;
    Ok(bodies::Incident::of(dossier, state.clock().now()))
}
