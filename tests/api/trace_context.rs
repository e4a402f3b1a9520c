//! Trace context across the exchange (SPEC §11): a request's `traceparent`
//! is continued by every call to the exchange it causes, however late.

use serde_json::Value;

use crate::fake_exchange::Received;
use crate::helpers::{Backend, TestApp, on_both_backends, p1_withdrawal, spawn_app};

on_both_backends!(
    the_pushes_of_a_p1_alert_and_the_runs_later_steps_carry_the_alerts_trace_id_with_fresh_span_ids,
    a_notification_sent_later_by_the_outbox_carries_the_trace_of_the_request_that_caused_it,
    a_request_without_a_traceparent_starts_one_trace_for_everything_it_causes,
);

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

impl TestApp {
    /// Posts a signed alert with a `traceparent` header.
    async fn post_traced_alert(&self, alert: &Value, traceparent: &str) {
        let body = alert.to_string();
        let mut request = self
            .client
            .post(self.url("/v1/alerts"))
            .header("traceparent", traceparent)
            .body(body.clone());
        for (name, value) in self.ingest_key.headers(self.clock.now(), body.as_bytes()) {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
}

fn account_control(app: &TestApp, account: &str) -> Vec<Received> {
    app.exchange
        .received()
        .into_iter()
        .filter(|r| r.endpoint == "account_control" && r.field("account_id") == account)
        .collect()
}

async fn the_pushes_of_a_p1_alert_and_the_runs_later_steps_carry_the_alerts_trace_id_with_fresh_span_ids(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    app.post_traced_alert(
        &p1_withdrawal("re-1", "acct-1"),
        &format!("00-{TRACE_ID}-{PARENT_ID}-01"),
    )
    .await;
    // The last step of contain-large-withdrawal, queued by the runner once
    // the steps before it were confirmed.
    app.exchange.wait_for_actions("acct-1", "revoke_sessions", 1).await;
    app.settle().await;

    let pushes = account_control(&app, "acct-1");
    assert!(pushes.len() >= 3, "{pushes:?}");
    let mut span_ids = std::collections::HashSet::new();
    for push in &pushes {
        assert_eq!(push.trace_id(), Some(TRACE_ID), "{push:?}");
        let span_id = push.span_id().unwrap();
        assert_ne!(span_id, PARENT_ID, "a fresh span id: {push:?}");
        assert_eq!(span_id.len(), 16);
        span_ids.insert(span_id.to_owned());
    }
    assert_eq!(span_ids.len(), pushes.len(), "each push has its own span id");
}

async fn a_notification_sent_later_by_the_outbox_carries_the_trace_of_the_request_that_caused_it(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    app.settle().await;

    let other_trace = "0af7651916cd43dd8448eb211c80319c";
    let response = app
        .client
        .post(app.url("/v1/unfreeze"))
        .header("traceparent", format!("00-{other_trace}-b7ad6b7169203331-01"))
        .json(&serde_json::json!({"account_id": "acct-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);

    let link = app.exchange.wait_for_notification("acct-1", "unfreeze_link").await;
    let code = app.exchange.wait_for_notification("acct-1", "unfreeze_code").await;
    assert_eq!(link.trace_id(), Some(other_trace), "{link:?}");
    assert_eq!(code.trace_id(), Some(other_trace), "{code:?}");
}

async fn a_request_without_a_traceparent_starts_one_trace_for_everything_it_causes(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    app.ingest(&p1_withdrawal("re-2", "acct-2")).await;
    app.exchange.wait_for_actions("acct-1", "revoke_sessions", 1).await;
    app.exchange.wait_for_actions("acct-2", "revoke_sessions", 1).await;
    app.settle().await;

    let trace_of = |account: &str| {
        let traces: std::collections::HashSet<String> = account_control(&app, account)
            .iter()
            .map(|push| push.trace_id().expect("a traceparent").to_owned())
            .collect();
        assert_eq!(traces.len(), 1, "{account}: {traces:?}");
        traces.into_iter().next().unwrap()
    };
    assert_ne!(trace_of("acct-1"), trace_of("acct-2"), "each request its own trace");
}
