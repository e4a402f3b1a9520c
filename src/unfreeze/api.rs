//! The flow as JSON (SPEC §8): the holder's steps under `/v1/unfreeze`, and
//! the agents' review queue and rejections.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::HolderError;
use super::flow;
use super::status::{self, FlowStatus};
use super::{link, review};
use crate::auth::{ClientAddress, CurrentAgent};
use crate::domain::alert::AccountId;
use crate::domain::ids::IncidentId;
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::{Answer, FlowState, ReviewReason, StepError, decision_reason};
use crate::domain::validation::{FieldError, Fields};
use crate::edge::error::{ApiError, ProblemExtra, ProblemKind};
use crate::edge::http::{FromJson, JsonBody, Routes};
use crate::state::AppState;
use crate::state::shared::Limit;

pub fn routes() -> Routes {
    Routes::new()
        .post("/v1/unfreeze", request_link)
        .get("/v1/unfreeze/{token}", show)
        .post("/v1/unfreeze/{token}/code", submit_code)
        .post("/v1/unfreeze/{token}/code/resend", resend_code_handler)
        .post("/v1/unfreeze/{token}/second-factor", submit_second_factor)
        .post("/v1/unfreeze/{token}/activity", submit_activity)
        .get("/v1/reviews/unfreeze", review_queue)
        .post("/v1/incidents/{id}/unfreeze/reject", reject)
}

impl From<HolderError> for ApiError {
    fn from(error: HolderError) -> Self {
        match error {
            HolderError::UnknownLink => {
                ApiError::NotFound("this link is not valid; it may have been replaced by a newer one".into())
            }
            HolderError::Expired => ApiError::Gone("this request has expired; ask for a new link".into()),
            HolderError::Step(StepError::Wrong { tries_left }) => ApiError::Rejected {
                kind: ProblemKind::WrongCode,
                detail: format!("the code is not right; {tries_left} tries left"),
                extra: ProblemExtra {
                    errors: vec![FieldError::new("code", "is not right")],
                    tries_left: Some(tries_left),
                },
            },
            HolderError::Step(StepError::CodeExpired) => ApiError::Rejected {
                kind: ProblemKind::CodeExpired,
                detail: "the code has expired; ask for a new one".into(),
                extra: ProblemExtra {
                    errors: vec![FieldError::new("code", "has expired; ask for a new one")],
                    tries_left: None,
                },
            },
            HolderError::Step(StepError::Locked) => {
                ApiError::Exhausted("too many wrong codes: this request is locked; ask for a new link later".into())
            }
            HolderError::Step(StepError::TooManyCodes) => {
                ApiError::Exhausted("no more codes can be sent for this request".into())
            }
            HolderError::Step(StepError::NotNow("locked")) => {
                ApiError::Exhausted("this request is locked after too many wrong codes".into())
            }
            HolderError::Step(StepError::NotNow(state)) => {
                ApiError::Conflict(format!("this step is not open: the request is {state}"))
            }
            HolderError::Answers(errors) => ApiError::Invalid(errors),
            HolderError::ExchangeUnavailable => ApiError::Unavailable(
                "your 2-step code could not be checked right now; nothing was counted, try again".into(),
            ),
            HolderError::Other(error) => ApiError::Internal(error),
        }
    }
}

#[derive(ToSchema)]
pub struct UnfreezeLinkRequest {
    account_id: AccountId,
}

impl FromJson for UnfreezeLinkRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_one(value, "account_id", AccountId::parse).map(|account_id| UnfreezeLinkRequest { account_id })
    }
}

#[tracing::instrument(skip_all)]
async fn request_link(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    JsonBody(request): JsonBody<UnfreezeLinkRequest>,
) -> Result<(StatusCode, Json<UnfreezeAccepted>), ApiError> {
    link::accept_link_request(&state, &request.account_id, &client).await;
    Ok((StatusCode::ACCEPTED, Json(UnfreezeAccepted::ANSWER)))
}

/// The same answer for every account, frozen or not, known or not.
#[derive(Serialize, ToSchema)]
pub struct UnfreezeAccepted {
    #[schema(inline)]
    status: Accepted,
    detail: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Accepted {
    Accepted,
}

impl UnfreezeAccepted {
    const ANSWER: UnfreezeAccepted = UnfreezeAccepted {
        status: Accepted::Accepted,
        detail: "If this account is frozen, a link to unfreeze it is on its way to its registered contact.",
    };
}

#[tracing::instrument(skip_all)]
async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Result<Json<FlowStatus>, ApiError> {
    Ok(Json(status::status(&state, &token).await?))
}

#[derive(ToSchema)]
pub struct CodeRequest {
    code: String,
}

impl FromJson for CodeRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            Some(CodeRequest {
                code: fields.required_string(map, "code")?,
            })
        })
    }
}

#[derive(ToSchema)]
pub struct ActivityRequest {
    /// One answer for every flagged activity.
    answers: Vec<Answer>,
}

