//! `GET /v1/rules/quality?days=7|30` (leads): how each priority rule's and
//! each alert kind's incidents ended.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::CurrentAgent;
use crate::edge::error::ApiError;
use crate::edge::http::Routes;
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new().get("/v1/rules/quality", show)
}

#[derive(Deserialize)]
struct QualityQuery {
    days: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Query(query): Query<QualityQuery>,
) -> Result<Json<Value>, ApiError> {
    let days = super::parse_days(query.days.as_deref())?;
    let quality = super::compute(&state, &agent, days).await?;
    Ok(Json(
        serde_json::to_value(quality).map_err(|e| ApiError::Internal(e.into()))?,
    ))
}
