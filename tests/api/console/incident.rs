//! The incident page and its actions, with every refusal: roles, step-up,
//! four eyes, CSRF. A refused action changes nothing.

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::Value;

use super::location;
use crate::helpers::{Backend, TestApp, eventually, on_both_backends, p1_withdrawal, p3_login, spawn_app};

on_both_backends!(
    the_incident_page_tells_the_whole_story,
    an_agent_acknowledges_and_a_lead_resolves,
    an_analyst_is_offered_neither_resolve_nor_approve_and_is_refused_both,
    a_playbook_without_a_fresh_step_up_shows_the_totp_field_and_changes_nothing,
    a_playbook_with_a_step_up_runs_and_its_steps_are_shown,
    the_initiator_cannot_approve_and_a_second_lead_does,
    a_form_with_a_bad_csrf_token_or_from_another_site_is_refused,
    a_wrong_step_up_code_counts_as_a_failure_and_changes_nothing,
);

async fn runs_of(app: &TestApp, incident: &str) -> i64 {
    app.db
        .count(&format!("SELECT COUNT(*) FROM runs WHERE incident_id = '{incident}'"))
        .await
}

async fn status_of(app: &TestApp, incident: &str) -> &'static str {
    for status in [
        "open",
        "acknowledged",
        "contained",
        "recovering",
        "resolved",
        "dismissed",
    ] {
        let sql = format!("SELECT COUNT(*) FROM incidents WHERE id = '{incident}' AND status = '{status}'");
        if app.db.count(&sql).await == 1 {
            return status;
        }
    }
    panic!("no incident {incident}")
}

async fn the_incident_page_tells_the_whole_story(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.ingest_incident(&p1_withdrawal("re-1", "acct-p1")).await;
    app.settle().await;
    let console = app.console("alice", Role::Lead).await;

    let html = console.page(&format!("/console/incidents/{id}")).await;

    for text in [
        "acct-p1",
        "Withdrawal of 2.5 BTC (about 250000 USD) to a new address",
        "re-1",
        "Why this priority",
        ">withdrawal<",
        ">login<",
        "in force",
        "contain-large-withdrawal",
        "succeeded",
        "Timeline",
        "alert received",
        "Resolve the incident",
    ] {
        assert!(html.contains(text), "the incident page shows {text}");
    }
    let incident: Value = app.incident(&app.agent("bob", Role::Lead).await, &id).await;
    let reason = incident["priority_reasons"][0]["description"].as_str().unwrap();
    assert!(html.contains(&maud::html!((reason)).into_string()), "{reason}");
    assert!(
        !html.contains("id=\"acknowledge\""),
        "a contained incident is past acknowledging"
    );
    let missing = console.get("/console/incidents/0190-not-there").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn an_agent_acknowledges_and_a_lead_resolves(backend: Backend) {
    let app = spawn_app(backend).await;
    let p3 = app.ingest_incident(&p3_login("re-3", "acct-p3")).await;
    let p1 = app.ingest_incident(&p1_withdrawal("re-1", "acct-p1")).await;
    let analyst = app.console("ann", Role::Analyst).await;
    let lead = app.console("lee", Role::Lead).await;

    let acknowledged = analyst
        .post(&format!("/console/incidents/{p3}/acknowledge"), &[("note", "looking")])
        .await;
    assert_eq!(acknowledged.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&acknowledged),
        format!("/console/incidents/{p3}?done=acknowledged")
    );
    let resolved = lead
        .post(
            &format!("/console/incidents/{p1}/resolve"),
            &[
                ("resolution", "confirmed_takeover"),
                ("note", "holder confirmed by phone"),
            ],
        )
        .await;
    assert_eq!(resolved.status(), StatusCode::SEE_OTHER);

    assert_eq!(status_of(&app, &p3).await, "acknowledged");
    assert_eq!(status_of(&app, &p1).await, "resolved");
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'incident.resolved' AND actor = 'agent:lee'")
            .await,
        1,
        "the audit log names the agent"
    );
    let again = analyst.post(&format!("/console/incidents/{p3}/acknowledge"), &[]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "the state machine is the API's");
    assert!(again.text().await.unwrap().contains("role=\"alert\""));
}

async fn an_analyst_is_offered_neither_resolve_nor_approve_and_is_refused_both(backend: Backend) {
    let app = spawn_app(backend).await;
    let p1 = app.ingest_incident(&p1_withdrawal("re-1", "acct-p1")).await;
    let lead = app.agent("lee", Role::Lead).await;
    let run: Value = app
        .start_run(&lead, &p1, "unfreeze-account")
        .await
        .json()
        .await
        .unwrap();
    let run_id = run["run_id"].as_str().unwrap();
    let analyst = app.console("ann", Role::Analyst).await;
    let before = status_of(&app, &p1).await;

    let html = analyst.page(&format!("/console/incidents/{p1}")).await;
    assert!(!html.contains("/resolve\""), "no resolve form for an analyst");
    assert!(!html.contains("/approve\""), "no approve form for an analyst");
    assert!(
        !html.contains("value=\"unfreeze-account\""),
        "no unfreeze for an analyst"
    );

    let resolve = analyst
        .post(
            &format!("/console/incidents/{p1}/resolve"),
            &[("resolution", "false_positive")],
        )
        .await;
    let code = analyst.code();
    let approve = analyst
        .post(
            &format!("/console/incidents/{p1}/runs/{run_id}/approve"),
            &[("otp", &code)],
        )
        .await;
    for response in [resolve, approve] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.text().await.unwrap().contains("Not allowed"));
    }
    assert_eq!(status_of(&app, &p1).await, before);
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM run_approvals").await,
        0,
        "nothing was approved"
    );
}

