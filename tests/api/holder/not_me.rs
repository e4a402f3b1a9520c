//! "This was not me" and "this was me" through a case link.

use std::time::Duration;

use holdfast::domain::agent::Role;
use holdfast::domain::ids::AccountId;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, MESSAGES, eventually, on_both_backends, p1_withdrawal, p3_login, spawn_app, spawn_app_on,
};
use crate::holder::{EVERY_SCOPE, notice_token, sent};

on_both_backends!(
    not_me_freezes_every_scope_raises_to_p1_and_contains_before_it_answers,
    not_me_twice_changes_nothing_and_after_a_lift_freezes_again,
    not_me_rejects_the_live_unfreeze_flow,
    not_me_stops_an_unfreeze_in_progress_and_contains_a_recovering_incident_again,
    not_me_on_an_ended_incident_opens_a_holder_report_incident,
    was_me_lifts_nothing_and_sends_the_unfreeze_link_to_the_registered_contact
);

async fn not_me_freezes_every_scope_raises_to_p1_and_contains_before_it_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p3_login("re-1", "acct-m1")).await;
    app.contain_as_analyst("acct-m1").await;
    let token = notice_token(&app, "acct-m1").await;
    assert_eq!(app.held_scopes("acct-m1").await, ["login", "withdrawal"]);

    let response = app.case_post(&token, "not-me", json!({})).await;

    assert_eq!(response.status(), StatusCode::OK);
    let case: Value = response.json().await.unwrap();
    assert_eq!(case["state"], "frozen_to_protect_you");
    assert_eq!(
        app.held_scopes("acct-m1").await,
        EVERY_SCOPE,
        "frozen before the answer"
    );
    let lead = app.agent("lead", Role::Lead).await;
    let id = app.incident_of(&lead, "acct-m1").await;
    let incident = app.incident(&lead, &id).await;
    assert_eq!(incident["priority"], "P1");
    assert_eq!(incident["status"], "contained");
    assert!(
        incident["priority_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "holder_reported"),
        "{incident}"
    );
    for action in ["cancel_pending_withdrawals", "revoke_sessions", "revoke_api_keys"] {
        app.exchange.wait_for_actions("acct-m1", action, 1).await;
    }
}

async fn not_me_twice_changes_nothing_and_after_a_lift_freezes_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let incident = app.ingest_incident(&p1_withdrawal("re-1", "acct-m2")).await;
    let token = notice_token(&app, "acct-m2").await;
    assert_eq!(
        app.case_post(&token, "not-me", json!({})).await.status(),
        StatusCode::OK
    );
    app.settle().await;
    let holds = app.db.count("SELECT COUNT(*) FROM holds").await;
    let messages = app.db.count(&format!("SELECT COUNT(*) FROM {MESSAGES}")).await;

    assert_eq!(
        app.case_post(&token, "not-me", json!({})).await.status(),
        StatusCode::OK
    );

    assert_eq!(app.db.count("SELECT COUNT(*) FROM holds").await, holds, "no new hold");
    assert_eq!(
        app.db.count(&format!("SELECT COUNT(*) FROM {MESSAGES}")).await,
        messages,
        "nothing new sent"
    );
    app.db
        .execute(&format!("UPDATE holds SET lifted_at = placed_at, lifted_by = 'test' WHERE incident_id = '{incident}' AND scope = 'trading'"))
        .await
        .unwrap();
    // The lift went around Holdfast: tell every cache, as a lift would.
    app.state.holds_changed(&[AccountId::parse("acct-m2").unwrap()]).await;
    assert_eq!(
        app.case_post(&token, "not-me", json!({})).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.held_scopes("acct-m2").await,
        EVERY_SCOPE,
        "frozen again after a lift"
    );
}

async fn not_me_rejects_the_live_unfreeze_flow(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p3_login("re-1", "acct-m3")).await;
    app.contain_as_analyst("acct-m3").await;
    let token = notice_token(&app, "acct-m3").await;
    app.request_unfreeze("acct-m3").await;
    let flow = app.unfreeze_token("acct-m3").await;
    assert_eq!(app.flow_status(&flow).await["state"], "awaiting_code");

    assert_eq!(
        app.case_post(&token, "not-me", json!({})).await.status(),
        StatusCode::OK
    );

    assert_eq!(app.flow_status(&flow).await["state"], "rejected");
    let written = app
        .case_post(&token, "messages", json!({"body": "It was not me, please help"}))
        .await;
    assert_eq!(
        written.status(),
        StatusCode::CREATED,
        "the holder's own not-me does not end the case"
    );
    assert_eq!(app.case_json(&token).await["satisfaction"]["asked"], false);
}

async fn not_me_stops_an_unfreeze_in_progress_and_contains_a_recovering_incident_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let incident = app.ingest_incident(&p1_withdrawal("re-1", "acct-m8")).await;
    let token = notice_token(&app, "acct-m8").await;
    let lead = app.agent("lead", Role::Lead).await;
    let started = app.start_run(&lead, &incident, "unfreeze-account").await;
    assert_eq!(started.status(), StatusCode::CREATED);
    let run: Value = started.json().await.unwrap();
    let run_id = run["run_id"].as_str().unwrap().to_owned();
    assert_eq!(app.incident(&lead, &incident).await["status"], "recovering");

    assert_eq!(
        app.case_post(&token, "not-me", json!({})).await.status(),
        StatusCode::OK
    );

    assert_eq!(app.incident(&lead, &incident).await["status"], "contained");
    let run: Value = app
        .get_as(&lead, &format!("/v1/runs/{run_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        run["status"], "failed",
        "the unfinished unfreeze run is cancelled: {run}"
    );
    assert_eq!(app.held_scopes("acct-m8").await, EVERY_SCOPE);
}

