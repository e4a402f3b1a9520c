//! The account holder's unfreeze flow, through the API.

use std::time::{Duration, Instant};

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, on_both_backends, p1_withdrawal, p3_login, spawn_app};

on_both_backends!(
    a_holder_unfreezes_a_low_risk_account_alone_and_keeps_a_withdrawal_cool_off,
    a_holder_without_a_second_factor_skips_that_step,
    a_serious_incident_goes_to_review_and_two_leads_unfreeze_it,
    a_disowned_activity_goes_to_review_and_a_lead_can_reject_with_a_reason,
    five_wrong_codes_lock_the_flow,
    wrong_second_factor_codes_count_down_and_lock,
    a_resend_replaces_the_code_and_codes_expire_after_ten_minutes,
    a_flow_expires_after_a_day,
    every_account_gets_the_same_answer_in_similar_time,
    link_requests_are_limited_per_account,
    a_new_request_replaces_the_link_of_the_live_flow,
    every_activity_must_be_answered_exactly_once,
    codes_and_tokens_are_not_kept_in_the_clear,
    every_state_change_notifies_the_holder,
);

/// Freezes `account` with an alert and opens a flow; returns the flow token.
async fn frozen_flow(app: &TestApp, alert: Value, account: &str) -> String {
    app.ingest(&alert).await;
    if app.holds(account).await["frozen"] == false {
        // A P3 alert does not freeze: contain it as an analyst would.
        app.contain_as_analyst(account).await;
    }
    assert_eq!(app.request_unfreeze(account).await.status(), StatusCode::ACCEPTED);
    app.unfreeze_token(account).await
}

/// Passes the code and the second factor.
async fn verify_holder(app: &TestApp, token: &str, account: &str) {
    let code = app.unfreeze_code(account).await;
    let after_code = app.flow_post(token, "code", json!({"code": code})).await;
    assert_eq!(after_code.status(), StatusCode::OK);
    if app.flow_status(token).await["state"] == "awaiting_second_factor" {
        let response = app.flow_post(token, "second-factor", json!({"code": "246810"})).await;
        assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    }
}

