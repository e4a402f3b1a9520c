//! The account holder's unfreeze flow, through the API.

use std::time::{Duration, Instant};

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fake_exchange::Received;
use crate::helpers::{
    Backend, MESSAGES, TestApp, assert_problem, on_both_backends, p1_withdrawal, p3_login, spawn_app, spawn_app_on,
};

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
    a_stranger_cannot_disturb_the_holders_flow,
    a_locked_flow_keeps_the_account_from_a_new_one_for_an_hour,
    past_twenty_wrong_answers_in_a_day_the_account_goes_to_the_agents,
    the_holder_is_told_unfrozen_only_once_the_freeze_is_lifted,
    a_failed_automatic_unfreeze_never_says_unfrozen_and_goes_to_the_agents,
    a_rise_to_p1_during_an_automatic_unfreeze_stops_the_lift,
    an_agents_lift_waits_for_the_approvals_a_risen_priority_needs,
    a_code_sent_before_a_master_key_rotation_still_verifies,
    every_activity_must_be_answered_exactly_once,
    codes_and_tokens_are_not_kept_in_the_clear,
    every_state_change_notifies_the_holder,
);

/// Freezes `account` with an alert and opens a flow; returns the flow token.
pub(crate) async fn frozen_flow(app: &TestApp, alert: Value, account: &str) -> String {
    app.ingest(&alert).await;
    if app.holds(account).await["frozen"] == false {
        // A P3 alert does not freeze: contain it as an analyst would.
        app.contain_as_analyst(account).await;
    }
    assert_eq!(app.request_unfreeze(account).await.status(), StatusCode::ACCEPTED);
    app.unfreeze_token(account).await
}

/// Passes the code and the second factor.
pub(crate) async fn verify_holder(app: &TestApp, token: &str, account: &str) {
    let code = app.unfreeze_code(account).await;
    let after_code = app.flow_post(token, "code", json!({"code": code})).await;
    assert_eq!(after_code.status(), StatusCode::OK);
    if app.flow_status(token).await["state"] == "awaiting_second_factor" {
        let response = app.flow_post(token, "second-factor", json!({"code": "246810"})).await;
        assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    }
}

pub(crate) fn answers_all(status: &Value, mine: bool) -> Value {
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

    for handled in 1..=7 {
        assert_eq!(
            app.request_unfreeze("acct-x").await.status(),
            StatusCode::ACCEPTED,
            "always 202"
        );
        // Wait until the request was handled, then let the link fall due
        // again: only the account's limit holds the later ones back.
        crate::helpers::eventually("the link request to be handled", Duration::from_secs(15), || async {
            let outcomes = app
                .db
                .count(
                    "SELECT COUNT(*) FROM audit_log WHERE account_id = 'acct-x' AND action IN
                     ('unfreeze.requested', 'unfreeze.link_resent', 'unfreeze.link_withheld')",
                )
                .await;
            (outcomes == handled).then_some(())
        })
        .await;
        app.clock.advance(Duration::from_secs(61));
    }
    assert_eq!(app.request_unfreeze("acct-y").await.status(), StatusCode::ACCEPTED);

    app.exchange.wait_for_notification("acct-y", "unfreeze_link").await;
    app.exchange
        .wait_for("five links for acct-x", |_| (links("acct-x") >= 5).then_some(()))
        .await;
    app.settle().await;
    assert_eq!(links("acct-x"), 5, "requests past the account's limit send nothing");
}

/// The tokens of every link sent to `account`'s holder, oldest first.
fn links_sent(app: &TestApp, account: &str) -> Vec<String> {
    app.exchange
        .received()
        .iter()
        .filter(|r| r.field("template") == "unfreeze_link" && r.field("account_id") == account)
        .map(|r| r.body["data"]["flow_token"].as_str().unwrap().to_owned())
        .collect()
}

fn codes_sent(app: &TestApp, account: &str) -> usize {
    app.exchange
        .received()
        .iter()
        .filter(|r| r.field("template") == "unfreeze_code" && r.field("account_id") == account)
        .count()
}

