//! Two proofs before an automatic lift, and a way back after every lift
//! (SPEC §8 as §13 changed it).

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, on_both_backends, p3_login, spawn_app};
use crate::holder::{EVERY_SCOPE, case_token, sent};
use crate::unfreeze::{answers_all, frozen_flow, verify_holder};

on_both_backends!(
    without_a_second_factor_a_verified_holder_waits_for_an_agent_who_sees_why,
    every_lift_sends_one_unfrozen_notice_with_a_way_back_and_no_risk_notice,
);

async fn without_a_second_factor_a_verified_holder_waits_for_an_agent_who_sees_why(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(None);
    let token = frozen_flow(&app, p3_login("re-1", "acct-p1"), "acct-p1").await;
    verify_holder(&app, &token, "acct-p1").await;
    let status = app.flow_status(&token).await;
    assert_eq!(status["state"], "awaiting_activity_review");

    let answered = app.flow_post(&token, "activity", answers_all(&status, true)).await;

    assert_eq!(answered.status(), StatusCode::OK);
    assert_eq!(
        answered.json::<Value>().await.unwrap()["state"],
        "in_review",
        "never automatic on one proof"
    );
    assert_eq!(app.holds("acct-p1").await["frozen"], true);
    let lead = app.agent("lead", Role::Lead).await;
    let reviews: Value = app
        .get_as(&lead, "/v1/reviews/unfreeze")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reviews["reviews"][0]["review_reasons"], json!(["no_second_factor"]));
    let console = app.console("lead-console", Role::Lead).await;
    let page = console.page("/console/reviews").await;
    assert!(page.contains("no 2-step method"), "the reason is shown to the agents");
}

async fn every_lift_sends_one_unfrozen_notice_with_a_way_back_and_no_risk_notice(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(Some("246810"));
    let token = frozen_flow(&app, p3_login("re-1", "acct-p2"), "acct-p2").await;
    verify_holder(&app, &token, "acct-p2").await;
    let status = app.flow_status(&token).await;

    let done = app.flow_post(&token, "activity", answers_all(&status, true)).await;

    assert_eq!(done.json::<Value>().await.unwrap()["state"], "unfrozen");
    app.settle().await;
    let unfrozen = sent(&app, "acct-p2", "unfreeze_unfrozen");
    assert_eq!(unfrozen.len(), 1, "exactly one");
    let data = &unfrozen[0].body["data"];
    let case = case_token(&unfrozen[0]);
    assert!(
        data["not_me_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/holder/cases/{case}/not-me"))
    );
    assert_eq!(
        sent(&app, "acct-p2", "risk_notice").len(),
        1,
        "the cool-off and the lift send none"
    );
    assert_eq!(app.holds("acct-p2").await["frozen"], false);
    let issued = app
        .db
        .count("SELECT COUNT(*) FROM case_tokens WHERE issued_as = 'unfreeze_unfrozen'")
        .await;
    assert_eq!(issued, 1);

    let back = app.case_post(&case, "not-me", json!({})).await;

    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(
        app.held_scopes("acct-p2").await,
        EVERY_SCOPE,
        "the holder who did not ask freezes it again"
    );
    assert_eq!(
        sent(&app, "acct-p2", "case_closed").len(),
        1,
        "the unfreeze had ended the case"
    );
    let written = app
        .case_post(&case, "messages", json!({"body": "I did not ask for this"}))
        .await;
    assert_eq!(written.status(), StatusCode::CREATED, "not me opens the case again");
}