fn answers_all(status: &Value, mine: bool) -> Value {
    let answers: Vec<Value> = status["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!({"alert_id": a["alert_id"], "mine": mine}))
        .collect();
    json!({"answers": answers})
}

async fn a_holder_unfreezes_a_low_risk_account_alone_and_keeps_a_withdrawal_cool_off(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(Some("246810"));
    let token = frozen_flow(&app, p3_login("re-1", "acct-low"), "acct-low").await;

    let start = app.flow_status(&token).await;
    assert_eq!(start["state"], "awaiting_code");
    let steps: Vec<(&str, bool)> = start["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["done"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("code", false),
            ("second_factor", false),
            ("activity_review", false),
            ("unfreeze", false)
        ]
    );
    assert!(start["expires_at"].is_string());
    assert!(start.get("queue_position").is_some() && start.get("estimated_wait_seconds").is_some());
    assert!(
        start["activities"].as_array().unwrap().is_empty(),
        "activities stay hidden until the holder is verified"
    );

    let code = app.unfreeze_code("acct-low").await;
    let wrong = app
        .flow_post(
            &token,
            "code",
            json!({"code": if code == "000000" { "111111" } else { "000000" }}),
        )
        .await;
    let problem = assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["tries_left"], 4);
    let right = app.flow_post(&token, "code", json!({"code": code})).await;
    assert_eq!(right.json::<Value>().await.unwrap()["state"], "awaiting_second_factor");
    let wrong_factor = app.flow_post(&token, "second-factor", json!({"code": "999999"})).await;
    assert_eq!(
        assert_problem(wrong_factor, StatusCode::UNPROCESSABLE_ENTITY).await["tries_left"],
        4
    );
    let factor = app.flow_post(&token, "second-factor", json!({"code": "246810"})).await;
    let review = factor.json::<Value>().await.unwrap();
    assert_eq!(review["state"], "awaiting_activity_review");
    let activity = &review["activities"][0];
    assert_eq!(activity["alert_id"], "re-1");
    assert_eq!(activity["kind"], "suspicious_login");
    assert!(activity["summary"].as_str().unwrap().contains("Brazil"));

    let done = app.flow_post(&token, "activity", answers_all(&review, true)).await;

    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(done.json::<Value>().await.unwrap()["state"], "unfrozen");
    let holds = app.holds("acct-low").await;
    assert_eq!(holds["frozen"], false);
    let remaining = holds["holds"].as_array().unwrap();
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0]["scope"], "withdrawal");
    let expires =
        holdfast::domain::time::Timestamp::parse_rfc3339(remaining[0]["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires.since(app.clock.now()).as_secs().div_ceil(3600), 24);
    app.exchange.wait_for_actions("acct-low", "lift_hold", 2).await;
    app.exchange.wait_for_actions("acct-low", "revoke_sessions", 2).await;
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert_eq!(
        app.holds("acct-low").await["holds"].as_array().unwrap().len(),
        0,
        "the cool-off ends by itself"
    );
}

async fn a_holder_without_a_second_factor_skips_that_step(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(None);
    let token = frozen_flow(&app, p3_login("re-1", "acct-n2f"), "acct-n2f").await;

    let code = app.unfreeze_code("acct-n2f").await;
    let after = app
        .flow_post(&token, "code", json!({"code": code}))
        .await
        .json::<Value>()
        .await
        .unwrap();

    assert_eq!(after["state"], "awaiting_activity_review");
    assert_eq!(after["second_factor_required"], false);
    assert_eq!(after["steps"][1]["done"], true);
}

async fn a_serious_incident_goes_to_review_and_two_leads_unfreeze_it(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(Some("246810"));
    let lee = app.agent("lee", Role::Lead).await;
    let max = app.agent("max", Role::Lead).await;
    let token = frozen_flow(&app, p1_withdrawal("re-1", "acct-p1"), "acct-p1").await;
    verify_holder(&app, &token, "acct-p1").await;
    let review = app.flow_status(&token).await;

    let queued = app
        .flow_post(&token, "activity", answers_all(&review, true))
        .await
        .json::<Value>()
        .await
        .unwrap();

    assert_eq!(queued["state"], "in_review");
    assert_eq!(queued["queue_position"], 1);
    assert!(queued["estimated_wait_seconds"].as_u64().unwrap() >= 60);
    let queue: Value = app
        .get_as(&lee, "/v1/reviews/unfreeze")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let incident_id = queue["reviews"][0]["incident_id"].as_str().unwrap().to_owned();

    let run: Value = app
        .start_run(&lee, &incident_id, "unfreeze-account")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(run["steps"][0]["status"], "succeeded", "the holder is verified");
    assert_eq!(run["steps"][1]["waiting_for"], "approval", "a P1 needs a second lead");
    assert_eq!(app.holds("acct-p1").await["frozen"], true);
    let approved = app
        .post_as(&max, &format!("/v1/runs/{}/approve", run["run_id"].as_str().unwrap()))
        .header("x-holdfast-otp", app.fresh_code(&max.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::OK);

    app.wait_for_run(&lee, run["run_id"].as_str().unwrap(), "succeeded")
        .await;
    assert_eq!(app.holds("acct-p1").await["frozen"], false);
    assert_eq!(app.flow_status(&token).await["state"], "unfrozen");
    app.exchange.wait_for_notification("acct-p1", "unfreeze_unfrozen").await;
}

async fn a_disowned_activity_goes_to_review_and_a_lead_can_reject_with_a_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(None);
    let lead = app.agent("lee", Role::Lead).await;
    let token = frozen_flow(&app, p3_login("re-1", "acct-nm"), "acct-nm").await;
    verify_holder(&app, &token, "acct-nm").await;
    let review = app.flow_status(&token).await;

    let queued = app
        .flow_post(&token, "activity", answers_all(&review, false))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(queued["state"], "in_review");
    let incident = app.incident_of(&lead, "acct-nm").await;
    let rejected = app
        .post_as(&lead, &format!("/v1/incidents/{incident}/unfreeze/reject"))
        .json(&json!({"reason": "The sign-in came from a device used in other takeovers."}))
        .send()
        .await
        .unwrap();

    assert_eq!(rejected.status(), StatusCode::OK);
    let status = app.flow_status(&token).await;
    assert_eq!(status["state"], "rejected");
    assert!(status["decision_reason"].as_str().unwrap().contains("other takeovers"));
    assert!(status["next_steps"].as_str().is_some());
    let notice = app.exchange.wait_for_notification("acct-nm", "unfreeze_rejected").await;
    assert!(
        notice.body["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("other takeovers")
    );
    assert_eq!(app.holds("acct-nm").await["frozen"], true);
}

async fn five_wrong_codes_lock_the_flow(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = frozen_flow(&app, p1_withdrawal("re-1", "acct-lock"), "acct-lock").await;
    let code = app.unfreeze_code("acct-lock").await;
    let wrong = if code == "123456" { "654321" } else { "123456" };

    for tries_left in (1..5).rev() {
        let response = app.flow_post(&token, "code", json!({"code": wrong})).await;
        assert_eq!(
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await["tries_left"],
            tries_left
        );
    }
    let fifth = app.flow_post(&token, "code", json!({"code": wrong})).await;
    let after = app.flow_post(&token, "code", json!({"code": code})).await;

    assert_problem(fifth, StatusCode::TOO_MANY_REQUESTS).await;
    assert_problem(after, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(app.flow_status(&token).await["state"], "locked");
    app.exchange.wait_for_notification("acct-lock", "unfreeze_locked").await;
}

async fn wrong_second_factor_codes_count_down_and_lock(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(Some("246810"));
    let token = frozen_flow(&app, p1_withdrawal("re-1", "acct-2fa"), "acct-2fa").await;
    let code = app.unfreeze_code("acct-2fa").await;
    app.flow_post(&token, "code", json!({"code": code})).await;

    for tries_left in (1..5).rev() {
        let response = app.flow_post(&token, "second-factor", json!({"code": "000000"})).await;
        assert_eq!(
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await["tries_left"],
            tries_left
        );
    }
    let fifth = app.flow_post(&token, "second-factor", json!({"code": "000000"})).await;

    assert_problem(fifth, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(app.flow_status(&token).await["state"], "locked");
}

async fn a_resend_replaces_the_code_and_codes_expire_after_ten_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = frozen_flow(&app, p1_withdrawal("re-1", "acct-rs"), "acct-rs").await;
    let first = app.unfreeze_code("acct-rs").await;

    app.clock.advance(Duration::from_secs(10 * 60));
    let expired = app.flow_post(&token, "code", json!({"code": first})).await;
    assert_eq!(
        assert_problem(expired, StatusCode::UNPROCESSABLE_ENTITY).await["type"],
        "/problems/code-expired"
    );
    let resent = app.flow_post(&token, "code/resend", json!({})).await;
    assert_eq!(resent.status(), StatusCode::OK);
    let second = app
        .exchange
        .wait_for("a second code", |received| {
            let codes: Vec<String> = received
                .iter()
                .filter(|r| r.field("template") == "unfreeze_code" && r.field("account_id") == "acct-rs")
                .map(|r| r.body["data"]["code"].as_str().unwrap().to_owned())
                .collect();
            (codes.len() == 2).then(|| codes[1].clone())
        })
        .await;

    if first != second {
        let old = app.flow_post(&token, "code", json!({"code": first})).await;
        assert_problem(old, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let new = app.flow_post(&token, "code", json!({"code": second})).await;
    assert_eq!(new.status(), StatusCode::OK);
}

async fn a_flow_expires_after_a_day(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = frozen_flow(&app, p1_withdrawal("re-1", "acct-exp"), "acct-exp").await;
    let code = app.unfreeze_code("acct-exp").await;

    app.clock.advance(Duration::from_secs(24 * 3600));

    assert_eq!(app.flow_status(&token).await["state"], "expired");
    let late = app.flow_post(&token, "code", json!({"code": code})).await;
    assert_problem(late, StatusCode::GONE).await;
    holdfast::unfreeze::expiry::expire_overdue(&app.state).await.unwrap();
    app.exchange.wait_for_notification("acct-exp", "unfreeze_expired").await;
}

async fn every_account_gets_the_same_answer_in_similar_time(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("re-1", "acct-frozen")).await;
    app.ingest(&p3_login("re-2", "acct-free")).await;

    let mut bodies = Vec::new();
    let mut medians = Vec::new();
    for account in ["acct-frozen", "acct-free", "acct-nobody"] {
        let mut times = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            let response = app.request_unfreeze(account).await;
            times.push(started.elapsed());
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            bodies.push(response.bytes().await.unwrap());
        }
        times.sort();
        medians.push(times[1]);
    }

    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "byte-identical answers"
    );
    let (fastest, slowest) = (medians.iter().min().unwrap(), medians.iter().max().unwrap());
    assert!(
        slowest.saturating_sub(*fastest) < Duration::from_millis(50),
        "answer times differ: {medians:?}"
    );
    app.exchange.wait_for_notification("acct-frozen", "unfreeze_link").await;
    assert!(
        app.exchange
            .received()
            .iter()
            .all(|r| r.field("account_id") != "acct-free" && r.field("account_id") != "acct-nobody")
    );
}

async fn link_requests_are_limited_per_account(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("re-x", "acct-x")).await;
    app.ingest(&p1_withdrawal("re-y", "acct-y")).await;
    let links = |account: &'static str| {
        let received = app.exchange.received();
        received
            .iter()
            .filter(|r| r.field("template") == "unfreeze_link" && r.field("account_id") == account)
            .count()
    };

    for _ in 0..7 {
        assert_eq!(
            app.request_unfreeze("acct-x").await.status(),
            StatusCode::ACCEPTED,
            "always 202"
        );
    }
    assert_eq!(app.request_unfreeze("acct-y").await.status(), StatusCode::ACCEPTED);

    app.exchange.wait_for_notification("acct-y", "unfreeze_link").await;
    app.exchange
        .wait_for("five links for acct-x", |_| (links("acct-x") >= 5).then_some(()))
        .await;
    app.settle().await;
    assert_eq!(links("acct-x"), 5, "requests past the account's limit send nothing");
}

