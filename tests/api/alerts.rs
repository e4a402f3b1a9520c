use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, assert_problem, on_both_backends, p1_withdrawal, p3_login, p4_withdrawal, spawn_app};

on_both_backends!(
    a_new_alert_is_answered_201_with_its_incident,
    a_repeated_alert_id_is_answered_200_with_the_same_incident_and_no_new_one,
    fifty_concurrent_retries_of_one_alert_store_it_exactly_once,
    fifty_concurrent_alerts_of_one_account_end_in_one_open_incident,
    the_four_priority_examples_of_the_spec_hold,
    a_takeover_login_then_a_withdrawal_raises_the_incident_to_p1,
    priority_never_falls_when_a_milder_alert_arrives,
    alerts_of_different_accounts_open_different_incidents,
    malformed_json_is_a_400_problem,
    an_invalid_alert_is_a_422_naming_every_bad_field,
    an_unknown_kind_is_a_422,
    unsigned_or_badly_signed_alerts_are_refused_with_401,
    a_body_over_64_kib_is_refused_with_413,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alert_dated_more_than_a_day_ahead_is_a_422_naming_occurred_at() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut alert = p3_login("re-1", "acct-1");
    let ahead = app.clock.now().plus(std::time::Duration::from_secs(25 * 60 * 60));
    alert["occurred_at"] = json!(ahead.to_rfc3339());

    let response = app.post_alert(&alert).await;

    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["occurred_at"]);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM alerts").await, 0);
}

async fn a_new_alert_is_answered_201_with_its_incident(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app.post_alert(&p3_login("re-1", "acct-1")).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["alert_id"], "re-1");
    assert_eq!(body["priority"], "P3");
    assert_eq!(body["incident_status"], "open");
    assert_eq!(body["duplicate"], false);
    assert!(body["incident_id"].as_str().is_some_and(|id| !id.is_empty()));
}

async fn a_repeated_alert_id_is_answered_200_with_the_same_incident_and_no_new_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.ingest(&p3_login("re-1", "acct-1")).await;

    let response = app.post_alert(&p3_login("re-1", "acct-1")).await;

    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["incident_id"], first["incident_id"]);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM alerts").await, 1);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM incidents").await, 1);
    let received = app
        .db
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'alert.received'")
        .await;
    assert_eq!(received, 1, "a duplicate has no side effect");
}

async fn fifty_concurrent_retries_of_one_alert_store_it_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let alert = p1_withdrawal("re-retried", "acct-1");

    let responses = futures_util::future::join_all((0..50).map(|_| app.post_alert(&alert))).await;

    let mut created = 0;
    let mut incidents = std::collections::HashSet::new();
    for response in responses {
        match response.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("unexpected status {other}"),
        }
        let body: Value = response.json().await.unwrap();
        incidents.insert(body["incident_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(created, 1, "exactly one of the retries creates the alert");
    assert_eq!(incidents.len(), 1);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM alerts").await, 1);
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM holds").await,
        2,
        "containment happened once"
    );
}

