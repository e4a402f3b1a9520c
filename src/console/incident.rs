//! The incident page (`/console/incidents/{id}`) and its actions:
//! acknowledge, run a playbook, approve or resume a run, resolve, dismiss.
//!
//! Each action calls the function its API handler calls ([`incidents`],
//! [`agent_actions`]), so roles, step-up, four eyes and the audit log are
//! the API's. A change answers `303` back to the page; a refusal shows the
//! page again with the reason beside the form that was refused (and the
//! TOTP field when a step-up is missing), having changed nothing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::Done;
use super::guard::{self, ConsoleAgent, ConsoleForm};
pub use super::views::incident::{Action, Refusal};
use super::views::{self, Viewer};
use crate::domain::ids::{IncidentId, RunId};
use crate::domain::incident::{Resolution, check_note};
use crate::domain::playbook::Playbook;
use crate::edge::error::ApiError;
use crate::edge::web::html_response;
use crate::incidents::{self, Decision, Dossier};
use crate::runs::agent_actions;
use crate::state::AppState;
use crate::state::handles::LoadedPlaybook;

/// The verified playbooks that apply to the incident's alerts, in file order.
pub fn applicable<'a>(state: &'a AppState, dossier: &Dossier) -> Vec<(&'a LoadedPlaybook, &'a Arc<Playbook>)> {
    state
        .playbooks()
        .entries()
        .iter()
        .filter_map(|entry| entry.playbook.as_ref().map(|playbook| (entry, playbook)))
        .filter(|(_, playbook)| {
            dossier
                .alerts
                .iter()
                .any(|row| playbook.applies_to.contains(&row.alert.kind))
        })
        .collect()
}

/// `GET /console/incidents/{id}`.
#[tracing::instrument(skip_all, fields(incident.id = %id))]
pub async fn page(
    State(state): State<AppState>,
    console: ConsoleAgent,
    Path(id): Path<IncidentId>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let notice = Done::notice(&query, console.lang);
    show(&state, &console, &id, notice, None).await
}

async fn show(
    state: &AppState,
    console: &ConsoleAgent,
    id: &IncidentId,
    notice: Option<&str>,
    refusal: Option<(StatusCode, Refusal)>,
) -> Response {
    let ConsoleAgent { agent, lang, csrf } = console;
    let lang = *lang;
    let dossier = match incidents::dossier(state, agent, id).await {
        Ok(dossier) => dossier,
        Err(error) => return guard::error_page(lang, &error),
    };
    let viewer = Viewer {
        agent,
        csrf,
        now: state.clock().now(),
    };
    let playbooks = applicable(state, &dossier);
    let case = match crate::holder::case::for_agents(state, &dossier.incident).await {
        Ok(case) => case,
        Err(error) => return guard::error_page(lang, &ApiError::Internal(error)),
    };
    let (status, refusal) = match refusal {
        Some((status, refusal)) => (status, Some(refusal)),
        None => (StatusCode::OK, None),
    };
    html_response(
        status,
        views::incident::page(lang, &viewer, &dossier, &playbooks, &case, notice, refusal.as_ref()),
    )
}

/// After an action: `303` to the page with a notice, or the page again with
/// the reason it was refused.
async fn answer(
    state: &AppState,
    form: &ConsoleForm,
    id: &IncidentId,
    action: Action,
    result: Result<Done, ApiError>,
) -> Response {
    match result {
        Ok(done) => Redirect::to(&format!("/console/incidents/{id}?done={}", done.code())).into_response(),
        Err(error) => {
            let refusal = Refusal {
                action,
                message: views::problem_message(form.lang, &error),
            };
            show(state, &form.viewer(), id, None, Some((error.status(), refusal))).await
        }
    }
}

/// The optional note of a decision.
fn note(form: &ConsoleForm) -> Result<Option<String>, ApiError> {
    let note = form.field("note").trim();
    if note.is_empty() {
        return Ok(None);
    }
    check_note(note).map_err(|message| ApiError::invalid("note", message))?;
    Ok(Some(note.to_owned()))
}