async fn a_stranger_cannot_disturb_the_holders_flow(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(None);
    let token = frozen_flow(&app, p1_withdrawal("re-1", "acct-two"), "acct-two").await;
    let code = app.unfreeze_code("acct-two").await;

    assert_eq!(app.request_unfreeze("acct-two").await.status(), StatusCode::ACCEPTED);
    // The work behind each request, run to its end so nothing is still in flight.
    let account = holdfast::domain::ids::AccountId::parse("acct-two").unwrap();
    for _ in 0..10 {
        holdfast::unfreeze::link::open_flow(&app.state, &account).await.unwrap();
    }
    app.settle().await;
    assert_eq!(links_sent(&app, "acct-two").len(), 1, "no new link within a minute");
    assert_eq!(codes_sent(&app, "acct-two"), 1, "no new code, ever");

    app.clock.advance(Duration::from_secs(61));
    app.request_unfreeze("acct-two").await;
    let again = app
        .exchange
        .wait_for("the link sent again", |_| {
            let links = links_sent(&app, "acct-two");
            (links.len() == 2).then(|| links[1].clone())
        })
        .await;

    assert_eq!(again, token, "the same link, not a new one");
    assert_eq!(app.flow_status(&token).await["state"], "awaiting_code");
    let accepted = app.flow_post(&token, "code", json!({"code": code})).await;
    assert_eq!(accepted.status(), StatusCode::OK, "the holder's code still works");
    app.settle().await;
    assert_eq!(codes_sent(&app, "acct-two"), 1);
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM unfreeze_flows").await,
        1,
        "one live flow per account"
    );
}

async fn a_locked_flow_keeps_the_account_from_a_new_one_for_an_hour(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = frozen_flow(&app, p1_withdrawal("re-1", "acct-blk"), "acct-blk").await;
    lock_with_wrong_codes(&app, &token, "acct-blk").await;

    app.request_unfreeze("acct-blk").await;
    app.clock.advance(Duration::from_secs(59 * 60));
    app.request_unfreeze("acct-blk").await;
    app.settle().await;
    assert_eq!(links_sent(&app, "acct-blk").len(), 1, "no new flow within the hour");

    app.clock.advance(Duration::from_secs(61));
    app.request_unfreeze("acct-blk").await;
    let fresh = app
        .exchange
        .wait_for("a new flow's link", |_| {
            let links = links_sent(&app, "acct-blk");
            (links.len() == 2).then(|| links[1].clone())
        })
        .await;
    assert_ne!(fresh, token);
    assert_eq!(app.flow_status(&fresh).await["state"], "awaiting_code");
}

/// Enters five wrong codes: the flow locks.
async fn lock_with_wrong_codes(app: &TestApp, token: &str, account: &str) {
    let code = app.unfreeze_code(account).await;
    let wrong = if code == "123456" { "654321" } else { "123456" };
    for _ in 0..5 {
        app.flow_post(token, "code", json!({"code": wrong})).await;
    }
    assert_eq!(app.flow_status(token).await["state"], "locked");
}