async fn a_new_request_replaces_the_link_of_the_live_flow(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = frozen_flow(&app, p1_withdrawal("re-1", "acct-two"), "acct-two").await;

    app.request_unfreeze("acct-two").await;
    let second = app
        .exchange
        .wait_for("a second link", |received| {
            let links: Vec<String> = received
                .iter()
                .filter(|r| r.field("template") == "unfreeze_link" && r.field("account_id") == "acct-two")
                .map(|r| r.body["data"]["flow_token"].as_str().unwrap().to_owned())
                .collect();
            (links.len() == 2).then(|| links[1].clone())
        })
        .await;

    assert_ne!(first, second);
    let old = app
        .client
        .get(app.url(&format!("/v1/unfreeze/{first}")))
        .send()
        .await
        .unwrap();
    assert_problem(old, StatusCode::NOT_FOUND).await;
    assert_eq!(app.flow_status(&second).await["state"], "awaiting_code");
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM unfreeze_flows").await,
        1,
        "one live flow per account"
    );
}

async fn every_activity_must_be_answered_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(None);
    app.ingest(&p3_login("re-2", "acct-many")).await;
    let token = frozen_flow(&app, p3_login("re-1", "acct-many"), "acct-many").await;
    verify_holder(&app, &token, "acct-many").await;

    let partial = app
        .flow_post(
            &token,
            "activity",
            json!({"answers": [{"alert_id": "re-1", "mine": true}]}),
        )
        .await;
    let unknown = app
        .flow_post(&token, "activity", json!({"answers": [{"alert_id": "re-1", "mine": true}, {"alert_id": "re-9", "mine": true}, {"alert_id": "re-2", "mine": true}]}))
        .await;
    let malformed = app
        .flow_post(
            &token,
            "activity",
            json!({"answers": [{"alert_id": "re-1", "mine": "yes"}]}),
        )
        .await;

    let problem = assert_problem(partial, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("re-2"));
    assert_eq!(
        assert_problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"],
        "answers[1].alert_id"
    );
    assert_eq!(
        assert_problem(malformed, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"],
        "answers[0].mine"
    );
    assert_eq!(app.flow_status(&token).await["state"], "awaiting_activity_review");
}