impl FromJson for ActivityRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            let Some(items) = map.get("answers").and_then(Value::as_array) else {
                fields.error("answers", "is required: a list of {\"alert_id\", \"mine\"}");
                return None;
            };
            let mut answers = Vec::new();
            for (index, item) in items.iter().enumerate() {
                let path = format!("answers[{index}]");
                let Some(answer) = fields.object(item, &path) else {
                    continue;
                };
                let alert_id = fields.required_string(answer, &format!("{path}.alert_id"));
                let mine = fields.required_bool(answer, &format!("{path}.mine"));
                if let (Some(alert_id), Some(mine)) = (alert_id, mine) {
                    answers.push(Answer { alert_id, mine });
                }
            }
            Some(ActivityRequest { answers })
        })
    }
}

/// The flow token of a holder's step, once the step passed the per-address
/// rate limit.
struct HolderStep(String);

impl FromRequestParts<AppState> for HolderStep {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ClientAddress(client) = ClientAddress::from_request_parts(parts, state).await?;
        state.shared().check(Limit::HolderSteps, &client).await?;
        let Path(token) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("this link is not valid".into()))?;
        Ok(HolderStep(token))
    }
}

#[tracing::instrument(skip_all)]
async fn submit_code(
    State(state): State<AppState>,
    HolderStep(token): HolderStep,
    JsonBody(request): JsonBody<CodeRequest>,
) -> Result<Json<FlowStatus>, ApiError> {
    Ok(Json(flow::enter_code(&state, &token, &request.code).await?))
}

#[tracing::instrument(skip_all)]
async fn resend_code_handler(
    State(state): State<AppState>,
    HolderStep(token): HolderStep,
) -> Result<Json<FlowStatus>, ApiError> {
    Ok(Json(flow::resend_code(&state, &token).await?))
}

#[tracing::instrument(skip_all)]
async fn submit_second_factor(
    State(state): State<AppState>,
    HolderStep(token): HolderStep,
    JsonBody(request): JsonBody<CodeRequest>,
) -> Result<Json<FlowStatus>, ApiError> {
    Ok(Json(flow::enter_second_factor(&state, &token, &request.code).await?))
}

#[tracing::instrument(skip_all)]
async fn submit_activity(
    State(state): State<AppState>,
    HolderStep(token): HolderStep,
    JsonBody(request): JsonBody<ActivityRequest>,
) -> Result<Json<FlowStatus>, ApiError> {
    Ok(Json(flow::answer_activities(&state, &token, request.answers).await?))
}

/// The agents' queue of holders waiting for a decision, oldest first.
#[tracing::instrument(skip_all)]
async fn review_queue(State(state): State<AppState>, agent: CurrentAgent) -> Result<Json<ReviewQueue>, ApiError> {
    let now = state.clock().now();
    let flows = review::waiting(&state, &agent).await?;
    let reviews = flows
        .iter()
        .enumerate()
        .map(|(position, flow)| Review {
            incident_id: flow.incident_id.clone(),
            account_id: flow.account_id.clone(),
            queue_position: position + 1,
            queued_at: flow.queued_at,
            waiting_seconds: flow.queued_at.map(|at| now.since(at).as_secs()),
            answers: flow.answers.clone(),
            review_reasons: flow.review_reasons(),
        })
        .collect();
    Ok(Json(ReviewQueue { reviews }))
}

#[derive(Serialize, ToSchema)]
pub struct ReviewQueue {
    /// Oldest first.
    reviews: Vec<Review>,
}

#[derive(Serialize, ToSchema)]
pub struct Review {
    #[schema(value_type = String)]
    incident_id: IncidentId,
    #[schema(value_type = String)]
    account_id: AccountId,
    #[schema(minimum = 1)]
    queue_position: usize,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    queued_at: Option<Timestamp>,
    #[schema(required)]
    waiting_seconds: Option<u64>,
    #[schema(required)]
    answers: Option<Vec<Answer>>,
    /// Why the request needs a person, as far as the request itself says: `no_second_factor` (one proof of identity only), `disowned_activity`.
    #[schema(inline)]
    review_reasons: Vec<ReviewReason>,
}

#[derive(ToSchema)]
pub struct RejectRequest {
    /// 1 to 1000 characters; the holder reads it.
    #[schema(min_length = 1, max_length = 1000)]
    reason: String,
}

impl FromJson for RejectRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            Some(RejectRequest {
                reason: fields.required_parsed(map, "reason", decision_reason)?,
            })
        })
    }
}

/// An agent turns down a holder's request; the holder is told why and what to do.
#[tracing::instrument(skip_all, fields(incident.id = %incident_id))]
async fn reject(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(incident_id): Path<IncidentId>,
    JsonBody(request): JsonBody<RejectRequest>,
) -> Result<Json<Rejection>, ApiError> {
    let flow = review::reject(&state, &agent, &incident_id, &request.reason).await?;
    Ok(Json(Rejection {
        incident_id,
        state: flow.state,
        reason: flow.decision_reason,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Rejection {
    #[schema(value_type = String)]
    incident_id: IncidentId,
    state: FlowState,
    #[schema(required)]
    reason: Option<String>,
}
