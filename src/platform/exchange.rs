//! The exchange, as Holdfast talks to it: account control (holds, session
//! revocation, second-factor checks) and notifications to account holders;
//! and the risk engine's feedback endpoint (SPEC §14).
//!
//! Requests are signed like inbound alerts (SPEC §2); feedback with its own
//! key. With no exchange URLs configured, a built-in simulation records each
//! request and confirms it, so a development instance runs end to end; the
//! start-up log says so loudly.
//!
//! Whatever concerns a drill account (SPEC §14) never leaves Holdfast: every
//! request about one is answered here by the drill sink, which confirms it as
//! the exchange would (`"drill_sink": true` in the recorded answer).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::domain::drill::is_drill_account;
use crate::domain::exchange::Destination;
use crate::domain::ids::AccountId;
use crate::domain::time::Timestamp;
use crate::platform::config::{ExchangeConfig, RiskFeedbackConfig};
use crate::platform::signing::SigningKey;

#[derive(Clone)]
pub struct Exchange {
    target: Target,
    /// The risk engine's feedback endpoint, when configured.
    risk_feedback: Option<Arc<RiskFeedback>>,
}

#[derive(Clone)]
enum Target {
    Remote(Arc<Remote>),
    Simulated(Arc<Simulation>),
}

/// The risk engine's feedback endpoint and the key feedback is signed with.
pub struct RiskFeedback {
    client: reqwest::Client,
    config: RiskFeedbackConfig,
}

pub struct Remote {
    client: reqwest::Client,
    config: ExchangeConfig,
}

/// The development stand-in: logs what it was asked (never the secrets a
/// notification carries) and confirms everything.
#[derive(Default)]
pub struct Simulation;

/// Why the exchange did not confirm a request.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the exchange could not be reached: {0}")]
    Unreachable(String),
    #[error("the exchange answered HTTP {0}")]
    Status(u16),
    #[error("the exchange's answer was not a confirmation: {0}")]
    NotConfirmed(String),
    #[error("no risk feedback endpoint is configured (HOLDFAST_RISK_FEEDBACK_URL)")]
    NoFeedbackEndpoint,
}

/// A client that never follows a redirect: every endpoint is configured, and
/// a 3xx is a failed delivery (retried under the same idempotency key), not a
/// new destination to sign for.
fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3))
        .build()?)
}

impl Exchange {
    pub fn new(
        config: Option<ExchangeConfig>,
        risk_feedback: Option<RiskFeedbackConfig>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let target = match config {
            Some(config) => Target::Remote(Arc::new(Remote {
                client: client(timeout)?,
                config,
            })),
            None => Target::Simulated(Arc::new(Simulation)),
        };
        let risk_feedback = match risk_feedback {
            Some(config) => Some(Arc::new(RiskFeedback {
                client: client(timeout)?,
                config,
            })),
            None => None,
        };
        Ok(Self { target, risk_feedback })
    }

    /// Sends `body` to `destination` and returns the exchange's answer, which
    /// must be HTTP 200 with a JSON object.
    /// `traceparent`, when given, is sent as the W3C header of that name.
    pub async fn send(
        &self,
        destination: Destination,
        body: &str,
        traceparent: Option<&str>,
        now: Timestamp,
    ) -> Result<Value, DeliveryError> {
        if let Some(answer) = drill_sink(destination, body) {
            return Ok(answer);
        }
        if destination == Destination::RiskFeedback {
            let feedback = self.risk_feedback.as_ref().ok_or(DeliveryError::NoFeedbackEndpoint)?;
            return feedback.send(body, traceparent, now).await;
        }
        match &self.target {
            Target::Remote(remote) => remote.send(destination, body, traceparent, now).await,
            Target::Simulated(simulation) => Ok(simulation.answer(destination, body)),
        }
    }
}

