//! The leads' overview (`/console/overview`): the figures of
//! `GET /v1/overview`, from the same function ([`crate::overview::compute`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::guard::{self, ConsoleAgent};
use super::views::{self, Viewer};
use crate::edge::web::html_response;
use crate::overview;
use crate::state::AppState;

/// `GET /console/overview`.
#[tracing::instrument(skip_all)]
pub async fn page(State(state): State<AppState>, console: ConsoleAgent) -> Response {
    let figures = match overview::compute(&state, &console.agent).await {
        Ok(figures) => figures,
        Err(error) => return guard::error_page(console.lang, &error),
    };
    let viewer = Viewer {
        agent: &console.agent,
        csrf: &console.csrf,
        now: state.clock().now(),
    };
    html_response(StatusCode::OK, views::overview::page(console.lang, &viewer, &figures))
}
