//! `POST /v1/alerts`: a signed alert is checked, answered from the retry fast path when
//! already stored, or handed to the intake queue and answered once committed.

pub mod request;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::alert::Alert;
use crate::domain::ids::IncidentId;
use crate::domain::incident::IncidentStatus;
use crate::domain::priority::Priority;
use crate::edge::error::ApiError;
use crate::edge::http::{Routes, Signed, parse_json, scope};
use crate::state::AppState;
use crate::state::handles::intake::Ingested;

/// The fast path for retries: an alert id known to be stored is answered
/// from a read of its incident, without a write transaction.
async fn known_duplicate(state: &AppState, alert: &Alert) -> Result<Option<Ingested>, ApiError> {
    let Some(incident_id) = state.shared().known_alert(alert.alert_id.as_str()).await else {
        return Ok(None);
    };
    let Some(incident) = state.db().incident(&incident_id).await? else {
        return Ok(None);
    };
    metrics::counter!("holdfast_alerts_duplicate_total", "kind" => alert.kind.as_str()).increment(1);
    Ok(Some(Ingested {
        alert_id: alert.alert_id.to_string(),
        incident_id,
        priority: incident.priority,
        incident_status: incident.status,
        duplicate: true,
    }))
}

pub fn routes() -> Routes {
    Routes::new().post("/v1/alerts", post_alert)
}

/// Answers `201` for a new alert and `200` for a repeat of a known `alert_id`,
/// only once the alert and its incident are committed.
#[tracing::instrument(skip_all, fields(alert.id, incident.id))]
async fn post_alert(
    State(state): State<AppState>,
    signed: Signed<scope::Intake>,
) -> Result<(StatusCode, Json<AlertAccepted>), ApiError> {
    let alert = Alert::parse(&parse_json(&signed.body)?, state.clock().now())?;
    crate::drills::check_key_for_account(&alert.account_id, signed.scopes)?;
    tracing::Span::current().record("alert.id", alert.alert_id.as_str());
    let ingested = match known_duplicate(&state, &alert).await? {
        Some(duplicate) => duplicate,
        None => {
            state
                .intake()
                .submit(alert, format!("risk-engine:{}", signed.key_id))
                .await?
        }
    };
    tracing::Span::current().record("incident.id", ingested.incident_id.as_str());
    let status = if ingested.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(AlertAccepted {
            alert_id: ingested.alert_id,
            incident_id: ingested.incident_id,
            priority: ingested.priority,
            incident_status: ingested.incident_status,
            duplicate: ingested.duplicate,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct AlertAccepted {
    alert_id: String,
    /// The incident the alert belongs to.
    #[schema(value_type = String)]
    incident_id: IncidentId,
    priority: Priority,
    incident_status: IncidentStatus,
    /// True when this `alert_id` was seen before: no second alert, incident or side effect.
    duplicate: bool,
}