async fn codes_and_tokens_are_not_kept_in_the_clear(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = frozen_flow(&app, p1_withdrawal("re-1", "acct-sec"), "acct-sec").await;
    let code = app.unfreeze_code("acct-sec").await;
    app.settle().await;

    let stored = app
        .db
        .count(&format!(
            "SELECT COUNT(*) FROM outbox WHERE body LIKE '%{token}%' OR body LIKE '%\"{code}\"%'"
        ))
        .await;
    let audited = app
        .db
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%{token}%' OR detail LIKE '%{code}%'"
        ))
        .await;

    assert_eq!(stored, 0, "the outbox keeps no token or code once sent");
    assert_eq!(audited, 0, "the audit log never holds them");
    let flow_rows = app
        .db
        .count("SELECT COUNT(*) FROM unfreeze_flows WHERE code_hash IS NOT NULL")
        .await;
    assert_eq!(flow_rows, 1);
}

async fn every_state_change_notifies_the_holder(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(Some("246810"));
    let token = frozen_flow(&app, p3_login("re-1", "acct-n"), "acct-n").await;
    verify_holder(&app, &token, "acct-n").await;
    let review = app.flow_status(&token).await;
    app.flow_post(&token, "activity", answers_all(&review, true)).await;

    for template in [
        "unfreeze_link",
        "unfreeze_code",
        "unfreeze_code_accepted",
        "unfreeze_identity_verified",
        "unfreeze_unfrozen",
    ] {
        let notice = app.exchange.wait_for_notification("acct-n", template).await;
        assert!(notice.signature_valid, "{template} is signed");
    }
}
