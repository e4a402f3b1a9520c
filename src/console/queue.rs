//! The queue (`/console/`): every live incident, most urgent first, a page
//! at a time; "take the next one"; and the small JSON poll that lets
//! `console.js` show new incidents without a reload.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::Done;
use super::guard::{self, ConsoleAgent, ConsoleForm, PollingAgent};
pub use super::views::queue::{COUNT_CAP, Choice, ClaimedChoice, QueuePage};
use super::views::{self, Viewer};
use crate::auth::CurrentAgent;
use crate::domain::ids::IncidentId;
use crate::domain::incident::IncidentStatus;
use crate::domain::priority::Priority;
use crate::domain::time::Timestamp;
use crate::edge::error::ApiError;
use crate::edge::web::html_response;
use crate::incidents;
use crate::state::AppState;
use crate::storage::{Claimed, QueueFilter, QueuePosition};

/// Incidents on one page of the queue.
pub const PAGE_SIZE: i64 = 50;

/// Reading the filters from the query string and turning them into a
/// storage filter is the handler's part of [`Choice`]; the view owns the type.
impl Choice {
    pub fn from_query(query: &HashMap<String, String>) -> Self {
        let get = |name: &str| query.get(name).map(String::as_str).unwrap_or("");
        Choice {
            status: IncidentStatus::parse(get("status")).filter(|s| !s.is_closed()),
            priority: Priority::parse(get("priority")),
            claimed: match get("claimed") {
                "mine" => ClaimedChoice::Mine,
                "unclaimed" => ClaimedChoice::Unclaimed,
                _ => ClaimedChoice::Anyone,
            },
            cursor: Some(get("cursor").to_owned()).filter(|c| decode_cursor(c).is_some()),
        }
    }

    fn filter(&self, agent: &CurrentAgent, limit: i64) -> QueueFilter {
        QueueFilter {
            status: self.status,
            priority: self.priority,
            claimed: match self.claimed {
                ClaimedChoice::Anyone => Claimed::Anyone,
                ClaimedChoice::Mine => Claimed::By(agent.username.clone()),
                ClaimedChoice::Unclaimed => Claimed::Nobody,
            },
            after: self.cursor.as_deref().and_then(decode_cursor),
            limit,
        }
    }
}

/// Loads a page: one row more than shown says whether another page follows.
async fn load(state: &AppState, agent: &CurrentAgent, choice: &Choice) -> Result<QueuePage, ApiError> {
    let filter = choice.filter(agent, PAGE_SIZE + 1);
    let (mut rows, counts) = tokio::try_join!(incidents::queue(state, agent, &filter), async {
        Ok(state.db().live_incidents_by_priority(COUNT_CAP, true).await?)
    },)?;
    let next_cursor = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|row| encode_cursor(&QueuePosition::of(&row.incident)))
    } else {
        None
    };
    let shown: Vec<_> = rows.iter().map(|row| row.incident.id.clone()).collect();
    let campaigns = state.db().campaigns_of_incidents(&shown).await?.into_iter().collect();
    Ok(QueuePage {
        rows,
        next_cursor,
        counts,
        campaigns,
        now: state.clock().now(),
    })
}

pub fn encode_cursor(position: &QueuePosition) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}:{}:{}",
        position.priority,
        position.acknowledge_by.micros(),
        position.id
    ))
}

fn decode_cursor(cursor: &str) -> Option<QueuePosition> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, ':');
    Some(QueuePosition {
        priority: Priority::parse(parts.next()?)?,
        acknowledge_by: Timestamp::from_micros(parts.next()?.parse().ok()?)?,
        id: IncidentId::from_string(parts.next()?.to_owned()),
    })
}

/// `GET /console/`: the queue.
#[tracing::instrument(skip_all)]
pub async fn page(
    State(state): State<AppState>,
    console: ConsoleAgent,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let choice = Choice::from_query(&query);
    let notice = Done::notice(&query, console.lang);
    show(&state, &console, &choice, notice, None).await
}

async fn show(
    state: &AppState,
    console: &ConsoleAgent,
    choice: &Choice,
    notice: Option<&str>,
    problem: Option<(StatusCode, String)>,
) -> Response {
    let page = match load(state, &console.agent, choice).await {
        Ok(page) => page,
        Err(error) => return guard::error_page(console.lang, &error),
    };
    let viewer = Viewer {
        agent: &console.agent,
        csrf: &console.csrf,
        now: page.now,
    };
    let (status, error) = match &problem {
        Some((status, message)) => (*status, Some(message.as_str())),
        None => (StatusCode::OK, None),
    };
    html_response(
        status,
        views::queue::page(console.lang, &viewer, choice, &page, notice, error),
    )
}

/// `GET /console/queue.json`: the first page of the queue for `console.js`,
/// rendered by the same view, and the ids it holds.
pub async fn poll(
    State(state): State<AppState>,
    PollingAgent(agent): PollingAgent,
    Query(query): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let lang = guard::lang(&query, &headers);
    let choice = Choice {
        cursor: None,
        ..Choice::from_query(&query)
    };
    let page = load(&state, &agent, &choice).await?;
    let ids: Vec<&str> = page.rows.iter().map(|row| row.incident.id.as_str()).collect();
    Ok(Json(json!({
        "ids": ids,
        "rows": views::queue::rows(lang, &page).into_string(),
        "counts": views::queue::counts(lang, &page.counts).into_string(),
    })))
}

/// `POST /console/next`: claims the most urgent unclaimed incident (the
/// claim of `POST /v1/incidents/next`) and opens it.
#[tracing::instrument(skip_all, fields(agent = %form.agent.username))]
pub async fn take_next(State(state): State<AppState>, form: ConsoleForm) -> Response {
    match incidents::claim_next(&state, &form.agent).await {
        Ok(Some(incident)) => Redirect::to(&format!("/console/incidents/{}?done=claimed", incident.id)).into_response(),
        Ok(None) => Redirect::to("/console/?done=nothing_waiting").into_response(),
        Err(error) => {
            let message = views::problem_message(form.lang, &error);
            show(
                &state,
                &form.viewer(),
                &Choice::default(),
                None,
                Some((error.status(), message)),
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_the_position_it_was_made_from() {
        let position = QueuePosition {
            priority: Priority::P2,
            acknowledge_by: Timestamp::from_micros(1_795_000_000_123_456).unwrap(),
            id: IncidentId::from_string("0190-abc".into()),
        };
        assert_eq!(decode_cursor(&encode_cursor(&position)), Some(position));
        assert_eq!(decode_cursor("not a cursor"), None);
    }

    #[test]
    fn unknown_filters_fall_back_to_the_whole_queue() {
        let query = HashMap::from([
            ("status".to_owned(), "resolved".to_owned()),
            ("priority".to_owned(), "P9".to_owned()),
            ("claimed".to_owned(), "mine".to_owned()),
            ("cursor".to_owned(), "%%%".to_owned()),
        ]);
        let choice = Choice::from_query(&query);
        assert_eq!(choice.status, None, "closed incidents are not in the queue");
        assert_eq!(choice.priority, None);
        assert_eq!(choice.claimed, ClaimedChoice::Mine);
        assert_eq!(choice.cursor, None);
        assert_eq!(choice.filters_query(), "claimed=mine");
    }
}
