//! Rule quality in the console (`/console/rules?days=7|30`, leads): the
//! figures of `GET /v1/rules/quality`, from the same function
//! ([`crate::rule_quality::compute`]).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::guard::{self, ConsoleAgent};
use super::views::{self, Viewer};
use crate::edge::web::html_response;
use crate::rule_quality;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct RulesQuery {
    days: Option<String>,
}

/// `GET /console/rules`.
#[tracing::instrument(skip_all)]
pub async fn page(State(state): State<AppState>, console: ConsoleAgent, Query(query): Query<RulesQuery>) -> Response {
    let quality = match rule_quality::parse_days(query.days.as_deref()) {
        Ok(days) => rule_quality::compute(&state, &console.agent, days).await,
        Err(error) => Err(error),
    };
    let quality = match quality {
        Ok(quality) => quality,
        Err(error) => return guard::error_page(console.lang, &error),
    };
    let viewer = Viewer {
        agent: &console.agent,
        csrf: &console.csrf,
        now: state.clock().now(),
    };
    html_response(StatusCode::OK, views::rules::page(console.lang, &viewer, &quality))
}
