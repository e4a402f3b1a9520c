//! Campaigns in the console: the list (`/console/campaigns`) and one
//! campaign with its incidents and the "contain all" form, which calls
//! `campaigns::contain` — the function behind
//! `POST /v1/campaigns/{id}/contain` — so the rules (role, one step-up,
//! each incident's own run, the audit log) are the API's.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::Done;
use super::guard::{self, ConsoleAgent, ConsoleForm};
use super::views::{self, Viewer};
use crate::campaigns;
use crate::domain::ids::CampaignId;
use crate::domain::playbook::{Playbook, PlaybookKind};
use crate::edge::web::html_response;
use crate::state::AppState;

/// `GET /console/campaigns`.
#[tracing::instrument(skip_all)]
pub async fn list(State(state): State<AppState>, console: ConsoleAgent) -> Response {
    let found = match campaigns::list(&state, &console.agent).await {
        Ok(found) => found,
        Err(error) => return guard::error_page(console.lang, &error),
    };
    let viewer = Viewer {
        agent: &console.agent,
        csrf: &console.csrf,
        now: state.clock().now(),
    };
    html_response(StatusCode::OK, views::campaigns::list(console.lang, &viewer, &found))
}

/// `GET /console/campaigns/{id}`.
#[tracing::instrument(skip_all, fields(campaign.id = %id))]
pub async fn page(
    State(state): State<AppState>,
    console: ConsoleAgent,
    Path(id): Path<CampaignId>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let notice = Done::notice(&query, console.lang);
    show(&state, &console, &id, notice, None).await
}

async fn show(
    state: &AppState,
    console: &ConsoleAgent,
    id: &CampaignId,
    notice: Option<&str>,
    refusal: Option<(StatusCode, String)>,
) -> Response {
    let ConsoleAgent { agent, lang, csrf } = console;
    let lang = *lang;
    let campaign = match campaigns::show(state, agent, id).await {
        Ok(campaign) => campaign,
        Err(error) => return guard::error_page(lang, &error),
    };
    let viewer = Viewer {
        agent,
        csrf,
        now: state.clock().now(),
    };
    let (status, refusal) = match refusal {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let playbooks = containment_playbooks(state);
    html_response(
        status,
        views::campaigns::page(lang, &viewer, &campaign, &playbooks, notice, refusal.as_deref()),
    )
}

/// The verified containment playbooks, to choose from.
fn containment_playbooks(state: &AppState) -> Vec<&Playbook> {
    state
        .playbooks()
        .entries()
        .iter()
        .filter_map(|entry| entry.playbook.as_deref())
        .filter(|playbook| playbook.kind == PlaybookKind::Containment)
        .collect()
}

/// `POST /console/campaigns/{id}/contain` (sensitive).
#[tracing::instrument(skip_all, fields(campaign.id = %id))]
pub async fn contain(State(state): State<AppState>, Path(id): Path<CampaignId>, form: ConsoleForm) -> Response {
    let mut agent = form.agent.clone();
    match campaigns::contain(&state, &mut agent, &id, form.field("playbook_id"), form.otp()).await {
        Ok(_) => Redirect::to(&format!(
            "/console/campaigns/{id}?done={}",
            Done::CampaignContained.code()
        ))
        .into_response(),
        Err(error) => {
            let message = views::problem_message(form.lang, &error);
            show(&state, &form.viewer(), &id, None, Some((error.status(), message))).await
        }
    }
}
