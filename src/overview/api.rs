//! `GET /v1/overview` (leads): the figures of [`super::compute`] as JSON.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::compute;
use crate::auth::CurrentAgent;
use crate::edge::error::ApiError;
use crate::edge::http::Routes;
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new().get("/v1/overview", show)
}

/// `GET /v1/overview`.
async fn show(State(state): State<AppState>, agent: CurrentAgent) -> Result<Json<Value>, ApiError> {
    let overview = compute(&state, &agent).await?;
    Ok(Json(
        serde_json::to_value(overview).map_err(|e| ApiError::Internal(e.into()))?,
    ))
}