async fn past_twenty_wrong_answers_in_a_day_the_account_goes_to_the_agents(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(None);
    let token = frozen_flow(&app, p3_login("re-1", "acct-guess"), "acct-guess").await;
    lock_with_wrong_codes(&app, &token, "acct-guess").await;
    for round in 2..=4 {
        app.clock.advance(Duration::from_secs(3601));
        app.request_unfreeze("acct-guess").await;
        let next = app
            .exchange
            .wait_for("the next flow's link", |_| {
                let links = links_sent(&app, "acct-guess");
                (links.len() == round).then(|| links[round - 1].clone())
            })
            .await;
        lock_with_wrong_codes(&app, &next, "acct-guess").await;
    }
    app.clock.advance(Duration::from_secs(3601));
    app.request_unfreeze("acct-guess").await;
    let last = app
        .exchange
        .wait_for("the fifth flow's link", |_| {
            let links = links_sent(&app, "acct-guess");
            (links.len() == 5).then(|| links[4].clone())
        })
        .await;
    let code = app
        .exchange
        .wait_for("the fifth flow's code", |received| {
            let codes: Vec<&Received> = received
                .iter()
                .filter(|r| r.field("template") == "unfreeze_code" && r.field("account_id") == "acct-guess")
                .collect();
            (codes.len() == 5).then(|| codes[4].body["data"]["code"].as_str().unwrap().to_owned())
        })
        .await;
    let wrong = if code == "123456" { "654321" } else { "123456" };
    app.flow_post(&last, "code", json!({"code": wrong})).await;
    app.flow_post(&last, "code", json!({"code": code})).await;
    let review = app.flow_status(&last).await;
    assert_eq!(review["state"], "awaiting_activity_review");

    let answered = app
        .flow_post(&last, "activity", answers_all(&review, true))
        .await
        .json::<Value>()
        .await
        .unwrap();

    assert_eq!(
        answered["state"], "in_review",
        "21 wrong answers in a day close the automatic route"
    );
    assert_eq!(app.holds("acct-guess").await["frozen"], true);
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
            "SELECT COUNT(*) FROM {MESSAGES} WHERE body LIKE '%{token}%' OR body LIKE '%\"{code}\"%'"
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

/// Verifies the holder of a P3 account up to the activity review; returns the token.
async fn verified_p3_holder(app: &TestApp, account: &str) -> String {
    // Both proofs: the code and the holder's own 2-step code (SPEC §8).
    app.exchange.set_second_factor(Some("246810"));
    let token = frozen_flow(app, p3_login("re-1", account), account).await;
    verify_holder(app, &token, account).await;
    token
}

fn told_unfrozen(app: &TestApp, account: &str) -> bool {
    app.exchange
        .received()
        .iter()
        .any(|r| r.field("template") == "unfreeze_unfrozen" && r.field("account_id") == account)
}

async fn the_holder_is_told_unfrozen_only_once_the_freeze_is_lifted(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = verified_p3_holder(&app, "acct-slow").await;
    let review = app.flow_status(&token).await;
    app.exchange.stall();

    let answering = {
        let (client, url, body) = (
            app.client.clone(),
            app.url(&format!("/v1/unfreeze/{token}/activity")),
            answers_all(&review, true),
        );
        tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap() })
    };
    // Two freezes by the containment, then the cool-off the unfreeze places first.
    app.exchange.wait_for_actions("acct-slow", "place_hold", 3).await;
    let meanwhile = app.flow_status(&token).await;
    assert_eq!(
        meanwhile["state"], "awaiting_activity_review",
        "not unfrozen while the exchange has not confirmed"
    );
    assert_eq!(meanwhile["steps"][3]["done"], false);
    assert!(!told_unfrozen(&app, "acct-slow"));
    assert_eq!(app.holds("acct-slow").await["frozen"], true);
    app.exchange.release();

    let answered = answering.await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(answered["state"], "unfrozen");
    assert_eq!(app.holds("acct-slow").await["frozen"], false);
    app.exchange
        .wait_for_notification("acct-slow", "unfreeze_unfrozen")
        .await;
}

async fn a_failed_automatic_unfreeze_never_says_unfrozen_and_goes_to_the_agents(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = verified_p3_holder(&app, "acct-fail").await;
    let review = app.flow_status(&token).await;
    app.exchange.fail_next(1000);

    app.flow_post(&token, "activity", answers_all(&review, true)).await;

    let status = crate::helpers::eventually("the flow to go to review", Duration::from_secs(15), || async {
        let status = app.flow_status(&token).await;
        (status["state"] == "in_review").then_some(status)
    })
    .await;
    assert_eq!(status["queue_position"], 1);
    app.exchange
        .wait_for_notification("acct-fail", "unfreeze_in_review")
        .await;
    assert!(!told_unfrozen(&app, "acct-fail"), "never told unfrozen");
    assert_eq!(app.holds("acct-fail").await["frozen"], true);
}

