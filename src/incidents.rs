//! The agents' view of incidents: the queue, the detail with its timeline,
//! and the state changes (acknowledge, resolve, dismiss).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::audit::AuditRecord;
use crate::domain::incident::IncidentStatus;
use crate::domain::incident::{Incident, Resolution, Transition};
use crate::domain::priority::Priority;
use crate::domain::time::Timestamp;
use crate::domain::validation::{FieldError, Fields};
use crate::error::ApiError;
use crate::http::{FromJson, OptionalJsonBody, Routes};
use crate::storage::IncidentFilter;

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;
const MAX_NOTE: usize = 4000;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/incidents", list)
        .post("/v1/incidents/next", claim_next)
        .get("/v1/incidents/{id}", show)
        .post("/v1/incidents/{id}/acknowledge", acknowledge)
        .post("/v1/incidents/{id}/resolve", resolve)
        .post("/v1/incidents/{id}/dismiss", dismiss)
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    priority: Option<String>,
    account_id: Option<String>,
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
            account_id: self.account_id.clone().filter(|a| !a.is_empty()),
            before,
            limit,
        })
    }
}

fn encode_cursor(incident: &Incident) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", incident.opened_at.micros(), incident.id))
}

fn decode_cursor(cursor: &str) -> Option<(Timestamp, String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (micros, id) = text.split_once(':')?;
    Some((Timestamp::from_micros(micros.parse().ok()?)?, id.to_owned()))
}

/// Newest-first pages; within a page, the most urgent first (priority, then deadline).
async fn list(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let filter = query.filter()?;
    let mut page = state.db().incidents(&filter).await?;
    let next_cursor = (page.len() as i64 == filter.limit)
        .then(|| page.last().map(encode_cursor))
        .flatten();
    page.sort_by(|a, b| (a.priority, a.deadlines.acknowledge_by).cmp(&(b.priority, b.deadlines.acknowledge_by)));
    let incidents: Vec<Value> = page.iter().map(summary).collect();
    Ok(Json(json!({"incidents": incidents, "next_cursor": next_cursor})))
}

async fn show(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let incident = state
        .db()
        .incident(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("the incident"))?;
    Ok(Json(detail(&state, &incident).await?))
}

/// Claims the most urgent unassigned incident; two agents never get the same one.
async fn claim_next(State(state): State<AppState>, agent: CurrentAgent) -> Result<Response, ApiError> {
    agent.require(Permission::ClaimIncidents)?;
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let Some(mut incident) = tx.lock_next_unassigned_incident().await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    incident.assignee = Some(agent.username.clone());
    incident.updated_at = now;
    tx.save_incident(&incident).await?;
    tx.audit(AuditRecord::new(now, agent.actor(), "incident.claimed").incident(&incident.id, &incident.account_id));
    state.after_commit(tx.commit().await?).await;
    Ok(Json(detail(&state, &incident).await?).into_response())
}

/// An optional free-text note.
struct NoteRequest {
    note: Option<String>,
}

impl FromJson for NoteRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        let mut fields = Fields::new();
        let Some(map) = fields.object(value, "") else {
            return Err(fields.into_errors());
        };
        let note = note(&mut fields, map);
        fields.finish(|| NoteRequest { note })
    }
}

fn note(fields: &mut Fields, map: &serde_json::Map<String, Value>) -> Option<String> {
    let note = fields.optional_str(map, "note")?;
    if note.chars().count() > MAX_NOTE {
        fields.error("note", "must be at most 4000 characters");
        return None;
    }
    Some(note.to_owned())
}

struct ResolveRequest {
    resolution: Resolution,
    note: Option<String>,
}

impl FromJson for ResolveRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        let mut fields = Fields::new();
        let Some(map) = fields.object(value, "") else {
            return Err(fields.into_errors());
        };
        let resolution = fields.required_str(map, "resolution").and_then(|text| {
            Resolution::parse(text).or_else(|| {
                fields.error(
                    "resolution",
                    "must be one of confirmed_takeover, false_positive, user_error",
                );
                None
            })
        });
        let note = note(&mut fields, map);
        match resolution {
            Some(resolution) => fields.finish(|| ResolveRequest { resolution, note }),
            None => Err(fields.into_errors()),
        }
    }
}

async fn acknowledge(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(id): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<NoteRequest>,
) -> Result<Json<Value>, ApiError> {
    agent.require(Permission::AcknowledgeIncidents)?;
    change(&state, &agent, &id, Transition::Acknowledge, request.note, |_| {}).await
}

async fn resolve(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(id): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<ResolveRequest>,
) -> Result<Json<Value>, ApiError> {
    agent.require(Permission::ResolveIncidents)?;
    let note = request.note.clone();
    change(&state, &agent, &id, Transition::Resolve, request.note, |incident| {
        incident.resolution = Some(request.resolution);
        incident.resolution_note = note;
    })
    .await
}

