//! A fake exchange: the account-control and notification endpoints Holdfast
//! calls, on port 0. It checks each request's signature, records it, and
//! answers as told (confirm, fail, stall, or judge a holder's 2-step code).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use holdfast::platform::signing::{KeyRing, SigningKey};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::helpers::{eventually, random_base64};

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Received {
    /// `account_control` or `notify`.
    pub endpoint: &'static str,
    pub body: Value,
    pub signature_valid: bool,
    /// The W3C `traceparent` header, if sent.
    pub traceparent: Option<String>,
}

impl Received {
    /// The trace id of the `traceparent` header, if sent.
    pub fn trace_id(&self) -> Option<&str> {
        self.traceparent.as_deref()?.split('-').nth(1)
    }

    /// The span id of the `traceparent` header, if sent.
    pub fn span_id(&self) -> Option<&str> {
        self.traceparent.as_deref()?.split('-').nth(2)
    }

    pub fn field(&self, name: &str) -> &str {
        self.body.get(name).and_then(Value::as_str).unwrap_or("")
    }
}

#[derive(Default)]
struct Behaviour {
    /// Answer this many account-control requests with HTTP 500 first.
    failures_left: usize,
    /// Hold account-control requests until released.
    stalled: bool,
    /// Hold account-control requests of these actions until released.
    stalled_actions: Vec<String>,
    /// The holder's own 2-step code; `None` answers `"status": "none"`.
    second_factor: Option<String>,
    /// Answer account-control requests with this 3xx, pointing at `/elsewhere`.
    redirect: Option<StatusCode>,
}

struct Inner {
    keys: KeyRing,
    /// Holdfast's clock, which tests move forward: signatures are checked against it.
    clock: holdfast::platform::clock::Clock,
    received: Mutex<Vec<Received>>,
    /// Requests that reached `/elsewhere`, the target of redirects.
    redirected: Mutex<usize>,
    behaviour: Mutex<Behaviour>,
    arrived: Notify,
    released: Notify,
}

#[derive(Clone)]
pub struct FakeExchange {
    base: String,
    setting: String,
    inner: Arc<Inner>,
}

impl FakeExchange {
    pub async fn start(clock: holdfast::platform::clock::Clock) -> Self {
        let setting = format!("holdfast={}", random_base64(32));
        let key = SigningKey::parse(&setting).unwrap();
        let inner = Arc::new(Inner {
            keys: KeyRing::from_keys([key]),
            clock,
            received: Mutex::default(),
            redirected: Mutex::default(),
            behaviour: Mutex::default(),
            arrived: Notify::new(),
            released: Notify::new(),
        });
        let router = Router::new()
            .route("/account-control", post(account_control))
            .route("/notify", post(notify))
            .route("/elsewhere", any(elsewhere))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { base, setting, inner }
    }

    pub fn account_control_url(&self) -> String {
        format!("{}/account-control", self.base)
    }

    pub fn notify_url(&self) -> String {
        format!("{}/notify", self.base)
    }

    /// The `HOLDFAST_OUTBOUND_KEY` value Holdfast must sign with.
    pub fn signing_key_setting(&self) -> String {
        self.setting.clone()
    }

    pub fn fail_next(&self, count: usize) {
        self.inner.behaviour.lock().unwrap().failures_left = count;
    }

    pub fn stall(&self) {
        self.inner.behaviour.lock().unwrap().stalled = true;
    }

    /// Holds only requests whose `action` is one of `actions`, until released.
    pub fn stall_actions(&self, actions: &[&str]) {
        self.inner.behaviour.lock().unwrap().stalled_actions = actions.iter().map(|a| (*a).to_owned()).collect();
    }

    pub fn release(&self) {
        let mut behaviour = self.inner.behaviour.lock().unwrap();
        behaviour.stalled = false;
        behaviour.stalled_actions.clear();
        drop(behaviour);
        self.inner.released.notify_waiters();
    }

    /// Answers account-control requests with `status` (a 3xx) and a
    /// `Location` of `/elsewhere`, which confirms whatever reaches it.
    pub fn redirect_account_control(&self, status: StatusCode) {
        self.inner.behaviour.lock().unwrap().redirect = Some(status);
    }