async fn a_rise_to_p1_during_an_automatic_unfreeze_stops_the_lift(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = verified_p3_holder(&app, "acct-rise").await;
    let review = app.flow_status(&token).await;
    app.exchange.stall();
    let answering = {
        let (client, url, body) = (
            app.client.clone(),
            app.url(&format!("/v1/unfreeze/{token}/activity")),
            answers_all(&review, true),
        );
        tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap() })
    };
    // Two freezes by the containment, then the cool-off the unfreeze places first.
    app.exchange.wait_for_actions("acct-rise", "place_hold", 3).await;

    let raised = app.ingest(&p1_withdrawal("re-2", "acct-rise")).await;
    assert_eq!(raised["priority"], "P1");
    app.exchange.release();
    let answered = answering.await.unwrap().json::<Value>().await.unwrap();

    assert_eq!(
        answered["state"], "in_review",
        "a P1 needs two agents, not the holder's word"
    );
    app.settle().await;
    assert_eq!(app.holds("acct-rise").await["frozen"], true);
    assert!(!told_unfrozen(&app, "acct-rise"));
    let lifts = app
        .exchange
        .received()
        .iter()
        .filter(|r| r.field("account_id") == "acct-rise" && r.field("action") == "lift_hold")
        .count();
    assert_eq!(lifts, 0, "nothing was lifted");
}

async fn an_agents_lift_waits_for_the_approvals_a_risen_priority_needs(backend: Backend) {
    let app = spawn_app(backend).await;
    let lee = app.agent("lee", Role::Lead).await;
    let max = app.agent("max", Role::Lead).await;
    let token = verified_p3_holder(&app, "acct-4e").await;
    let review = app.flow_status(&token).await;
    app.flow_post(&token, "activity", answers_all(&review, false)).await;
    let incident = app.incident_of(&lee, "acct-4e").await;
    app.exchange.stall();
    let run: Value = app
        .start_run(&lee, &incident, "unfreeze-account")
        .await
        .json()
        .await
        .unwrap();
    let run_id = run["run_id"].as_str().unwrap().to_owned();
    assert_eq!(run["steps"][1]["status"], "succeeded", "a P3 needs no second lead");
    // Two freezes by the containment, then the cool-off the unfreeze places first.
    app.exchange.wait_for_actions("acct-4e", "place_hold", 3).await;

    app.ingest(&p1_withdrawal("re-2", "acct-4e")).await;
    app.exchange.release();

    let waiting = crate::helpers::eventually("the lift to wait for approval", Duration::from_secs(15), || async {
        let run: Value = app
            .get_as(&lee, &format!("/v1/runs/{run_id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (run["steps"][3]["waiting_for"] == "approval").then_some(run)
    })
    .await;
    assert_eq!(waiting["status"], "waiting");
    assert_eq!(app.holds("acct-4e").await["frozen"], true);

    let approved = app
        .post_as(&max, &format!("/v1/runs/{run_id}/approve"))
        .header("x-holdfast-otp", app.fresh_code(&max.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::OK);
    app.wait_for_run(&lee, &run_id, "succeeded").await;
    assert_eq!(app.holds("acct-4e").await["frozen"], false);
    assert_eq!(app.flow_status(&token).await["state"], "unfrozen");
}

async fn a_code_sent_before_a_master_key_rotation_still_verifies(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(None);
    let token = frozen_flow(&app, p1_withdrawal("re-1", "acct-rot"), "acct-rot").await;
    let code = app.unfreeze_code("acct-rot").await;
    let old_key = app.settings["HOLDFAST_MASTER_KEY"].clone();

    let rotated = spawn_app_on(&app, |settings| {
        settings
            .set("HOLDFAST_MASTER_KEY", crate::helpers::random_base64(32))
            .set("HOLDFAST_MASTER_KEY_PREVIOUS", old_key);
    })
    .await;
    let accepted = rotated.flow_post(&token, "code", json!({"code": code})).await;

    assert_eq!(accepted.status(), StatusCode::OK);
    assert_eq!(rotated.flow_status(&token).await["state"], "awaiting_activity_review");
}