async fn a_playbook_without_a_fresh_step_up_shows_the_totp_field_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.ingest_incident(&p3_login("re-3", "acct-p3")).await;
    let console = app.console("lee", Role::Lead).await;
    let page = console.page(&format!("/console/incidents/{id}")).await;
    assert!(
        page.contains("id=\"otp-contain-suspicious-login\""),
        "the TOTP field is on the form"
    );

    let response = console
        .post(
            &format!("/console/incidents/{id}/runs"),
            &[("playbook_id", "contain-suspicious-login")],
        )
        .await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains("needs a fresh step-up"), "an explanation");
    assert!(
        html.contains("id=\"otp-contain-suspicious-login\""),
        "and the TOTP field again"
    );
    assert_eq!(runs_of(&app, &id).await, 0, "nothing ran");
    assert_eq!(app.holds("acct-p3").await["frozen"], false);
}

async fn a_playbook_with_a_step_up_runs_and_its_steps_are_shown(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.ingest_incident(&p3_login("re-3", "acct-p3")).await;
    let console = app.console("ann", Role::Analyst).await;
    let code = console.code();

    let response = console
        .post(
            &format!("/console/incidents/{id}/runs"),
            &[("playbook_id", "contain-suspicious-login"), ("otp", &code)],
        )
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/console/incidents/{id}?done=run_started"));
    eventually(
        "the account to be frozen",
        std::time::Duration::from_secs(15),
        || async { (app.holds("acct-p3").await["frozen"] == true).then_some(()) },
    )
    .await;
    app.settle().await;
    let html = console.page(&location(&response)).await;
    assert!(html.contains("The playbook is running"));
    assert!(html.contains("run-status succeeded"), "{html}");
    assert!(html.contains("stepped up"), "the step-up lasts five minutes");
    assert!(!html.contains("id=\"otp-"), "so no TOTP field is asked for meanwhile");
    assert_eq!(status_of(&app, &id).await, "contained");
}

async fn the_initiator_cannot_approve_and_a_second_lead_does(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.ingest_incident(&p1_withdrawal("re-1", "acct-p1")).await;
    let lee = app.console("lee", Role::Lead).await;
    let max = app.console("max", Role::Lead).await;
    let code = lee.code();
    let started = lee
        .post(
            &format!("/console/incidents/{id}/runs"),
            &[("playbook_id", "unfreeze-account"), ("otp", &code)],
        )
        .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let unfreeze_runs = app
        .db
        .count("SELECT COUNT(*) FROM runs WHERE playbook_id = 'unfreeze-account'")
        .await;
    assert_eq!(unfreeze_runs, 1);
    let lead = app.agent("reader", Role::Lead).await;
    let incident = app.incident(&lead, &id).await;
    let run = incident["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["playbook_id"] == "unfreeze-account")
        .unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let approve = format!("/console/incidents/{id}/runs/{run}/approve");

    let own = lee.page(&format!("/console/incidents/{id}")).await;
    assert!(!own.contains(&approve), "the initiator is not offered the approval");
    let code = lee.code();
    let refused = lee.post(&approve, &[("otp", &code)]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let other = max.page(&format!("/console/incidents/{id}")).await;
    assert!(other.contains(&approve), "a second lead is");
    assert!(other.contains("approvals needed: 1"), "the four eyes are spelled out");
    let code = max.code();
    let approved = max.post(&approve, &[("otp", &code)]).await;

    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let approvals: Vec<String> = app
        .get_as(&lead, &format!("/v1/runs/{run}"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(approvals, vec!["max"]);
    let after = max.page(&format!("/console/incidents/{id}")).await;
    assert!(!after.contains(&approve), "approved once");
    assert!(after.contains("Approvals: max"), "the approval is listed");
}

async fn a_form_with_a_bad_csrf_token_or_from_another_site_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.ingest_incident(&p3_login("re-3", "acct-p3")).await;
    let console = app.console("ann", Role::Analyst).await;
    let other = app.console("bob", Role::Analyst).await;
    let path = format!("/console/incidents/{id}/acknowledge");

    let missing = console.post_raw(&path, &[]).await;
    let forged = console.post_raw(&path, &[("csrf", "forged")]).await;
    let someone_elses = console.post_raw(&path, &[("csrf", other.csrf.as_str())]).await;
    let cross_site = app
        .client
        .post(app.url(&path))
        .header("cookie", &console.cookie)
        .header("origin", "https://evil.example")
        .form(&[("csrf", console.csrf.as_str())])
        .send()
        .await
        .unwrap();

    for response in [missing, forged, someone_elses, cross_site] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.text().await.unwrap().contains("Request refused"));
    }
    assert_eq!(status_of(&app, &id).await, "open", "nothing changed");
}

async fn a_wrong_step_up_code_counts_as_a_failure_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.ingest_incident(&p3_login("re-3", "acct-p3")).await;
    let console = app.console("ann", Role::Analyst).await;
    let code = console.code();
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let response = console
        .post(
            &format!("/console/incidents/{id}/runs"),
            &[("playbook_id", "contain-suspicious-login"), ("otp", wrong)],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains("code is wrong"));
    assert_eq!(runs_of(&app, &id).await, 0);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'agent.step_up_failed' AND actor = 'agent:ann'")
            .await,
        1
    );
}
