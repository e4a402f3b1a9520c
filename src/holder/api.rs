//! The holder's line as JSON (SPEC §13): the case under a case link and
//! what the holder does there, reporting theft without signing in, the
//! exchange app's lock, and the agents' side of the thread.
//!
//! An unknown or expired case token answers a bare `404`, which the edge
//! turns into the same problem any unknown path gets: nothing says whether
//! such a case ever existed.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::case::{self, Case, CaseError, OpenCase};
use super::lock_request::Locked;
use super::{lock_request, messages, protect, report, satisfaction};
use crate::auth::{ClientAddress, CurrentAgent};
use crate::domain::agent::Permission;
use crate::domain::alert::AccountId;
use crate::domain::ids::IncidentId;
use crate::domain::time::Timestamp;
use crate::domain::validation::{FieldError, Fields};
use crate::edge::error::ApiError;
use crate::edge::http::{FromJson, JsonBody, Routes, Signed, parse_json, scope};
use crate::state::AppState;
use crate::state::shared::Limit;

pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/holder/cases/{case_token}", show)
        .post("/v1/holder/cases/{case_token}/not-me", not_me)
        .post("/v1/holder/cases/{case_token}/was-me", was_me)
        .post("/v1/holder/cases/{case_token}/messages", write)
        .post("/v1/holder/cases/{case_token}/satisfaction", rate)
        .post("/v1/holder/report", report_theft)
        .merge(signed_routes())
        .get("/v1/incidents/{id}/messages", thread)
        .post("/v1/incidents/{id}/messages", answer)
}

/// The signed route (the exchange's app), also served on the exchange listener.
pub fn signed_routes() -> Routes {
    Routes::new().post("/v1/accounts/{account_id}/lock", app_lock)
}

/// A case action's failure as the API answers it.
pub(super) fn problem(error: CaseError) -> Response {
    match error {
        CaseError::Unknown => StatusCode::NOT_FOUND.into_response(),
        CaseError::Ended => ApiError::Conflict("the case has ended".into()).into_response(),
        CaseError::NotEnded => ApiError::Conflict("the case has not ended yet".into()).into_response(),
        CaseError::AlreadyAnswered => ApiError::Conflict("this case was already rated".into()).into_response(),
        CaseError::TooMany => ApiError::TooManyRequests {
            detail: "at most 20 messages per case per hour; try again later".into(),
            retry_after: 60,
        }
        .into_response(),
        CaseError::Invalid(field, message) => ApiError::invalid(field, &message).into_response(),
        CaseError::Other(error) => ApiError::Internal(error).into_response(),
    }
}

/// The token of a holder's case request, once the request passed the
/// per-address rate limit of the holder's steps.
pub(super) struct CaseToken(pub String);

impl FromRequestParts<AppState> for CaseToken {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ClientAddress(client) = ClientAddress::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        state
            .shared()
            .check(Limit::HolderSteps, &client)
            .await
            .map_err(|refusal| ApiError::from(refusal).into_response())?;
        let Path(token) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| StatusCode::NOT_FOUND.into_response())?;
        Ok(CaseToken(token))
    }
}

async fn case_of(state: &AppState, token: &str) -> Result<(OpenCase, Case), CaseError> {
    let open = case::open(state, token).await?;
    let view = case::view(state, &open.incident).await?;
    Ok((open, view))
}

#[tracing::instrument(skip_all)]
async fn show(State(state): State<AppState>, CaseToken(token): CaseToken) -> Response {
    match case_of(&state, &token).await {
        Ok((_, view)) => Json(view).into_response(),
        Err(error) => problem(error),
    }
}

#[tracing::instrument(skip_all)]
async fn not_me(State(state): State<AppState>, CaseToken(token): CaseToken) -> Response {
    let result = async {
        let open = case::open(&state, &token).await?;
        let protected = protect::not_me(&state, &open.incident.id, open.token.issued_as).await?;
        case::view(&state, &protected.incident).await
    };
    match result.await {
        Ok(view) => Json(view).into_response(),
        Err(error) => problem(error),
    }
}

#[tracing::instrument(skip_all)]
async fn was_me(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    CaseToken(token): CaseToken,
) -> Response {
    let result = async {
        let open = case::open(&state, &token).await?;
        protect::was_me(&state, &open.incident, &client).await?;
        case::view(&state, &open.incident).await
    };
    match result.await {
        Ok(view) => Json(view).into_response(),
        Err(error) => problem(error),
    }
}

/// A message body: `{"body"}`.
#[derive(ToSchema)]
pub struct MessageRequest {
    /// 1 to 2,000 Unicode scalar values; no control or bidirectional-override characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub body: String,
}

impl FromJson for MessageRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            Some(MessageRequest {
                body: fields.required_string(map, "body")?,
            })
        })
    }
}

#[tracing::instrument(skip_all)]
async fn write(
    State(state): State<AppState>,
    CaseToken(token): CaseToken,
    JsonBody(request): JsonBody<MessageRequest>,
) -> Response {
    let result = async {
        let open = case::open(&state, &token).await?;
        messages::holder_writes(&state, &open.incident, &request.body).await?;
        case::view(&state, &open.incident).await
    };
    match result.await {
        Ok(view) => (StatusCode::CREATED, Json(view)).into_response(),
        Err(error) => problem(error),
    }
}

/// `{"score": 1..5, "comment"?}`.
#[derive(ToSchema)]
#[schema(as = SatisfactionRequest)]
pub struct RatingRequest {
    #[schema(minimum = 1, maximum = 5)]
    pub score: u8,
    #[schema(max_length = 500, nullable = false)]
    pub comment: Option<String>,
}