    /// How many requests followed a redirect to `/elsewhere`.
    pub fn redirected(&self) -> usize {
        *self.inner.redirected.lock().unwrap()
    }

    pub fn set_second_factor(&self, code: Option<&str>) {
        self.inner.behaviour.lock().unwrap().second_factor = code.map(str::to_owned);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Waits until the requests received satisfy `check`.
    pub async fn wait_for<T>(&self, what: &str, check: impl Fn(&[Received]) -> Option<T>) -> T {
        eventually(what, Duration::from_secs(15), || {
            let found = check(&self.received());
            async move { found }
        })
        .await
    }

    /// Waits for the account-control requests of `action` for `account`.
    pub async fn wait_for_actions(&self, account: &str, action: &str, count: usize) -> Vec<Received> {
        self.wait_for(&format!("{count} {action} request(s) for {account}"), |received| {
            let matching: Vec<Received> = received
                .iter()
                .filter(|r| {
                    r.endpoint == "account_control" && r.field("account_id") == account && r.field("action") == action
                })
                .cloned()
                .collect();
            (matching.len() >= count).then_some(matching)
        })
        .await
    }

    /// Waits for a notification with `template` for `account`.
    pub async fn wait_for_notification(&self, account: &str, template: &str) -> Received {
        self.wait_for(&format!("a {template} notification for {account}"), |received| {
            received
                .iter()
                .rev()
                .find(|r| r.endpoint == "notify" && r.field("account_id") == account && r.field("template") == template)
                .cloned()
        })
        .await
    }
}

fn record(inner: &Inner, endpoint: &'static str, headers: &HeaderMap, body: &Bytes) -> Value {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = inner.clock.now();
    let signature_valid = inner
        .keys
        .verify(
            header("x-holdfast-key-id"),
            header("x-holdfast-timestamp"),
            header("x-holdfast-signature"),
            body,
            now,
        )
        .is_ok();
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    inner.received.lock().unwrap().push(Received {
        endpoint,
        body: parsed.clone(),
        signature_valid,
        traceparent: header("traceparent").map(str::to_owned),
    });
    inner.arrived.notify_waiters();
    parsed
}

async fn account_control(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let request = record(&inner, "account_control", &headers, &body);
    loop {
        let released = inner.released.notified();
        let action = request.get("action").and_then(Value::as_str).unwrap_or_default();
        let stalled = {
            let behaviour = inner.behaviour.lock().unwrap();
            behaviour.stalled || behaviour.stalled_actions.iter().any(|a| a == action)
        };
        if !stalled {
            break;
        }
        released.await;
    }
    let key = request.get("idempotency_key").cloned().unwrap_or(Value::Null);
    let (fail, second_factor, redirect) = {
        let mut behaviour = inner.behaviour.lock().unwrap();
        let fail = behaviour.failures_left > 0;
        if fail {
            behaviour.failures_left -= 1;
        }
        (fail, behaviour.second_factor.clone(), behaviour.redirect)
    };
    if fail {
        return (StatusCode::INTERNAL_SERVER_ERROR, "unavailable").into_response();
    }
    if let Some(status) = redirect {
        return (status, [(axum::http::header::LOCATION, "/elsewhere")]).into_response();
    }
    if request.get("action").and_then(Value::as_str) == Some("check_second_factor") {
        return match second_factor {
            Some(code) => {
                let valid = request.get("code").and_then(Value::as_str) == Some(code.as_str());
                Json(json!({"idempotency_key": key, "status": "done", "valid": valid})).into_response()
            }
            None => Json(json!({"idempotency_key": key, "status": "none"})).into_response(),
        };
    }
    Json(json!({"idempotency_key": key, "status": "done"})).into_response()
}

/// Where redirects point: counts the request and confirms it, as a server
/// that wanted to pass for the exchange would.
async fn elsewhere(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    *inner.redirected.lock().unwrap() += 1;
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let key = request.get("idempotency_key").cloned().unwrap_or(Value::Null);
    Json(json!({"idempotency_key": key, "status": "done"})).into_response()
}

async fn notify(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let request = record(&inner, "notify", &headers, &body);
    let key = request.get("idempotency_key").cloned().unwrap_or(Value::Null);
    Json(json!({"idempotency_key": key, "status": "done"})).into_response()
}
