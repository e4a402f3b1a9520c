//! The holders' unfreeze requests waiting for an agent
//! (`/console/reviews`): oldest first, with the holder's answer about each
//! flagged activity. A lead unfreezes by starting the `unfreeze-account`
//! playbook (the function behind `POST /v1/incidents/{id}/runs`: a second
//! lead approves it on the incident page for P1/P2) or turns the request
//! down with a reason the holder reads (`unfreeze::review::reject`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::Done;
use super::guard::{self, ConsoleAgent, ConsoleForm};
pub use super::views::reviews::{Refusal, Review};
use super::views::{self, Viewer};
use crate::auth::CurrentAgent;
use crate::domain::ids::IncidentId;
use crate::domain::unfreeze::decision_reason;
use crate::edge::error::ApiError;
use crate::edge::web::html_response;
use crate::runs::agent_actions;
use crate::state::AppState;
use crate::unfreeze::{UNFREEZE_PLAYBOOK, review};

async fn load(state: &AppState, agent: &CurrentAgent) -> Result<Vec<Review>, ApiError> {
    let flows = review::waiting(state, agent).await?;
    let mut reviews = Vec::with_capacity(flows.len());
    for flow in flows {
        let (incident, alerts) = tokio::try_join!(
            state.db().incident(&flow.incident_id),
            state.db().incident_alerts(&flow.incident_id),
        )?;
        reviews.push(Review { flow, incident, alerts });
    }
    Ok(reviews)
}

/// `GET /console/reviews`.
#[tracing::instrument(skip_all)]
pub async fn page(
    State(state): State<AppState>,
    console: ConsoleAgent,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let notice = Done::notice(&query, console.lang);
    show(&state, &console, notice, None).await
}

async fn show(
    state: &AppState,
    console: &ConsoleAgent,
    notice: Option<&str>,
    refusal: Option<(StatusCode, Refusal)>,
) -> Response {
    let ConsoleAgent { agent, lang, csrf } = console;
    let lang = *lang;
    let reviews = match load(state, agent).await {
        Ok(reviews) => reviews,
        Err(error) => return guard::error_page(lang, &error),
    };
    let viewer = Viewer {
        agent,
        csrf,
        now: state.clock().now(),
    };
    let unfreeze = state.playbooks().runnable(UNFREEZE_PLAYBOOK).map(|(_, p)| p.as_ref());
    let (status, refusal) = match refusal {
        Some((status, refusal)) => (status, Some(refusal)),
        None => (StatusCode::OK, None),
    };
    html_response(
        status,
        views::reviews::page(lang, &viewer, &reviews, unfreeze, notice, refusal.as_ref()),
    )
}

async fn refused(state: &AppState, form: &ConsoleForm, incident_id: IncidentId, error: ApiError) -> Response {
    let refusal = Refusal {
        incident_id,
        message: views::problem_message(form.lang, &error),
    };
    show(state, &form.viewer(), None, Some((error.status(), refusal))).await
}

/// Starts `unfreeze-account` on the request's incident (sensitive).
#[tracing::instrument(skip_all, fields(incident.id = %id))]
pub async fn unfreeze(State(state): State<AppState>, Path(id): Path<IncidentId>, form: ConsoleForm) -> Response {
    let mut agent = form.agent.clone();
    match agent_actions::start(&state, &mut agent, &id, UNFREEZE_PLAYBOOK, form.otp()).await {
        Ok(_) => Redirect::to(&format!(
            "/console/incidents/{id}?done={}",
            Done::UnfreezeStarted.code()
        ))
        .into_response(),
        Err(error) => refused(&state, &form, id, error).await,
    }
}

/// Turns the request down; the holder is told the reason.
#[tracing::instrument(skip_all, fields(incident.id = %id))]
pub async fn reject(State(state): State<AppState>, Path(id): Path<IncidentId>, form: ConsoleForm) -> Response {
    let result = async {
        let reason = decision_reason(form.field("reason")).map_err(|message| ApiError::invalid("reason", message))?;
        review::reject(&state, &form.agent, &id, &reason).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&format!("/console/reviews?done={}", Done::Rejected.code())).into_response(),
        Err(error) => refused(&state, &form, id, error).await,
    }
}
