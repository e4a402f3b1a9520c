//! What the holder sees of their request (SPEC §8's status object): the
//! state, the steps done, the queue position and estimated wait, and the
//! flagged activities once the holder proved who they are.

use serde::Serialize;
use utoipa::ToSchema;

use super::error::HolderError;
use super::notify::{next_steps, queue_estimate};
use crate::domain::alert::AlertKind;
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::{Answer, Flow, FlowState};
use crate::platform::crypto::token_hash;
use crate::state::AppState;

/// What the holder sees of their unfreeze request.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FlowStatus {
    pub state: FlowState,
    pub steps: Vec<FlowStep>,
    /// While `in_review`: the place in the agents' queue.
    #[schema(minimum = 1, required)]
    pub queue_position: Option<u32>,
    /// While `in_review`: the estimated wait.
    #[schema(required)]
    pub estimated_wait_seconds: Option<u64>,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// The flagged activities, once the holder passed the code and the second factor.
    pub activities: Vec<Activity>,
    pub code_attempts_left: u32,
    pub second_factor_attempts_left: u32,
    /// Null until the exchange said whether the holder has a 2-step method.
    #[schema(required)]
    pub second_factor_required: Option<bool>,
    #[schema(required)]
    pub answers: Option<Vec<Answer>>,
    /// Why an agent rejected the request.
    #[schema(required)]
    pub decision_reason: Option<String>,
    /// What the holder can do after `rejected`, `locked` or `expired`.
    #[schema(required)]
    pub next_steps: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FlowStep {
    #[schema(schema_with = step_names)]
    pub name: &'static str,
    pub done: bool,
}

/// The names [`Flow::steps`] gives, in order.
fn step_names() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["code", "second_factor", "activity_review", "unfreeze"]))
        .build()
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Activity {
    pub alert_id: String,
    pub kind: AlertKind,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    pub summary: String,
}

/// The status object of a flow (SPEC §8).
pub async fn status(state: &AppState, token: &str) -> Result<FlowStatus, HolderError> {
    let flow = state
        .db()
        .flow_by_token(&token_hash(token))
        .await?
        .ok_or(HolderError::UnknownLink)?;
    flow_status(state, flow).await
}

async fn flow_status(state: &AppState, mut flow: Flow) -> Result<FlowStatus, HolderError> {
    let now = state.clock().now();
    // A flow past its lifetime reads as expired even before the sweeper closes it.
    flow.expire_if_due(now);
    let (queue_position, estimated_wait_seconds) = if flow.state == FlowState::InReview {
        let (position, wait) = queue_estimate(state, &flow, now).await?;
        (Some(position), Some(wait))
    } else {
        (None, None)
    };
    let activities = if flow.second_factor_verified_at.is_some() {
        state
            .db()
            .incident_alerts(&flow.incident_id)
            .await?
            .into_iter()
            .map(|row| Activity {
                alert_id: row.alert.alert_id.to_string(),
                kind: row.alert.kind,
                occurred_at: row.alert.occurred_at,
                summary: row.alert.summary(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(FlowStatus {
        state: flow.state,
        steps: flow
            .steps()
            .iter()
            .map(|(name, done)| FlowStep { name, done: *done })
            .collect(),
        queue_position,
        estimated_wait_seconds,
        expires_at: flow.expires_at,
        activities,
        code_attempts_left: flow.code_attempts_left,
        second_factor_attempts_left: flow.second_factor_attempts_left,
        second_factor_required: flow.second_factor_required,
        answers: flow.answers.clone(),
        decision_reason: flow.decision_reason.clone(),
        next_steps: next_steps(flow.state).map(str::to_owned),
    })
}