impl FromJson for RatingRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            let score = match map.get("score").and_then(Value::as_u64) {
                Some(score @ 1..=5) => Some(score as u8),
                _ => {
                    fields.error("score", "is required: a whole number from 1 to 5");
                    None
                }
            };
            let comment = fields.optional_str(map, "comment").map(str::to_owned);
            Some(RatingRequest { score: score?, comment })
        })
    }
}

#[tracing::instrument(skip_all)]
async fn rate(
    State(state): State<AppState>,
    CaseToken(token): CaseToken,
    JsonBody(request): JsonBody<RatingRequest>,
) -> Response {
    let result = async {
        let open = case::open(&state, &token).await?;
        satisfaction::answer(&state, &open.incident, request.score, request.comment.as_deref()).await?;
        case::view(&state, &open.incident).await
    };
    match result.await {
        Ok(view) => (StatusCode::CREATED, Json(view)).into_response(),
        Err(error) => problem(error),
    }
}

/// `{"account_id"}`.
struct ReportRequest {
    account_id: AccountId,
}

impl FromJson for ReportRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_one(value, "account_id", AccountId::parse).map(|account_id| ReportRequest { account_id })
    }
}

#[tracing::instrument(skip_all)]
async fn report_theft(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    JsonBody(request): JsonBody<ReportRequest>,
) -> (StatusCode, Json<ReportAccepted>) {
    report::accept_report(&state, &request.account_id, &client).await;
    (StatusCode::ACCEPTED, Json(ReportAccepted::ANSWER))
}

/// The same answer for every account.
#[derive(Serialize, ToSchema)]
pub struct ReportAccepted {
    #[schema(inline)]
    status: Accepted,
    detail: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Accepted {
    Accepted,
}

impl ReportAccepted {
    const ANSWER: ReportAccepted = ReportAccepted {
        status: Accepted::Accepted,
        detail: "If this account exists, a link to freeze it is on its way to its registered contact.",
    };
}

/// `{"account_id", "request_id"}`.
#[derive(ToSchema)]
pub struct LockRequest {
    /// Must be the account in the path.
    #[schema(value_type = String, min_length = 1, max_length = 128)]
    account_id: AccountId,
    #[schema(min_length = 1, max_length = 128)]
    request_id: String,
}

impl FromJson for LockRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        Fields::read_object(value, |fields, map| {
            let account_id = fields.required_parsed(map, "account_id", AccountId::parse);
            let request_id = fields.required_parsed(map, "request_id", crate::domain::alert::AlertId::parse);
            Some(LockRequest {
                account_id: account_id?,
                request_id: request_id?.to_string(),
            })
        })
    }
}

/// The exchange's app locks a signed-in holder's account at once.
#[tracing::instrument(skip_all, fields(account.id = %account_id))]
async fn app_lock(
    State(state): State<AppState>,
    Path(account_id): Path<String>,
    signed: Signed<scope::Holder>,
) -> Result<Json<Locked>, ApiError> {
    let request = LockRequest::from_json(&parse_json(&signed.body)?).map_err(ApiError::Invalid)?;
    if request.account_id.as_str() != account_id {
        return Err(ApiError::invalid("account_id", "must be the account named in the path"));
    }
    let answer = lock_request::lock(&state, &request.account_id, &request.request_id)
        .await
        .map_err(|error| ApiError::Internal(error.into()))?;
    Ok(Json(answer))
}

/// The case's thread, for agents.
#[tracing::instrument(skip_all, fields(incident.id = %incident_id))]
async fn thread(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(incident_id): Path<IncidentId>,
) -> Result<Json<CaseThread>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    state
        .db()
        .incident(&incident_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the incident"))?;
    let thread = messages::thread(&state, &incident_id).await?;
    let messages = thread
        .into_iter()
        .map(|message| ThreadMessage {
            from: if message.from_holder {
                Writer::Holder
            } else {
                Writer::Team
            },
            agent: message.agent,
            body: message.body,
            at: message.at,
        })
        .collect();
    Ok(Json(CaseThread { incident_id, messages }))
}

#[derive(Serialize, ToSchema)]
pub struct CaseThread {
    #[schema(value_type = String)]
    incident_id: IncidentId,
    #[schema(inline)]
    messages: Vec<ThreadMessage>,
}

#[derive(Serialize, ToSchema)]
struct ThreadMessage {
    #[schema(inline)]
    from: Writer,
    #[schema(required)]
    agent: Option<String>,
    body: String,
    #[schema(value_type = String, format = DateTime)]
    at: Timestamp,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Writer {
    Holder,
    Team,
}

/// An agent answers the holder.
#[tracing::instrument(skip_all, fields(incident.id = %incident_id))]
async fn answer(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(incident_id): Path<IncidentId>,
    JsonBody(request): JsonBody<MessageRequest>,
) -> Response {
    if let Err(error) = agent.require(Permission::ClaimIncidents) {
        return error.into_response();
    }
    match messages::team_writes(&state, &incident_id, &agent.username, &request.body).await {
        Ok(()) => match thread(State(state), agent, Path(incident_id)).await {
            Ok(json) => (StatusCode::CREATED, json).into_response(),
            Err(error) => error.into_response(),
        },
        Err(CaseError::Unknown) => ApiError::not_found("the incident").into_response(),
        Err(error) => problem(error),
    }
}
