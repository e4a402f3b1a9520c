//! The account holder's self-service unfreeze flow (SPEC §8): the API under
//! `/v1/unfreeze`, the agents' side (the review queue, rejections), and the
//! logic the web page (`web`) shares.
//!
//! Anti-enumeration: `POST /v1/unfreeze` answers the same bytes at once for
//! every account; whether a flow is opened (and a link sent) is decided
//! afterwards, on a background task, so neither the body nor the timing says
//! whether the account exists or is frozen. Link requests are rate limited
//! per client address and per account.
//!
//! Secrets: flow tokens (256 random bits) are stored as SHA-256; one-time
//! codes as HMAC-SHA256 under a key derived from the master key, so the
//! million possible codes cannot be tried offline against a stolen database.
//! Notifications carrying either are sealed in the outbox and redacted once
//! sent.

use std::time::Duration;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ring::hmac;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::auth::{ClientAddress, CurrentAgent};
use crate::crypto::{self, token_hash};
use crate::domain::agent::Permission;
use crate::domain::alert::AlertKind;
use crate::domain::audit::AuditRecord;
use crate::domain::incident::Incident;
use crate::domain::playbook::PlaybookKind;
use crate::domain::run::Run;
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::{Answer, Flow, FlowState, Route, StepError, estimate_wait};
use crate::domain::validation::{FieldError, Fields};
use crate::error::{ApiError, ProblemKind};
use crate::exchange::ACCOUNT_CONTROL;
use crate::http::{FromJson, JsonBody, Routes};
use crate::outbox::{queue_notification, queue_secret_notification};
use crate::runs::{self, Starter};
use crate::shared::Limit;
use crate::storage::WriteTx;

pub mod web;

/// The playbook that gives accounts back.
pub const UNFREEZE_PLAYBOOK: &str = "unfreeze-account";
/// The answer to every link request, whatever the account.
pub const ACCEPTED_BODY: &str = r#"{"status":"accepted","detail":"If this account is frozen, a link to unfreeze it is on its way to its registered contact."}"#;
/// Recent decisions the wait estimate looks at.
const HISTORY: i64 = 20;
/// The window throughput is measured over.
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(6 * 3600);
/// The assumed time per review when there is no history.
const DEFAULT_REVIEW_TIME: Duration = Duration::from_secs(30 * 60);
/// How often expired flows are closed.
const EXPIRY_SWEEP: Duration = Duration::from_secs(30);

pub fn routes(state: AppState) -> Routes {
    Routes::new()
        .post("/v1/unfreeze", request_link)
        .get("/v1/unfreeze/{token}", show)
        .post("/v1/unfreeze/{token}/code", submit_code)
        .post("/v1/unfreeze/{token}/code/resend", resend_code_handler)
        .post("/v1/unfreeze/{token}/second-factor", submit_second_factor)
        .post("/v1/unfreeze/{token}/activity", submit_activity)
        .get("/v1/reviews/unfreeze", review_queue)
        .post("/v1/incidents/{id}/unfreeze/reject", reject)
        .merge(web::routes(state))
}

/// The identity gate of the `unfreeze-account` playbook: the holder finished
/// the flow's verification for this incident.
pub async fn identity_verified(tx: &mut WriteTx, incident: &Incident) -> Result<bool, sqlx::Error> {
    tx.holder_verified(&incident.id).await
}