async fn dismiss(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(id): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<NoteRequest>,
) -> Result<Json<Value>, ApiError> {
    agent.require(Permission::DismissIncidents)?;
    let note = request.note.clone();
    change(&state, &agent, &id, Transition::Dismiss, request.note, |incident| {
        incident.resolution = Some(Resolution::FalsePositive);
        incident.resolution_note = note;
    })
    .await
}

/// Applies an agent's transition to a locked incident, records it, and
/// returns the incident as `GET` shows it.
async fn change(
    state: &AppState,
    agent: &CurrentAgent,
    id: &str,
    transition: Transition,
    note: Option<String>,
    also: impl FnOnce(&mut Incident),
) -> Result<Json<Value>, ApiError> {
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let mut incident = tx
        .lock_incident(id)
        .await?
        .ok_or_else(|| ApiError::not_found("the incident"))?;
    also(&mut incident);
    let detail_of_change = json!({"note": note, "resolution": incident.resolution});
    let record = incident.transition(transition, &agent.actor(), detail_of_change, now)?;
    if incident.assignee.is_none() {
        incident.assignee = Some(agent.username.clone());
    }
    tx.save_incident(&incident).await?;
    tx.audit(record);
    state.after_commit(tx.commit().await?).await;
    Ok(Json(detail(state, &incident).await?))
}

fn sla(incident: &Incident) -> Value {
    json!({
        "acknowledge_by": incident.deadlines.acknowledge_by,
        "contain_by": incident.deadlines.contain_by,
        "breached": incident.sla_breached(),
        "acknowledge_breached_at": incident.acknowledge_breached_at,
        "contain_breached_at": incident.contain_breached_at,
    })
}

pub fn summary(incident: &Incident) -> Value {
    json!({
        "id": incident.id,
        "account_id": incident.account_id,
        "status": incident.status,
        "priority": incident.priority,
        "score": incident.score,
        "sla": sla(incident),
        "assignee": incident.assignee,
        "opened_at": incident.opened_at,
        "updated_at": incident.updated_at,
    })
}

/// The incident as `GET /v1/incidents/{id}` shows it.
pub async fn detail(state: &AppState, incident: &Incident) -> Result<Value, ApiError> {
    let db = state.db();
    let (alerts, holds, timeline, runs, flows) = tokio::try_join!(
        db.incident_alerts(&incident.id),
        db.incident_holds(&incident.id),
        db.timeline(&incident.id),
        db.incident_runs(&incident.id),
        db.incident_flows(&incident.id),
    )?;
    let now = state.clock().now();
    let alerts: Vec<Value> = alerts
        .into_iter()
        .map(|row| {
            let mut alert = serde_json::to_value(&row.alert).unwrap_or_default();
            alert["received_at"] = json!(row.received_at);
            alert["summary"] = json!(row.alert.summary());
            alert
        })
        .collect();
    let holds: Vec<Value> = holds
        .iter()
        .map(|hold| {
            let mut value = serde_json::to_value(hold).unwrap_or_default();
            value["in_force"] = json!(hold.in_force(now));
            value
        })
        .collect();
    let timeline: Vec<Value> = timeline
        .into_iter()
        .map(|entry| {
            json!({
                "at": entry.record.at,
                "actor": entry.record.actor,
                "event": entry.record.action,
                "detail": entry.record.detail_value(),
            })
        })
        .collect();
    let runs: Vec<Value> = runs
        .iter()
        .map(|run| json!({"run_id": run.id, "playbook_id": run.playbook.id, "status": run.status, "created_at": run.created_at}))
        .collect();
    let unfreeze: Vec<Value> = flows
        .iter()
        .map(|flow| {
            json!({
                "state": flow.state,
                "created_at": flow.created_at,
                "verified_at": flow.verified_at,
                "queued_at": flow.queued_at,
                "answers": flow.answers,
                "decided_at": flow.decided_at,
                "decided_by": flow.decided_by,
                "decision_reason": flow.decision_reason,
                "run_id": flow.run_id,
            })
        })
        .collect();
    let mut body = summary(incident);
    let extra = json!({
        "priority_reasons": incident.priority_reasons,
        "acknowledged_at": incident.acknowledged_at,
        "contained_at": incident.contained_at,
        "closed_at": incident.closed_at,
        "resolution": incident.resolution,
        "resolution_note": incident.resolution_note,
        "alerts": alerts,
        "holds": holds,
        "runs": runs,
        "unfreeze_requests": unfreeze,
        "timeline": timeline,
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    Ok(body)
}
