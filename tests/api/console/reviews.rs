//! The holders' requests waiting for agents: the answers, unfreezing (four
//! eyes for P1/P2) and turning a request down with a reason.

use holdfast::domain::agent::Role;
use reqwest::StatusCode;

use super::location;
use crate::helpers::{Backend, TestApp, on_both_backends, p1_withdrawal, p3_login, spawn_app};
use crate::unfreeze::{answers_all, frozen_flow, verify_holder};

on_both_backends!(
    the_reviews_page_lists_waiting_holders_with_their_answers,
    a_lead_turns_a_request_down_with_a_reason_the_holder_reads,
    an_analyst_may_read_the_reviews_but_not_decide,
    a_lead_starts_the_unfreeze_and_a_second_lead_approves_it,
);

/// A holder of `account` who verified and answered, waiting in the agents' queue.
async fn waiting_holder(app: &TestApp, alert: serde_json::Value, account: &str, mine: bool) -> String {
    app.exchange.set_second_factor(None);
    let token = frozen_flow(app, alert, account).await;
    verify_holder(app, &token, account).await;
    let status = app.flow_status(&token).await;
    let queued = app.flow_post(&token, "activity", answers_all(&status, mine)).await;
    assert_eq!(queued.status(), StatusCode::OK);
    assert_eq!(app.flow_status(&token).await["state"], "in_review");
    token
}

async fn the_reviews_page_lists_waiting_holders_with_their_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    waiting_holder(&app, p3_login("re-3", "acct-p3"), "acct-p3", false).await;
    let console = app.console("lee", Role::Lead).await;

    let html = console.page("/console/reviews").await;

    assert!(html.contains("acct-p3"));
    assert!(html.contains("Sign-in from a new device in Brazil"));
    assert!(html.contains("the holder says this was NOT them"));
    assert!(html.contains("/console/reviews/") && html.contains("/reject\""));
    assert!(html.contains("/unfreeze\""));
}

async fn a_lead_turns_a_request_down_with_a_reason_the_holder_reads(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = waiting_holder(&app, p3_login("re-3", "acct-p3"), "acct-p3", false).await;
    let console = app.console("lee", Role::Lead).await;
    let html = console.page("/console/reviews").await;
    let start = html.find("action=\"/console/reviews/").unwrap() + "action=\"".len();
    let incident = html[start..].split('/').nth(3).unwrap().to_owned();
    let path = format!("/console/reviews/{incident}/reject");

    let empty = console.post(&path, &[("reason", "  ")]).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    let rejected = console
        .post(
            &path,
            &[("reason", "The sign-in came from a device used in other takeovers.")],
        )
        .await;

    assert_eq!(rejected.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&rejected), "/console/reviews?done=rejected");
    let status = app.flow_status(&token).await;
    assert_eq!(status["state"], "rejected");
    assert!(status["decision_reason"].as_str().unwrap().contains("other takeovers"));
    assert!(!console.page("/console/reviews").await.contains("acct-p3"));
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM unfreeze_flows WHERE decided_by = 'agent:lee'")
            .await,
        1
    );
}

async fn an_analyst_may_read_the_reviews_but_not_decide(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = waiting_holder(&app, p3_login("re-3", "acct-p3"), "acct-p3", false).await;
    let analyst = app.console("ann", Role::Analyst).await;
    let incident = app.incident_of(&app.agent("reader", Role::Lead).await, "acct-p3").await;

    let html = analyst.page("/console/reviews").await;
    assert!(html.contains("acct-p3"));
    assert!(
        !html.contains("/reject\"") && !html.contains("/unfreeze\""),
        "no decisions offered"
    );
    let reject = analyst
        .post(&format!("/console/reviews/{incident}/reject"), &[("reason", "no")])
        .await;
    let code = analyst.code();
    let unfreeze = analyst
        .post(&format!("/console/reviews/{incident}/unfreeze"), &[("otp", &code)])
        .await;

    for response in [reject, unfreeze] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(app.flow_status(&token).await["state"], "in_review");
}

async fn a_lead_starts_the_unfreeze_and_a_second_lead_approves_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = waiting_holder(&app, p1_withdrawal("re-1", "acct-p1"), "acct-p1", true).await;
    let lee = app.console("lee", Role::Lead).await;
    let max = app.console("max", Role::Lead).await;
    let reader = app.agent("reader", Role::Lead).await;
    let incident = app.incident_of(&reader, "acct-p1").await;
    assert!(lee.page("/console/reviews").await.contains("needs a second lead"));

    let without = lee.post(&format!("/console/reviews/{incident}/unfreeze"), &[]).await;
    assert_eq!(without.status(), StatusCode::FORBIDDEN, "a step-up is needed");
    assert!(without.text().await.unwrap().contains("needs a fresh step-up"));
    let code = lee.code();
    let started = lee
        .post(&format!("/console/reviews/{incident}/unfreeze"), &[("otp", &code)])
        .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&started),
        format!("/console/incidents/{incident}?done=unfreeze_started")
    );
    assert_eq!(app.holds("acct-p1").await["frozen"], true, "not before a second lead");
    let detail = app.incident(&reader, &incident).await;
    let run = detail["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["playbook_id"] == "unfreeze-account")
        .unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = max.code();
    let approved = max
        .post(
            &format!("/console/incidents/{incident}/runs/{run}/approve"),
            &[("otp", &code)],
        )
        .await;

    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    app.wait_for_run(&reader, &run, "succeeded").await;
    assert_eq!(app.holds("acct-p1").await["frozen"], false);
    assert_eq!(app.flow_status(&token).await["state"], "unfrozen");
}