/// The drill sink's answer to a request about a drill account; `None` for
/// any other request. It confirms as the exchange would (a drill holder has
/// no 2-step method of their own), and nothing is sent anywhere.
fn drill_sink(destination: Destination, body: &str) -> Option<Value> {
    let request: Value = serde_json::from_str(body).ok()?;
    // A queued body only ever names an account id parsed on the way in.
    let account = AccountId::from_string(request.get("account_id").and_then(Value::as_str)?.to_owned());
    if !is_drill_account(&account) {
        return None;
    }
    let key = request.get("idempotency_key").cloned().unwrap_or(Value::Null);
    let action = request.get("action").and_then(Value::as_str);
    let what = action.or_else(|| request.get("template").and_then(Value::as_str));
    tracing::info!(
        destination = destination.as_str(),
        action = what,
        account.id = account.as_str(),
        "drill sink: recorded, not sent"
    );
    let status = match (destination, action) {
        (Destination::AccountControl, Some("check_second_factor")) => "none",
        _ => "done",
    };
    Some(json!({"idempotency_key": key, "status": status, "drill_sink": true}))
}

/// POSTs `body` to `url` signed with `key` (SPEC §2), with `traceparent`.
async fn post_signed(
    client: &reqwest::Client,
    url: &str,
    key: &SigningKey,
    body: &str,
    traceparent: Option<&str>,
    now: Timestamp,
) -> Result<reqwest::Response, DeliveryError> {
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned());
    for (name, value) in key.headers(now, body.as_bytes()) {
        request = request.header(name, value);
    }
    if let Some(traceparent) = traceparent {
        request = request.header(crate::platform::trace_context::TRACEPARENT, traceparent);
    }
    request
        .send()
        .await
        .map_err(|e| DeliveryError::Unreachable(without_url(&e)))
}

impl RiskFeedback {
    /// Sends one disposition; any 2xx is the risk engine's receipt (its body,
    /// if any, is not asked to say more).
    async fn send(&self, body: &str, traceparent: Option<&str>, now: Timestamp) -> Result<Value, DeliveryError> {
        let response = post_signed(&self.client, &self.config.url, &self.config.key, body, traceparent, now).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(DeliveryError::Status(status.as_u16()));
        }
        Ok(json!({"status": status.as_u16()}))
    }
}

impl Remote {
    async fn send(
        &self,
        destination: Destination,
        body: &str,
        traceparent: Option<&str>,
        now: Timestamp,
    ) -> Result<Value, DeliveryError> {
        let url = match destination {
            Destination::AccountControl => &self.config.account_control_url,
            Destination::Notify => &self.config.notify_url,
            Destination::RiskFeedback => return Err(DeliveryError::NoFeedbackEndpoint),
        };
        let response = post_signed(&self.client, url, &self.config.key, body, traceparent, now).await?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(DeliveryError::Status(status.as_u16()));
        }
        let answer: Value = response
            .json()
            .await
            .map_err(|_| DeliveryError::NotConfirmed("the body is not JSON".into()))?;
        if !answer.is_object() {
            return Err(DeliveryError::NotConfirmed("the body is not a JSON object".into()));
        }
        Ok(answer)
    }
}

/// A transport error's description without the URL, which may carry credentials.
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    kind.to_owned()
}

impl Simulation {
    fn answer(&self, destination: Destination, body: &str) -> Value {
        let request: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let text = |name: &str| request.get(name).and_then(Value::as_str).unwrap_or("");
        let key = request.get("idempotency_key").cloned().unwrap_or(Value::Null);
        if destination == Destination::Notify {
            tracing::info!(
                template = text("template"),
                account.id = text("account_id"),
                "simulated exchange: notification recorded, not sent"
            );
            return json!({"idempotency_key": key, "status": "done"});
        }
        tracing::info!(
            action = text("action"),
            scope = text("scope"),
            account.id = text("account_id"),
            "simulated exchange: account control confirmed"
        );
        match text("action") {
            // Simulated holders have no 2-step method of their own.
            "check_second_factor" => json!({"idempotency_key": key, "status": "none"}),
            _ => json!({"idempotency_key": key, "status": "done"}),
        }
    }
}

/// Whether an account-control answer confirms the request with `idempotency_key`.
pub fn confirms(answer: &Value, idempotency_key: &str) -> Result<(), DeliveryError> {
    let status = answer.get("status").and_then(Value::as_str);
    let key = answer.get("idempotency_key").and_then(Value::as_str);
    match (status, key) {
        (Some("done"), Some(key)) if key == idempotency_key => Ok(()),
        (Some("done"), _) => Err(DeliveryError::NotConfirmed("the idempotency key does not match".into())),
        _ => Err(DeliveryError::NotConfirmed("status is not \"done\"".into())),
    }
}