async fn not_me_on_an_ended_incident_opens_a_holder_report_incident(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.ingest_incident(&p1_withdrawal("re-1", "acct-m4")).await;
    let token = notice_token(&app, "acct-m4").await;
    let lead = app.agent("lead", Role::Lead).await;
    let resolved = app
        .post_as(&lead, &format!("/v1/incidents/{first}/resolve"))
        .json(&json!({"resolution": "false_positive", "note": "it was the holder"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), StatusCode::OK);
    app.db
        .execute("UPDATE holds SET lifted_at = placed_at, lifted_by = 'test'")
        .await
        .unwrap();
    app.state.holds_changed(&[AccountId::parse("acct-m4").unwrap()]).await;

    let response = app.case_post(&token, "not-me", json!({})).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.held_scopes("acct-m4").await, EVERY_SCOPE);
    let live = |condition: &str| {
        format!("SELECT COUNT(*) FROM incidents WHERE account_id = 'acct-m4' AND id <> '{first}' AND {condition}")
    };
    assert_eq!(
        app.db.count(&live("status = 'contained' AND priority = 'P1'")).await,
        1,
        "a new incident, contained"
    );
    let reported = app
        .db
        .count(&format!(
            "SELECT COUNT(*) FROM holder_cases WHERE account_id = 'acct-m4' AND incident_id <> '{first}' AND opened_by_report"
        ))
        .await;
    assert_eq!(reported, 1, "a holder_report incident");
}

async fn was_me_lifts_nothing_and_sends_the_unfreeze_link_to_the_registered_contact(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("re-1", "acct-m5")).await;
    let token = notice_token(&app, "acct-m5").await;
    let before = app.held_scopes("acct-m5").await;

    let response = app.case_post(&token, "was-me", json!({})).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("flow_token") && !body.contains("/unfreeze/"),
        "the link never in the answer"
    );
    let link = app.exchange.wait_for_notification("acct-m5", "unfreeze_link").await;
    assert!(link.body["data"]["flow_token"].is_string());
    assert_eq!(app.held_scopes("acct-m5").await, before, "nothing lifted");
    let lead = app.agent("lead", Role::Lead).await;
    let id = app.incident_of(&lead, "acct-m5").await;
    assert_eq!(app.incident(&lead, &id).await["priority"], "P1", "never lowered");
    let console = app.console("lead-console", Role::Lead).await;
    let page = console.page(&format!("/console/incidents/{id}")).await;
    assert!(page.contains("was_me"), "shown to the agents");
    assert!(page.contains("risk_notice"), "how the case link was issued");
    let said = app
        .db
        .count(&format!(
            "SELECT COUNT(*) FROM holder_cases WHERE incident_id = '{id}' AND holder_answer = 'was_me'"
        ))
        .await;
    assert_eq!(said, 1, "recorded for the agents");
    assert!(sent(&app, "acct-m5", "risk_notice").len() == 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_redis_another_instance_sees_not_me_at_once() {
    another_instance_sees_not_me_within_a_second(Backend::PostgresWithRedis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_redis_another_instance_sees_not_me_within_a_second() {
    another_instance_sees_not_me_within_a_second(Backend::Postgres).await;
}

async fn another_instance_sees_not_me_within_a_second(backend: Backend) {
    let a = spawn_app(backend).await;
    let b = spawn_app_on(&a, |_| {}).await;
    a.ingest(&p1_withdrawal("re-1", "acct-m6")).await;
    let token = notice_token(&a, "acct-m6").await;
    eventually("b to see the first freeze", Duration::from_secs(1), || async {
        (b.held_scopes("acct-m6").await == ["login", "withdrawal"]).then_some(())
    })
    .await;

    assert_eq!(a.case_post(&token, "not-me", json!({})).await.status(), StatusCode::OK);

    eventually("b to see every scope", Duration::from_secs(1), || async {
        (b.held_scopes("acct-m6").await == EVERY_SCOPE).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_not_me_link_shows_one_button_and_changes_nothing_until_it_is_pressed() {
    let app = spawn_app(Backend::Sqlite).await;
    app.ingest(&p1_withdrawal("re-1", "acct-m7")).await;
    let token = notice_token(&app, "acct-m7").await;

    let page = app
        .client
        .get(app.url(&format!("/holder/cases/{token}/not-me")))
        .send()
        .await
        .unwrap();

    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert_eq!(html.matches("<button").count(), 1, "{html}");
    assert_eq!(
        app.held_scopes("acct-m7").await,
        ["login", "withdrawal"],
        "showing the page froze nothing"
    );
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let forged = app
        .client
        .post(app.url(&format!("/holder/cases/{token}/not-me")))
        .header("origin", &app.address)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no cookie, no change");

    let pressed = app
        .client
        .post(app.url(&format!("/holder/cases/{token}/not-me")))
        .header("origin", &app.address)
        .header("cookie", cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();

    assert_eq!(pressed.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.held_scopes("acct-m7").await, EVERY_SCOPE);
}
