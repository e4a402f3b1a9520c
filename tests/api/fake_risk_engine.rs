//! A fake risk engine's feedback endpoint (SPEC §14), on port 0: it checks
//! each disposition's signature against the feedback key, records it, and
//! fails the first requests when told to.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use holdfast::platform::signing::{KeyRing, SigningKey};
use serde_json::Value;

use crate::helpers::{eventually, random_base64};

/// One disposition the fake received.
#[derive(Clone, Debug)]
pub struct Feedback {
    pub body: Value,
    /// Whether it was signed with the feedback key.
    pub signature_valid: bool,
    /// Whether this attempt was answered with a failure.
    pub failed: bool,
}

struct Inner {
    keys: KeyRing,
    clock: holdfast::platform::clock::Clock,
    received: Mutex<Vec<Feedback>>,
    failures_left: Mutex<usize>,
}

#[derive(Clone)]
pub struct FakeRiskEngine {
    url: String,
    setting: String,
    inner: Arc<Inner>,
}

impl FakeRiskEngine {
    pub async fn start(clock: holdfast::platform::clock::Clock) -> Self {
        let setting = format!("feedback={}", random_base64(32));
        let inner = Arc::new(Inner {
            keys: KeyRing::from_keys([SigningKey::parse(&setting).unwrap()]),
            clock,
            received: Mutex::default(),
            failures_left: Mutex::default(),
        });
        let router = Router::new()
            .route("/feedback", post(feedback))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/feedback", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, setting, inner }
    }

    /// `HOLDFAST_RISK_FEEDBACK_URL`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// `HOLDFAST_RISK_FEEDBACK_KEY`.
    pub fn key_setting(&self) -> String {
        self.setting.clone()
    }

    /// Answers the next `count` requests with HTTP 503.
    pub fn fail_next(&self, count: usize) {
        *self.inner.failures_left.lock().unwrap() = count;
    }

    pub fn received(&self) -> Vec<Feedback> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Waits until a disposition for `incident_id` was accepted; returns
    /// every attempt for it.
    pub async fn wait_for_accepted(&self, incident_id: &str) -> Vec<Feedback> {
        eventually(
            &format!("a disposition for {incident_id}"),
            Duration::from_secs(15),
            || {
                let attempts: Vec<Feedback> = self
                    .received()
                    .into_iter()
                    .filter(|f| f.body["incident_id"] == incident_id)
                    .collect();
                let accepted = attempts.iter().any(|f| !f.failed);
                async move { accepted.then_some(attempts) }
            },
        )
        .await
    }
}

async fn feedback(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature_valid = inner
        .keys
        .verify(
            header("x-holdfast-key-id"),
            header("x-holdfast-timestamp"),
            header("x-holdfast-signature"),
            &body,
            inner.clock.now(),
        )
        .is_ok();
    let failed = {
        let mut left = inner.failures_left.lock().unwrap();
        let fail = *left > 0;
        if fail {
            *left -= 1;
        }
        fail
    };
    inner.received.lock().unwrap().push(Feedback {
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        signature_valid,
        failed,
    });
    if failed {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}
