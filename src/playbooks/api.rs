//! `GET /v1/playbooks`: every playbook with its digest and verdict.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::edge::error::ApiError;
use crate::edge::http::Routes;
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new().get("/v1/playbooks", list)
}

async fn list(State(state): State<AppState>, agent: CurrentAgent) -> Result<Json<Value>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let playbooks: Vec<Value> = state
        .playbooks()
        .entries()
        .iter()
        .map(|entry| {
            json!({
                "id": entry.id,
                "version": entry.version,
                "title": entry.title,
                "kind": entry.playbook.as_ref().map(|p| p.kind),
                "applies_to": entry.playbook.as_ref().map(|p| p.applies_to.clone()),
                "file": entry.file,
                "digest": entry.digest,
                "verified": entry.verified(),
                "signed_by": entry.signed_by,
                "reasons": entry.reasons,
                "steps": entry.playbook.as_ref().map(|p| p.steps.iter().map(|s| json!({
                    "name": s.name, "action": s.action.name(), "automatic": s.automatic, "mfa": s.mfa,
                })).collect::<Vec<_>>()),
            })
        })
        .collect();
    Ok(Json(json!({"playbooks": playbooks})))
}