async fn fifty_concurrent_alerts_of_one_account_end_in_one_open_incident(backend: Backend) {
    let app = spawn_app(backend).await;

    let alerts: Vec<Value> = (0..50).map(|i| p3_login(&format!("re-{i}"), "acct-busy")).collect();
    let responses = futures_util::future::join_all(alerts.iter().map(|alert| app.post_alert(alert))).await;

    let mut incidents = std::collections::HashSet::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        incidents.insert(body["incident_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(incidents.len(), 1, "all alerts joined one incident");
    assert_eq!(app.db.count("SELECT COUNT(*) FROM incidents").await, 1);
    let incident_id = incidents.into_iter().next().unwrap();
    assert_eq!(
        app.state
            .db()
            .incident_alerts(&holdfast::domain::ids::IncidentId::from(incident_id.as_str()))
            .await
            .unwrap()
            .len(),
        50
    );
}

async fn the_four_priority_examples_of_the_spec_hold(backend: Backend) {
    let app = spawn_app(backend).await;

    let p1 = app.ingest(&p1_withdrawal("a", "acct-a")).await;
    let p3 = app.ingest(&p3_login("b", "acct-b")).await;
    let p4 = app.ingest(&p4_withdrawal("c", "acct-c")).await;

    assert_eq!(p1["priority"], "P1");
    assert_eq!(p1["incident_status"], "contained");
    assert_eq!(p3["priority"], "P3");
    assert_eq!(p4["priority"], "P4");
}

async fn a_takeover_login_then_a_withdrawal_raises_the_incident_to_p1(backend: Backend) {
    let app = spawn_app(backend).await;
    let login = json!({
        "alert_id": "l-1", "kind": "suspicious_login", "account_id": "acct-t", "occurred_at": "2026-11-23T04:00:00Z",
        "login": {"impossible_travel": true, "failed_mfa_attempts": 3}
    });
    let withdrawal = json!({
        "alert_id": "w-1", "kind": "large_withdrawal", "account_id": "acct-t", "occurred_at": "2026-11-23T09:30:00Z",
        "withdrawal": {"usd_value": "20000", "new_destination": true}
    });

    let first = app.ingest(&login).await;
    let second = app.ingest(&withdrawal).await;

    assert_ne!(first["priority"], "P1");
    assert_eq!(second["incident_id"], first["incident_id"]);
    assert_eq!(second["priority"], "P1");
    assert_eq!(second["incident_status"], "contained");
    let holds = app.holds("acct-t").await;
    assert_eq!(holds["frozen"], true);
    let incident = app
        .state
        .db()
        .incident(&first["incident_id"].as_str().unwrap().into())
        .await
        .unwrap()
        .unwrap();
    assert!(
        incident
            .priority_reasons
            .iter()
            .any(|r| r.rule == "cash_out_after_takeover_signs")
    );
}

async fn priority_never_falls_when_a_milder_alert_arrives(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("big", "acct-p")).await;

    let after = app.ingest(&p4_withdrawal("small", "acct-p")).await;

    assert_eq!(after["priority"], "P1");
}

async fn alerts_of_different_accounts_open_different_incidents(backend: Backend) {
    let app = spawn_app(backend).await;

    let one = app.ingest(&p3_login("x", "acct-x")).await;
    let two = app.ingest(&p3_login("y", "acct-y")).await;

    assert_ne!(one["incident_id"], two["incident_id"]);
}

async fn malformed_json_is_a_400_problem(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app.signed(Method::POST, "/v1/alerts", b"{\"alert_id\": ").await;

    assert_problem(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(app.db.count("SELECT COUNT(*) FROM alerts").await, 0);
}

async fn an_invalid_alert_is_a_422_naming_every_bad_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let alert = json!({
        "alert_id": "re-1", "kind": "large_withdrawal", "occurred_at": "not a time", "risk_score": 7,
        "withdrawal": {"usd_value": "lots", "new_destination": "yes"}
    });

    let response = app.post_alert(&alert).await;

    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "account_id",
            "occurred_at",
            "risk_score",
            "withdrawal.usd_value",
            "withdrawal.new_destination"
        ]
    );
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty()))
    );
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM alerts").await,
        0,
        "nothing half-written"
    );
}

async fn an_unknown_kind_is_a_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut alert = p3_login("re-1", "acct-1");
    alert["kind"] = json!("password_spray");

    let problem = assert_problem(app.post_alert(&alert).await, StatusCode::UNPROCESSABLE_ENTITY).await;

    assert_eq!(problem["errors"][0]["field"], "kind");
}

async fn unsigned_or_badly_signed_alerts_are_refused_with_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = p3_login("re-1", "acct-1").to_string();
    let now = app.clock.now();
    let headers = app.ingest_key.headers(now, body.as_bytes());
    let send = |key_id: &str, timestamp: String, signature: String, body: String| {
        app.client
            .post(app.url("/v1/alerts"))
            .header("x-holdfast-key-id", key_id)
            .header("x-holdfast-timestamp", timestamp)
            .header("x-holdfast-signature", signature)
            .body(body)
            .send()
    };

    let unsigned = app
        .client
        .post(app.url("/v1/alerts"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let unknown_key = send("someone", headers[1].1.clone(), headers[2].1.clone(), body.clone())
        .await
        .unwrap();
    let tampered = send(
        "risk-engine",
        headers[1].1.clone(),
        headers[2].1.clone(),
        body.replace("acct-1", "acct-2"),
    )
    .await
    .unwrap();
    let old = now.minus(std::time::Duration::from_secs(301)).unix_seconds();
    let stale = send(
        "risk-engine",
        old.to_string(),
        app.ingest_key.sign(old, body.as_bytes()),
        body.clone(),
    )
    .await
    .unwrap();

    for response in [unsigned, unknown_key, tampered, stale] {
        assert_problem(response, StatusCode::UNAUTHORIZED).await;
    }
    assert_eq!(app.db.count("SELECT COUNT(*) FROM alerts").await, 0);
}

async fn a_body_over_64_kib_is_refused_with_413(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut alert = p3_login("re-1", "acct-1");
    alert["padding"] = json!("x".repeat(70 * 1024));

    let response = app.post_alert(&alert).await;

    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
}
