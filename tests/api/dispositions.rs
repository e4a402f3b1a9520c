//! Dispositions to the risk engine (SPEC §14): when an incident is resolved
//! or dismissed, one signed message through the outbox, retried under the
//! same key, with what was true and what the holder said.

use std::collections::BTreeSet;

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fake_risk_engine::FakeRiskEngine;
use crate::helpers::{
    Backend, MESSAGES, TestApp, on_both_backends, p1_withdrawal, p3_login, spawn_app, spawn_app_with,
};
use crate::holder::notice_token;
use crate::unfreeze::{answers_all, frozen_flow, verify_holder};

on_both_backends!(
    a_resolved_and_a_dismissed_incident_each_send_one_signed_disposition_retried_under_one_key,
    a_holders_answer_not_mine_reaches_the_risk_engine,
    not_me_through_a_case_link_reaches_the_risk_engine_as_not_mine,
    a_verified_holder_who_says_every_activity_was_theirs_counts_as_mine,
    nothing_is_queued_for_the_risk_engine_without_its_url,
);

async fn app_with_risk_engine(backend: Backend) -> (TestApp, FakeRiskEngine) {
    let engine = FakeRiskEngine::start(holdfast::platform::clock::Clock::system()).await;
    let app = spawn_app_with(backend, |settings| {
        settings
            .set("HOLDFAST_RISK_FEEDBACK_URL", engine.url())
            .set("HOLDFAST_RISK_FEEDBACK_KEY", engine.key_setting());
    })
    .await;
    (app, engine)
}

async fn decide(app: &TestApp, role: Role, username: &str, path: String, body: Value) {
    let agent = app.agent(username, role).await;
    let response = app.post_as(&agent, &path).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
}

async fn a_resolved_and_a_dismissed_incident_each_send_one_signed_disposition_retried_under_one_key(backend: Backend) {
    let (app, engine) = app_with_risk_engine(backend).await;
    let takeover = app.ingest_incident(&p1_withdrawal("re-1", "acct-1")).await;
    let noise = app.ingest_incident(&p3_login("re-2", "acct-2")).await;

    engine.fail_next(2);
    decide(
        &app,
        Role::Lead,
        "lee",
        format!("/v1/incidents/{takeover}/resolve"),
        json!({"resolution": "confirmed_takeover", "note": "the holder called"}),
    )
    .await;
    let resolved = engine.wait_for_accepted(&takeover).await;
    engine.fail_next(2);
    decide(
        &app,
        Role::Analyst,
        "ana",
        format!("/v1/incidents/{noise}/dismiss"),
        json!({"note": "travelling"}),
    )
    .await;
    let dismissed = engine.wait_for_accepted(&noise).await;
    app.settle().await;

    for (attempts, incident, account, alert, disposition) in [
        (&resolved, &takeover, "acct-1", "re-1", "confirmed_takeover"),
        (&dismissed, &noise, "acct-2", "re-2", "dismissed"),
    ] {
        assert_eq!(attempts.len(), 3, "two failures, then one delivery: {attempts:?}");
        assert_eq!(attempts.iter().filter(|a| !a.failed).count(), 1);
        assert!(
            attempts.iter().all(|a| a.signature_valid),
            "signed with the feedback key"
        );
        let keys: BTreeSet<&str> = attempts
            .iter()
            .map(|a| a.body["idempotency_key"].as_str().unwrap())
            .collect();
        assert_eq!(keys.len(), 1, "every retry carries the same key: {keys:?}");
        assert!(
            attempts.iter().all(|a| a.body == attempts[0].body),
            "the same body every time"
        );
        let body = &attempts[0].body;
        assert_eq!(body["incident_id"], incident.as_str());
        assert_eq!(body["account_id"], account);
        assert_eq!(body["alert_ids"], json!([alert]));
        assert_eq!(body["disposition"], disposition);
        assert_eq!(body["holder_said"], Value::Null);
        assert!(!body["rules_fired"].as_array().unwrap().is_empty(), "{body}");
        assert!(body["resolved_at"].as_str().unwrap().ends_with('Z'), "{body}");
    }
    assert_eq!(
        engine.received().iter().filter(|f| !f.failed).count(),
        2,
        "exactly one disposition per incident"
    );
    assert!(
        app.exchange
            .received()
            .iter()
            .all(|r| r.body.get("disposition").is_none()),
        "dispositions never go to the exchange"
    );
}

async fn a_holders_answer_not_mine_reaches_the_risk_engine(backend: Backend) {
    let (app, engine) = app_with_risk_engine(backend).await;
    app.exchange.set_second_factor(Some("246810"));
    let token = frozen_flow(&app, p1_withdrawal("re-1", "acct-1"), "acct-1").await;
    verify_holder(&app, &token, "acct-1").await;
    let review = app.flow_status(&token).await;
    let answered = app.flow_post(&token, "activity", answers_all(&review, false)).await;
    assert_eq!(answered.status(), StatusCode::OK);

    let incident_id = app.holds("acct-1").await["holds"][0]["incident_id"]
        .as_str()
        .unwrap()
        .to_owned();
    decide(
        &app,
        Role::Lead,
        "lee",
        format!("/v1/incidents/{incident_id}/resolve"),
        json!({"resolution": "confirmed_takeover"}),
    )
    .await;

    let attempts = engine.wait_for_accepted(&incident_id).await;
    assert_eq!(attempts[0].body["holder_said"], "not_mine");
}

async fn not_me_through_a_case_link_reaches_the_risk_engine_as_not_mine(backend: Backend) {
    let (app, engine) = app_with_risk_engine(backend).await;
    let incident_id = app.ingest_incident(&p3_login("re-1", "acct-1")).await;
    app.contain_as_analyst("acct-1").await;
    let token = notice_token(&app, "acct-1").await;

    let said = app.case_post(&token, "not-me", json!({})).await;
    assert_eq!(said.status(), StatusCode::OK);
    decide(
        &app,
        Role::Lead,
        "lee",
        format!("/v1/incidents/{incident_id}/resolve"),
        json!({"resolution": "confirmed_takeover"}),
    )
    .await;

    let attempts = engine.wait_for_accepted(&incident_id).await;
    assert_eq!(attempts[0].body["holder_said"], "not_mine");
}

async fn a_verified_holder_who_says_every_activity_was_theirs_counts_as_mine(backend: Backend) {
    let (app, _engine) = app_with_risk_engine(backend).await;
    app.exchange.set_second_factor(Some("246810"));
    let token = frozen_flow(&app, p3_login("re-1", "acct-1"), "acct-1").await;
    verify_holder(&app, &token, "acct-1").await;
    let review = app.flow_status(&token).await;

    let answered = app.flow_post(&token, "activity", answers_all(&review, true)).await;

    assert_eq!(answered.status(), StatusCode::OK);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM incidents WHERE account_id = 'acct-1' AND holder_said = 'mine'")
            .await,
        1
    );
}

async fn nothing_is_queued_for_the_risk_engine_without_its_url(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.ingest_incident(&p3_login("re-1", "acct-1")).await;

    decide(
        &app,
        Role::Analyst,
        "ana",
        format!("/v1/incidents/{id}/dismiss"),
        json!({}),
    )
    .await;

    app.settle().await;
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM {MESSAGES} WHERE destination = 'risk_feedback'"
            ))
            .await,
        0
    );
}
