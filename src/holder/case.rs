//! A case link's token and what the holder sees of the case (SPEC §13):
//! the state and next step, what happened and what was done, the queue
//! position and wait of a review, the thread, and whether they were asked
//! how it went.
//!
//! An unknown token, and one past its incident's end by 30 days, is
//! [`CaseError::Unknown`]: the API answers it as any unknown path.

pub use super::error::CaseError;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::case::{CaseState, WhatHappened, WhatWeDid, case_ended, token_covers};
use crate::domain::incident::Incident;
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::FlowState;
use crate::platform::crypto::token_hash;
use crate::state::AppState;
use crate::storage::{CaseTokenRow, HolderCaseRow};

/// The case a token opens, checked: the incident it covers.
pub struct OpenCase {
    pub token: CaseTokenRow,
    pub incident: Incident,
}

/// Finds the case behind a token.
pub async fn open(state: &AppState, token: &str) -> Result<OpenCase, CaseError> {
    let row = state
        .db()
        .case_token(&token_hash(token))
        .await?
        .ok_or(CaseError::Unknown)?;
    let incident = state.db().incident(&row.incident_id).await?.ok_or(CaseError::Unknown)?;
    if !token_covers(incident.closed_at, state.clock().now()) {
        return Err(CaseError::Unknown);
    }
    Ok(OpenCase { token: row, incident })
}

/// One message as the holder sees it: agents are "the team".
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MessageView {
    #[schema(schema_with = writers)]
    pub from: &'static str,
    pub body: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// Who may have written a message: the holder, or the team.
fn writers() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["holder", "team"]))
        .build()
}

#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct SatisfactionView {
    pub asked: bool,
    pub answered: bool,
}

/// The case object (SPEC §13).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = HolderCase)]
pub struct Case {
    #[schema(inline)]
    pub state: CaseState,
    pub next_step: &'static str,
    pub what_happened: Vec<WhatHappened>,
    pub what_we_did: Vec<WhatWeDid>,
    #[schema(minimum = 1, required)]
    pub queue_position: Option<u32>,
    #[schema(required)]
    pub estimated_wait_seconds: Option<u64>,
    #[schema(inline)]
    pub messages: Vec<MessageView>,
    #[schema(inline)]
    pub satisfaction: SatisfactionView,
}

/// Whether the case has ended: recorded, or its incident closed.
pub fn ended(incident: &Incident, row: Option<&HolderCaseRow>) -> bool {
    case_ended(incident.status.is_closed(), row.and_then(|row| row.ended_at))
}

/// What the holder sees of the case of `incident`.
pub async fn view(state: &AppState, incident: &Incident) -> Result<Case, CaseError> {
    let db = state.db();
    let now = state.clock().now();
    let row = db.holder_case(&incident.id).await?;
    let ended = ended(incident, row.as_ref());
    let holds = db.holds_in_force(&incident.account_id, now).await?;
    let frozen = holds.iter().any(|hold| hold.is_freeze());
    let flows = db.incident_flows(&incident.id).await?;
    let live = flows.iter().find(|flow| flow.state.is_live());
    let awaits_holder = live.is_some_and(|flow| flow.state != FlowState::InReview);
    let (queue_position, estimated_wait_seconds) = match live {
        Some(flow) if flow.state == FlowState::InReview => {
            let (position, wait) = crate::unfreeze::notify::queue_estimate(state, flow, now).await?;
            (Some(position), Some(wait))
        }
        _ => (None, None),
    };
    let case_state = CaseState::of(awaits_holder, frozen, ended);
    let answered = row.as_ref().is_some_and(|row| row.satisfied_at.is_some());
    let satisfaction = SatisfactionView { asked: ended, answered };
    Ok(Case {
        state: case_state,
        next_step: case_state.next_step(ended && !answered),
        what_happened: db
            .incident_alerts(&incident.id)
            .await?
            .iter()
            .map(|row| WhatHappened::of(&row.alert))
            .collect(),
        what_we_did: holds
            .iter()
            .filter(|hold| hold.incident_id == incident.id || hold.is_freeze())
            .map(WhatWeDid::of)
            .collect(),
        queue_position,
        estimated_wait_seconds,
        messages: super::messages::thread(state, &incident.id)
            .await?
            .into_iter()
            .map(|message| MessageView {
                from: if message.from_holder { "holder" } else { "team" },
                body: message.body,
                at: message.at,
            })
            .collect(),
        satisfaction,
    })
}

/// What agents see of an incident's case: how each link was issued, what
/// the holder said (unverified), the thread with its authors, the rating.
#[derive(Clone, Debug, Default)]
pub struct ForAgents {
    pub links: Vec<(crate::domain::case::IssuedAs, Timestamp)>,
    pub answer: Option<(crate::domain::case::HolderAnswer, Timestamp)>,
    pub opened_by_report: bool,
    pub messages: Vec<super::messages::Message>,
    pub unanswered_since: Option<Timestamp>,
    pub ended: bool,
    pub satisfaction: Option<i32>,
}

/// The case of `incident` as agents see it.
pub async fn for_agents(state: &AppState, incident: &Incident) -> anyhow::Result<ForAgents> {
    let row = state.db().holder_case(&incident.id).await?;
    let links = state
        .db()
        .case_tokens_of(&incident.id)
        .await?
        .into_iter()
        .map(|token| (token.issued_as, token.issued_at))
        .collect();
    Ok(ForAgents {
        links,
        answer: row
            .as_ref()
            .and_then(|row| row.holder_answer.zip(row.holder_answered_at)),
        opened_by_report: row.as_ref().is_some_and(|row| row.opened_by_report),
        messages: super::messages::thread(state, &incident.id).await?,
        unanswered_since: row.as_ref().and_then(|row| row.unanswered_since),
        ended: ended(incident, row.as_ref()),
        satisfaction: row.as_ref().and_then(|row| row.satisfaction_score),
    })
}