#[tracing::instrument(skip_all, fields(incident.id = %id))]
pub async fn acknowledge(State(state): State<AppState>, Path(id): Path<IncidentId>, form: ConsoleForm) -> Response {
    let result = async {
        let decision = Decision::Acknowledge { note: note(&form)? };
        incidents::decide(&state, &form.agent, &id, decision).await?;
        Ok(Done::Acknowledged)
    }
    .await;
    answer(&state, &form, &id, Action::Acknowledge, result).await
}

#[tracing::instrument(skip_all, fields(incident.id = %id))]
pub async fn resolve(State(state): State<AppState>, Path(id): Path<IncidentId>, form: ConsoleForm) -> Response {
    let result = async {
        let resolution = Resolution::parse(form.field("resolution")).ok_or_else(|| {
            ApiError::invalid(
                "resolution",
                "must be one of confirmed_takeover, false_positive, user_error",
            )
        })?;
        let decision = Decision::Resolve {
            resolution,
            note: note(&form)?,
        };
        incidents::decide(&state, &form.agent, &id, decision).await?;
        Ok(Done::Resolved)
    }
    .await;
    answer(&state, &form, &id, Action::Resolve, result).await
}

#[tracing::instrument(skip_all, fields(incident.id = %id))]
pub async fn dismiss(State(state): State<AppState>, Path(id): Path<IncidentId>, form: ConsoleForm) -> Response {
    let result = async {
        let decision = Decision::Dismiss { note: note(&form)? };
        incidents::decide(&state, &form.agent, &id, decision).await?;
        Ok(Done::Dismissed)
    }
    .await;
    answer(&state, &form, &id, Action::Dismiss, result).await
}

/// Starts a playbook (sensitive: a step-up in the last five minutes, or the
/// form's TOTP field).
#[tracing::instrument(skip_all, fields(incident.id = %id))]
pub async fn start_run(State(state): State<AppState>, Path(id): Path<IncidentId>, form: ConsoleForm) -> Response {
    let playbook_id = form.field("playbook_id").to_owned();
    let mut agent = form.agent.clone();
    let result = agent_actions::start(&state, &mut agent, &id, &playbook_id, form.otp())
        .await
        .map(|_| Done::RunStarted);
    answer(&state, &form, &id, Action::Run(playbook_id), result).await
}

/// A second lead approves a run (sensitive).
#[tracing::instrument(skip_all, fields(incident.id = %id, run.id = %run_id))]
pub async fn approve(
    State(state): State<AppState>,
    Path((id, run_id)): Path<(IncidentId, RunId)>,
    form: ConsoleForm,
) -> Response {
    let mut agent = form.agent.clone();
    let result = agent_actions::approve(&state, &mut agent, &run_id, form.otp())
        .await
        .map(|_| Done::Approved);
    answer(&state, &form, &id, Action::Approve(run_id), result).await
}

/// Gives a run waiting for a step-up a fresh one (sensitive).
#[tracing::instrument(skip_all, fields(incident.id = %id, run.id = %run_id))]
pub async fn resume(
    State(state): State<AppState>,
    Path((id, run_id)): Path<(IncidentId, RunId)>,
    form: ConsoleForm,
) -> Response {
    let mut agent = form.agent.clone();
    let result = agent_actions::resume(&state, &mut agent, &run_id, form.otp())
        .await
        .map(|_| Done::Resumed);
    answer(&state, &form, &id, Action::Resume(run_id), result).await
}

/// An agent answers the holder (analysts and leads); the holder is told
/// through `case_message` with only the case link.
#[tracing::instrument(skip_all, fields(incident.id = %id))]
pub async fn message(State(state): State<AppState>, Path(id): Path<IncidentId>, form: ConsoleForm) -> Response {
    let result = async {
        form.agent.require(crate::domain::agent::Permission::ClaimIncidents)?;
        crate::holder::messages::team_writes(&state, &id, &form.agent.username, form.field("body"))
            .await
            .map_err(|error| match error {
                crate::holder::case::CaseError::Invalid(field, message) => ApiError::invalid(field, &message),
                crate::holder::case::CaseError::Unknown => ApiError::not_found("the incident"),
                crate::holder::case::CaseError::Ended => ApiError::Conflict("the case has ended".into()),
                crate::holder::case::CaseError::Other(error) => ApiError::Internal(error),
                other => ApiError::Conflict(other.to_string()),
            })?;
        Ok(Done::MessageSent)
    }
    .await;
    answer(&state, &form, &id, Action::Message, result).await
}