/// What the holder sees of their request.
#[derive(Clone, Debug, Serialize)]
pub struct FlowStatus {
    pub state: FlowState,
    pub steps: Vec<StepView>,
    pub queue_position: Option<u32>,
    pub estimated_wait_seconds: Option<u64>,
    pub expires_at: Timestamp,
    /// The flagged activities, shown once the holder proved who they are.
    pub activities: Vec<Activity>,
    pub code_attempts_left: u32,
    pub second_factor_attempts_left: u32,
    pub second_factor_required: Option<bool>,
    pub answers: Option<Vec<Answer>>,
    pub decision_reason: Option<String>,
    pub next_steps: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepView {
    pub name: &'static str,
    pub done: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Activity {
    pub alert_id: String,
    pub kind: AlertKind,
    pub occurred_at: Timestamp,
    pub summary: String,
}

/// Why a holder's step did not go through.
#[derive(Debug)]
pub enum HolderError {
    /// The link is unknown or was replaced by a newer one.
    UnknownLink,
    Expired,
    Step(StepError),
    /// The answers do not cover every activity exactly once.
    Answers(Vec<FieldError>),
    /// The exchange could not check a second factor; nothing was counted.
    ExchangeUnavailable,
    Other(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for HolderError {
    fn from(error: E) -> Self {
        HolderError::Other(error.into())
    }
}

impl From<HolderError> for ApiError {
    fn from(error: HolderError) -> Self {
        match error {
            HolderError::UnknownLink => {
                ApiError::NotFound("this link is not valid; it may have been replaced by a newer one".into())
            }
            HolderError::Expired => ApiError::Gone("this request has expired; ask for a new link".into()),
            HolderError::Step(StepError::Wrong { tries_left }) => {
                let mut extra = Map::new();
                extra.insert("tries_left".into(), json!(tries_left));
                extra.insert("errors".into(), json!([{"field": "code", "message": "is not right"}]));
                ApiError::Rejected {
                    kind: ProblemKind::WrongCode,
                    detail: format!("the code is not right; {tries_left} tries left"),
                    extra,
                }
            }
            HolderError::Step(StepError::CodeExpired) => {
                let mut extra = Map::new();
                extra.insert(
                    "errors".into(),
                    json!([{"field": "code", "message": "has expired; ask for a new one"}]),
                );
                ApiError::Rejected {
                    kind: ProblemKind::CodeExpired,
                    detail: "the code has expired; ask for a new one".into(),
                    extra,
                }
            }
            HolderError::Step(StepError::Locked) => {
                ApiError::Exhausted("too many wrong codes: this request is locked; ask for a new link later".into())
            }
            HolderError::Step(StepError::TooManyCodes) => {
                ApiError::Exhausted("no more codes can be sent for this request".into())
            }
            HolderError::Step(StepError::NotNow(state)) if state == "locked" => {
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

// --- Requesting a link ----------------------------------------------------

struct LinkRequest {
    account_id: String,
}

impl FromJson for LinkRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        let mut fields = Fields::new();
        let Some(map) = fields.object(value, "") else {
            return Err(fields.into_errors());
        };
        let account_id = fields.required_str(map, "account_id").and_then(|text| {
            crate::domain::alert::AccountId::parse(text)
                .map_err(|message| fields.error("account_id", message))
                .ok()
        });
        match account_id {
            Some(account_id) => Ok(LinkRequest {
                account_id: account_id.to_string(),
            }),
            None => Err(fields.into_errors()),
        }
    }
}

async fn request_link(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    JsonBody(request): JsonBody<LinkRequest>,
) -> Result<Response, ApiError> {
    accept_link_request(&state, &request.account_id, &client).await;
    let mut response = (StatusCode::ACCEPTED, ACCEPTED_BODY).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// Takes a link request: the work happens on a background task, unless a
/// rate limit (per client address, per account) is exceeded, in which case
/// the request is dropped. Either way the caller answers the same `202`: a
/// refusal would be a second answer, and the spec promises one.
pub async fn accept_link_request(state: &AppState, account_id: &str, client: &str) {
    let allowed = state.shared().check(Limit::UnfreezePerAddress, client).await.is_ok()
        && state
            .shared()
            .check(Limit::UnfreezePerAccount, account_id)
            .await
            .is_ok();
    if !allowed {
        metrics::counter!("holdfast_unfreeze_requests_dropped_total").increment(1);
        tracing::info!("an unfreeze link request over its rate limit was dropped");
        return;
    }
    let (state, account_id) = (state.clone(), account_id.to_owned());
    tokio::spawn(async move {
        if let Err(error) = open_flow(&state, &account_id).await {
            tracing::error!(error = format!("{error:#}"), "opening an unfreeze flow failed");
        }
    });
}

/// Opens a flow for a frozen account (or refreshes its live one) and sends
/// the holder a link and a one-time code. Does nothing for other accounts.
async fn open_flow(state: &AppState, account_id: &str) -> anyhow::Result<()> {
    let now = state.clock().now();
    let holds = state.db().holds_in_force(account_id, now).await?;
    let Some(freeze) = holds
        .iter()
        .filter(|hold| hold.is_freeze())
        .max_by_key(|hold| hold.placed_at)
    else {
        return Ok(());
    };
    let mut tx = state.db().begin().await?;
    let Some(incident) = tx.lock_incident(&freeze.incident_id).await? else {
        return Ok(());
    };
    let token = crypto::new_token()?;
    let (mut flow, opened) = match tx.lock_live_flow(account_id).await? {
        Some(flow) => {
            tx.rotate_flow_token(&flow.id, &token_hash(&token)).await?;
            (flow, false)
        }
        None => {
            let flow = Flow::new(crate::ids::new_id(), account_id.to_owned(), incident.id.clone(), now);
            tx.insert_flow(&flow, &token_hash(&token)).await?;
            (flow, true)
        }
    };
    let action = if opened {
        "unfreeze.requested"
    } else {
        "unfreeze.link_resent"
    };
    tx.audit(
        AuditRecord::new(now, "holder", action)
            .incident(&flow.incident_id, account_id)
            .detail(json!({"flow_id": flow.id, "state": flow.state})),
    );
    let url = format!("{}/unfreeze/{token}", state.public_url());
    let link_key = format!("{}:link:{}", flow.id, hex::encode(&token_hash(&token)[..8]));
    queue_secret_notification(
        &mut tx,
        state.secrets(),
        &link_key,
        account_id,
        "unfreeze_link",
        json!({"flow_token": token, "url": url}),
        now,
    )
    .await?;
    if flow.state == FlowState::AwaitingCode {
        send_code(state, &mut tx, &mut flow, now)
            .await
            .map_err(|e| anyhow::anyhow!("Failed to send a code: {e:?}"))?;
    }
    tx.save_flow(&flow).await?;
    state.after_commit(tx.commit().await?).await;
    Ok(())
}

/// Issues a new one-time code (replacing any earlier one) and queues it.
async fn send_code(state: &AppState, tx: &mut WriteTx, flow: &mut Flow, now: Timestamp) -> Result<(), HolderError> {
    let code = new_code()?;
    flow.issue_code(code_hash(state, &flow.id, &code), now)
        .map_err(HolderError::Step)?;
    let key = format!("{}:code:{}", flow.id, flow.codes_sent);
    queue_secret_notification(
        tx,
        state.secrets(),
        &key,
        &flow.account_id,
        "unfreeze_code",
        json!({"code": code}),
        now,
    )
    .await?;
    tx.audit(
        AuditRecord::new(now, "system", "unfreeze.code_sent")
            .incident(&flow.incident_id, &flow.account_id)
            .detail(json!({"flow_id": flow.id, "codes_sent": flow.codes_sent})),
    );
    Ok(())
}

/// Six uniformly random digits.
fn new_code() -> anyhow::Result<String> {
    loop {
        let n = u32::from_le_bytes(crypto::random_bytes::<4>()?);
        // Reject the top of the range so every code is equally likely.
        if n < u32::MAX - u32::MAX % 1_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

fn code_key(state: &AppState) -> hmac::Key {
    hmac::Key::new(
        hmac::HMAC_SHA256,
        &state.config().master_key.derive("holdfast unfreeze codes v1"),
    )
}

fn code_hash(state: &AppState, flow_id: &str, code: &str) -> Vec<u8> {
    hmac::sign(&code_key(state), format!("{flow_id}:{code}").as_bytes())
        .as_ref()
        .to_vec()
}

fn code_matches(state: &AppState, flow: &Flow, code: &str) -> bool {
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let stored = flow.code_hash.as_deref().unwrap_or_default();
    // Verify even a malformed code, so timing does not tell the two apart.
    let verified = hmac::verify(&code_key(state), format!("{}:{code}", flow.id).as_bytes(), stored).is_ok();
    well_formed && verified
}

// --- The holder's steps ---------------------------------------------------

/// A flow and its incident, both locked (incident first, as everywhere).
struct Locked {
    tx: WriteTx,
    flow: Flow,
    incident: Incident,
    before: FlowState,
}

async fn lock(state: &AppState, token: &str) -> Result<Locked, HolderError> {
    let hash = token_hash(token);
    let found = state.db().flow_by_token(&hash).await?.ok_or(HolderError::UnknownLink)?;
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let incident = tx
        .lock_incident(&found.incident_id)
        .await?
        .ok_or(HolderError::UnknownLink)?;
    let mut flow = tx.lock_flow_by_token(&hash).await?.ok_or(HolderError::UnknownLink)?;
    let before = flow.state;
    if flow.expire_if_due(now) {
        record_change(state, &mut tx, &flow, before, now).await?;
        tx.save_flow(&flow).await?;
        tx.commit().await?;
        return Err(HolderError::Expired);
    }
    if flow.state == FlowState::Expired {
        return Err(HolderError::Expired);
    }
    Ok(Locked {
        tx,
        flow,
        incident,
        before,
    })
}

/// Saves the flow, records a state change (audit and notification) and commits.
async fn finish(state: &AppState, locked: Locked) -> Result<(), HolderError> {
    let Locked {
        mut tx, flow, before, ..
    } = locked;
    let now = state.clock().now();
    tx.save_flow(&flow).await?;
    if flow.state != before {
        record_change(state, &mut tx, &flow, before, now).await?;
    }
    state.after_commit(tx.commit().await?).await;
    Ok(())
}

/// Puts a state change on the audit log and tells the holder.
async fn record_change(
    state: &AppState,
    tx: &mut WriteTx,
    flow: &Flow,
    from: FlowState,
    now: Timestamp,
) -> anyhow::Result<()> {
    tx.audit(
        AuditRecord::new(now, "holder", format!("unfreeze.{}", flow.state.as_str()))
            .incident(&flow.incident_id, &flow.account_id)
            .detail(json!({"flow_id": flow.id, "from": from, "to": flow.state})),
    );
    let mut data = json!({"state": flow.state});
    match flow.state {
        FlowState::InReview => {
            let (position, wait) = queue_estimate(state, flow, now).await?;
            data["queue_position"] = json!(position);
            data["estimated_wait_seconds"] = json!(wait);
        }
        FlowState::Rejected => {
            data["reason"] = json!(flow.decision_reason);
            data["next_steps"] = json!(next_steps(flow.state));
        }
        FlowState::Locked | FlowState::Expired => data["next_steps"] = json!(next_steps(flow.state)),
        _ => {}
    }
    let template = match flow.state {
        FlowState::AwaitingCode => "unfreeze_started",
        FlowState::AwaitingSecondFactor => "unfreeze_code_accepted",
        FlowState::AwaitingActivityReview => "unfreeze_identity_verified",
        FlowState::InReview => "unfreeze_in_review",
        FlowState::Unfrozen => "unfreeze_unfrozen",
        FlowState::Rejected => "unfreeze_rejected",
        FlowState::Expired => "unfreeze_expired",
        FlowState::Locked => "unfreeze_locked",
    };
    let key = format!("{}:state:{}", flow.id, flow.state.as_str());
    queue_notification(tx, &key, &flow.account_id, template, data, now).await?;
    Ok(())
}

/// What the holder can do after a final state other than `unfrozen`.
pub fn next_steps(state: FlowState) -> Option<&'static str> {
    match state {
        FlowState::Rejected => Some(
            "Your account stays frozen to protect it. Contact the exchange's support through the official app or website; \
             never through links in messages you did not ask for.",
        ),
        FlowState::Locked => Some("Too many wrong codes were entered. Wait an hour, then ask for a new unfreeze link."),
        FlowState::Expired => Some("This request has expired. Ask for a new unfreeze link to start again."),
        _ => None,
    }
}

async fn queue_estimate(state: &AppState, flow: &Flow, now: Timestamp) -> anyhow::Result<(u32, u64)> {
    let position = state.db().queue_position(flow).await?;
    let (recent, decided) = state.db().review_history(now.minus(THROUGHPUT_WINDOW), HISTORY).await?;
    let wait = estimate_wait(position, &recent, decided, THROUGHPUT_WINDOW, DEFAULT_REVIEW_TIME);
    Ok((position, wait.as_secs()))
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
            .map(|(name, done)| StepView { name, done: *done })
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

pub async fn enter_code(state: &AppState, token: &str, code: &str) -> Result<FlowStatus, HolderError> {
    let mut locked = lock(state, token).await?;
    let now = state.clock().now();
    let matches = code_matches(state, &locked.flow, code.trim());
    let result = locked.flow.submit_code(matches, now);
    finish(state, locked).await?;
    result.map_err(HolderError::Step)?;
    // Ask the exchange at once whether the holder has a 2-step method; if not,
    // the step is skipped and the holder goes straight on to the review.
    if let Err(error) = check_second_factor(state, token, None).await {
        tracing::info!(error = ?error, "could not ask the exchange about the holder's second factor yet");
    }
    status(state, token).await
}

pub async fn resend_code(state: &AppState, token: &str) -> Result<FlowStatus, HolderError> {
    let mut locked = lock(state, token).await?;
    let now = state.clock().now();
    send_code(state, &mut locked.tx, &mut locked.flow, now).await?;
    finish(state, locked).await?;
    status(state, token).await
}

pub async fn enter_second_factor(state: &AppState, token: &str, code: &str) -> Result<FlowStatus, HolderError> {
    check_second_factor(state, token, Some(code)).await?;
    status(state, token).await
}

/// Asks the exchange to check the holder's own 2-step code (`None`: only
/// whether they have a method). A probe with no code never counts as a try.
async fn check_second_factor(state: &AppState, token: &str, code: Option<&str>) -> Result<(), HolderError> {
    let flow = state
        .db()
        .flow_by_token(&token_hash(token))
        .await?
        .ok_or(HolderError::UnknownLink)?;
    if flow.state != FlowState::AwaitingSecondFactor {
        // Already past it (the exchange said the holder has no method): nothing to check.
        if flow.second_factor_verified_at.is_some() && code.is_some() {
            return Ok(());
        }
        return Err(HolderError::Step(StepError::NotNow(flow.state.as_str())));
    }
    let key = format!("{}:second_factor:{}", flow.id, crate::ids::new_id());
    let body = json!({
        "idempotency_key": key,
        "account_id": flow.account_id,
        "action": "check_second_factor",
        "code": code.unwrap_or(""),
    });
    let now = state.clock().now();
    let answer = state
        .exchange()
        .send(ACCOUNT_CONTROL, &body.to_string(), now)
        .await
        .map_err(|_| HolderError::ExchangeUnavailable)?;
    let verdict = match (
        answer.get("status").and_then(Value::as_str),
        answer.get("valid").and_then(Value::as_bool),
    ) {
        (Some("none"), _) => None,
        (Some("done"), Some(valid)) => Some(valid),
        _ => return Err(HolderError::ExchangeUnavailable),
    };
    let mut locked = lock(state, token).await?;
    let now = state.clock().now();
    let result = match (verdict, code) {
        (None, _) => locked.flow.skip_second_factor(now),
        (Some(valid), Some(_)) => locked.flow.submit_second_factor(valid, now),
        // A probe found a method: the holder must now enter their code.
        (Some(_), None) => {
            locked.flow.second_factor_required = Some(true);
            Ok(())
        }
    };
    finish(state, locked).await?;
    result.map_err(HolderError::Step)
}

/// Records the holder's answers and routes the flow: a low-risk incident whose
/// every activity was the holder's own is unfrozen at once by the
/// `unfreeze-account` playbook; anything else waits for an agent.
pub async fn answer_activities(state: &AppState, token: &str, answers: Vec<Answer>) -> Result<FlowStatus, HolderError> {
    let mut locked = lock(state, token).await?;
    let now = state.clock().now();
    if locked.flow.state != FlowState::AwaitingActivityReview {
        return Err(HolderError::Step(StepError::NotNow(locked.flow.state.as_str())));
    }
    let alert_ids = locked.tx.incident_alert_ids(&locked.incident.id).await?;
    check_answers(&answers, alert_ids.iter().map(String::as_str))?;
    let automatic = state.playbooks().runnable(UNFREEZE_PLAYBOOK).is_some();
    let route = locked
        .flow
        .submit_answers(answers, locked.incident.priority, automatic, now)
        .map_err(HolderError::Step)?;
    let answered = locked.flow.answers.clone().unwrap_or_default();
    locked.tx.audit(
        AuditRecord::new(now, "holder", "unfreeze.activity_reviewed")
            .incident(&locked.incident.id, &locked.incident.account_id)
            .detail(json!({
                "flow_id": locked.flow.id,
                "mine": answered.iter().filter(|a| a.mine).count(),
                "not_mine": answered.iter().filter(|a| !a.mine).count(),
            })),
    );
    // The identity gate reads the flow from the database: save it first.
    locked.tx.save_flow(&locked.flow).await?;
    match route {
        Route::Unfreeze => unfreeze_now(state, &mut locked, now).await?,
        Route::Review => {
            wake_waiting_unfreeze_run(state, &mut locked, false, now).await?;
        }
    }
    let run_id = locked.flow.run_id.clone();
    finish(state, locked).await?;
    if let (Route::Unfreeze, Some(run_id)) = (route, run_id) {
        wait_for_run(state, &run_id).await?;
    }
    status(state, token).await
}

/// How long a holder's answer waits for the automatic unfreeze to finish.
const UNFREEZE_WAIT: Duration = Duration::from_secs(8);

/// Waits (bounded) until the run ends, so the holder's answer reports an
/// account that is really unfrozen. The exchange confirms each step in
/// milliseconds; if it is slow, the holder sees the state as it stands and is
/// notified when the run ends.
async fn wait_for_run(state: &AppState, run_id: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + UNFREEZE_WAIT;
    while tokio::time::Instant::now() < deadline {
        if state.db().run(run_id).await?.is_none_or(|run| run.status.is_finished()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    Ok(())
}

fn check_answers<'a>(answers: &[Answer], alert_ids: impl Iterator<Item = &'a str>) -> Result<(), HolderError> {
    let expected: std::collections::BTreeSet<&str> = alert_ids.collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut errors = Vec::new();
    for (index, answer) in answers.iter().enumerate() {
        if !expected.contains(answer.alert_id.as_str()) {
            errors.push(FieldError::new(
                format!("answers[{index}].alert_id"),
                "is not one of the flagged activities",
            ));
        } else if !seen.insert(answer.alert_id.as_str()) {
            errors.push(FieldError::new(
                format!("answers[{index}].alert_id"),
                "is answered twice",
            ));
        }
    }
    for missing in expected.difference(&seen) {
        errors.push(FieldError::new(
            "answers",
            format!("has no answer for activity {missing}"),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(HolderError::Answers(errors))
    }
}

/// Lifts the freeze for the verified holder: an unfreeze run already waiting
/// on the incident continues, or a new one starts on the holder's behalf. The
/// holder's fresh verification counts as the run's MFA.
async fn unfreeze_now(state: &AppState, locked: &mut Locked, now: Timestamp) -> anyhow::Result<()> {
    if wake_waiting_unfreeze_run(state, locked, true, now).await? {
        return Ok(());
    }
    let (loaded, playbook) = state
        .playbooks()
        .runnable(UNFREEZE_PLAYBOOK)
        .expect("checked before routing");
    let incident_before = locked.incident.clone();
    let run = runs::start(
        state,
        &mut locked.tx,
        &mut locked.incident,
        loaded,
        playbook,
        Starter::Holder,
        now,
    )
    .await?;
    locked.flow.run_id = Some(run.id);
    if locked.incident != incident_before {
        locked.tx.save_incident(&locked.incident).await?;
    }
    Ok(())
}

/// Advances the incident's unfinished unfreeze run, if any, now that the
/// holder is verified. With `holder_mfa`, the holder's verification also
/// counts as the run's fresh MFA. Returns whether there was such a run.
async fn wake_waiting_unfreeze_run(
    state: &AppState,
    locked: &mut Locked,
    holder_mfa: bool,
    now: Timestamp,
) -> anyhow::Result<bool> {
    let Some(run_id) = locked.tx.unfinished_run(&locked.incident.id, UNFREEZE_PLAYBOOK).await? else {
        return Ok(false);
    };
    let Some(mut run) = locked.tx.lock_run(&run_id).await? else {
        return Ok(false);
    };
    let before = run.clone();
    let incident_before = locked.incident.clone();
    if holder_mfa {
        run.elevated_at = run.elevated_at.max(Some(now));
    }
    locked.flow.run_id = Some(run.id.clone());
    runs::advance(state, &mut locked.tx, &mut run, &mut locked.incident, now).await?;
    locked.tx.save_run(&run, &before).await?;
    if locked.incident != incident_before {
        locked.tx.save_incident(&locked.incident).await?;
    }
    Ok(true)
}

/// Called by the runner when an unfreeze run succeeded: the holder's flow in
/// review is done, and the holder is told.
pub async fn on_unfreeze_run_succeeded(
    state: &AppState,
    tx: &mut WriteTx,
    run: &Run,
    now: Timestamp,
) -> anyhow::Result<()> {
    if run.playbook.kind != PlaybookKind::Unfreeze {
        return Ok(());
    }
    let Some(mut flow) = tx.lock_flow_in_review(&run.incident_id).await? else {
        return Ok(());
    };
    let before = flow.state;
    flow.mark_unfrozen(&run.started_by_name, &run.id, now);
    tx.save_flow(&flow).await?;
    record_change(state, tx, &flow, before, now).await
}

/// Called by the runner when an unfreeze run failed: an automatic unfreeze
/// that could not finish goes to the agents' queue, and the holder is told.
pub async fn on_unfreeze_run_failed(
    state: &AppState,
    tx: &mut WriteTx,
    run: &Run,
    now: Timestamp,
) -> anyhow::Result<()> {
    if run.playbook.kind != PlaybookKind::Unfreeze {
        return Ok(());
    }
    let Some(mut flow) = tx.lock_flow_of_run(&run.id).await? else {
        return Ok(());
    };
    if flow.state != FlowState::Unfrozen {
        return Ok(());
    }
    let before = flow.state;
    flow.reopen_for_review(now);
    tx.save_flow(&flow).await?;
    record_change(state, tx, &flow, before, now).await
}

// --- HTTP handlers --------------------------------------------------------

async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Result<Json<FlowStatus>, ApiError> {
    Ok(Json(status(&state, &token).await?))
}

struct CodeRequest {
    code: String,
}

impl FromJson for CodeRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        let mut fields = Fields::new();
        let Some(map) = fields.object(value, "") else {
            return Err(fields.into_errors());
        };
        match fields.required_str(map, "code") {
            Some(code) => Ok(CodeRequest { code: code.to_owned() }),
            None => Err(fields.into_errors()),
        }
    }
}

struct ActivityRequest {
    answers: Vec<Answer>,
}

impl FromJson for ActivityRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        let mut fields = Fields::new();
        let Some(map) = fields.object(value, "") else {
            return Err(fields.into_errors());
        };
        let Some(items) = map.get("answers").and_then(Value::as_array) else {
            fields.error("answers", "is required: a list of {\"alert_id\", \"mine\"}");
            return Err(fields.into_errors());
        };
        let mut answers = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let path = format!("answers[{index}]");
            let Some(answer) = fields.object(item, &path) else {
                continue;
            };
            let alert_id = fields.required_str(answer, &format!("{path}.alert_id"));
            let mine = fields.required_bool(answer, &format!("{path}.mine"));
            if let (Some(alert_id), Some(mine)) = (alert_id, mine) {
                answers.push(Answer {
                    alert_id: alert_id.to_owned(),
                    mine,
                });
            }
        }
        fields.finish(|| ActivityRequest { answers })
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

async fn submit_code(
    State(state): State<AppState>,
    HolderStep(token): HolderStep,
    JsonBody(request): JsonBody<CodeRequest>,
) -> Result<Json<FlowStatus>, ApiError> {
    Ok(Json(enter_code(&state, &token, &request.code).await?))
}

async fn resend_code_handler(
    State(state): State<AppState>,
    HolderStep(token): HolderStep,
) -> Result<Json<FlowStatus>, ApiError> {
    Ok(Json(resend_code(&state, &token).await?))
}

async fn submit_second_factor(
    State(state): State<AppState>,
    HolderStep(token): HolderStep,
    JsonBody(request): JsonBody<CodeRequest>,
) -> Result<Json<FlowStatus>, ApiError> {
    Ok(Json(enter_second_factor(&state, &token, &request.code).await?))
}

async fn submit_activity(
    State(state): State<AppState>,
    HolderStep(token): HolderStep,
    JsonBody(request): JsonBody<ActivityRequest>,
) -> Result<Json<FlowStatus>, ApiError> {
    Ok(Json(answer_activities(&state, &token, request.answers).await?))
}

/// The agents' queue of holders waiting for a decision, oldest first.
async fn review_queue(State(state): State<AppState>, agent: CurrentAgent) -> Result<Json<Value>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let now = state.clock().now();
    let flows = state.db().flows_in_review().await?;
    let mut reviews = Vec::with_capacity(flows.len());
    for (position, flow) in flows.iter().enumerate() {
        reviews.push(json!({
            "incident_id": flow.incident_id,
            "account_id": flow.account_id,
            "queue_position": position + 1,
            "queued_at": flow.queued_at,
            "waiting_seconds": flow.queued_at.map(|at| now.since(at).as_secs()),
            "answers": flow.answers,
        }));
    }
    Ok(Json(json!({"reviews": reviews})))
}

struct RejectRequest {
    reason: String,
}

impl FromJson for RejectRequest {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>> {
        let mut fields = Fields::new();
        let Some(map) = fields.object(value, "") else {
            return Err(fields.into_errors());
        };
        let reason = fields.required_str(map, "reason").and_then(|reason| {
            if reason.trim().is_empty() || reason.chars().count() > 1000 {
                fields.error("reason", "must be 1 to 1000 characters: the holder reads it");
                None
            } else {
                Some(reason.trim().to_owned())
            }
        });
        match reason {
            Some(reason) => Ok(RejectRequest { reason }),
            None => Err(fields.into_errors()),
        }
    }
}

/// An agent turns down a holder's request; the holder is told why and what to do.
async fn reject(
    State(state): State<AppState>,
    agent: CurrentAgent,
    Path(incident_id): Path<String>,
    JsonBody(request): JsonBody<RejectRequest>,
) -> Result<Json<Value>, ApiError> {
    agent.require(Permission::ReviewUnfreezes)?;
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let _incident = tx
        .lock_incident(&incident_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the incident"))?;
    let mut flow = tx
        .lock_flow_in_review(&incident_id)
        .await?
        .ok_or_else(|| ApiError::Conflict("no unfreeze request of this incident is waiting for review".into()))?;
    let before = flow.state;
    flow.reject(&agent.actor(), &request.reason, now)
        .map_err(HolderError::Step)?;
    tx.save_flow(&flow).await?;
    record_change(&state, &mut tx, &flow, before, now).await?;
    state.after_commit(tx.commit().await?).await;
    Ok(Json(
        json!({"incident_id": incident_id, "state": flow.state, "reason": flow.decision_reason}),
    ))
}

/// Closes live flows past their lifetime, telling each holder.
pub async fn expire_overdue(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let mut flows = tx.lock_overdue_flows(now, 100).await?;
    for flow in &mut flows {
        let before = flow.state;
        if flow.expire_if_due(now) {
            tx.save_flow(flow).await?;
            record_change(state, &mut tx, flow, before, now).await?;
        }
    }
    state.after_commit(tx.commit().await?).await;
    Ok(flows.len())
}

pub async fn expire_until_cancelled(state: AppState, cancel: CancellationToken) {
    loop {
        if let Err(error) = expire_overdue(&state).await {
            tracing::warn!(error = format!("{error:#}"), "closing expired unfreeze requests failed");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(EXPIRY_SWEEP) => {}
        }
    }
}
