//! The exchange, as Holdfast talks to it: account control (holds, session
//! revocation, second-factor checks) and notifications to account holders.
//!
//! Requests are signed like inbound alerts (SPEC §2). With no exchange URLs
//! configured, a built-in simulation records each request and confirms it, so
//! a development instance runs end to end; the start-up log says so loudly.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::ExchangeConfig;
use crate::domain::exchange::Destination;
use crate::domain::time::Timestamp;

#[derive(Clone)]
pub enum Exchange {
    Remote(Arc<Remote>),
    Simulated(Arc<Simulation>),
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
}

impl Exchange {
    pub fn new(config: Option<ExchangeConfig>, timeout: Duration) -> anyhow::Result<Self> {
        Ok(match config {
            Some(config) => {
                // Never follow a redirect: the exchange's endpoints are
                // configured, and a 3xx is a failed delivery (retried under
                // the same idempotency key), not a new destination to sign for.
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(timeout)
                    .connect_timeout(Duration::from_secs(3))
                    .build()?;
                Exchange::Remote(Arc::new(Remote { client, config }))
            }
            None => Exchange::Simulated(Arc::new(Simulation)),
        })
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
        match self {
            Exchange::Remote(remote) => remote.send(destination, body, traceparent, now).await,
            Exchange::Simulated(simulation) => Ok(simulation.answer(destination, body)),
        }
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
        };
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        for (name, value) in self.config.key.headers(now, body.as_bytes()) {
            request = request.header(name, value);
        }
        if let Some(traceparent) = traceparent {
            request = request.header(crate::trace_context::TRACEPARENT, traceparent);
        }
        let response = request
            .send()
            .await
            .map_err(|e| DeliveryError::Unreachable(without_url(&e)))?;
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
