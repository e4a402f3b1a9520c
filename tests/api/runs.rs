use std::time::Duration;

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, assert_problem, on_both_backends, p1_withdrawal, p3_login, spawn_app, spawn_app_with};

on_both_backends!(
    a_p1_alert_runs_the_containment_playbooks_automatic_steps_to_the_end,
    an_analyst_contains_a_p3_incident_by_running_the_containment_playbook,
    each_step_waits_for_the_exchange_to_confirm_the_one_before,
    requests_that_wait_only_for_the_freeze_go_out_together_once_it_took_effect,
    a_step_the_exchange_never_confirms_fails_the_run_visibly,
    a_recovery_run_moves_the_incident_to_recovering,
    a_step_needing_mfa_waits_for_a_fresh_step_up_and_resumes,
    a_second_lead_approves_at_any_time_and_only_once,
    a_playbook_without_an_approval_step_refuses_approvals,
    a_playbook_cannot_run_twice_at_once_on_one_incident,
    starting_a_run_needs_a_fresh_step_up,
);

async fn a_p1_alert_runs_the_containment_playbooks_automatic_steps_to_the_end(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let incident_id = app.ingest_incident(&p1_withdrawal("re-1", "acct-1")).await;
    let incident = app.incident(&analyst, &incident_id).await;
    let run_id = incident["runs"][0]["run_id"].as_str().unwrap().to_owned();

    let run = app.wait_for_run(&analyst, &run_id, "succeeded").await;

    assert_eq!(run["playbook"]["id"], "contain-large-withdrawal");
    assert_eq!(run["playbook"]["version"], 2);
    assert_eq!(run["playbook"]["digest"].as_str().unwrap().len(), 64);
    assert_eq!(run["started_by"], "system");
    assert!(
        run["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "succeeded")
    );
    app.exchange
        .wait_for_actions("acct-1", "cancel_pending_withdrawals", 1)
        .await;
    app.exchange.wait_for_actions("acct-1", "revoke_sessions", 1).await;
}

async fn an_analyst_contains_a_p3_incident_by_running_the_containment_playbook(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let incident_id = app.ingest_incident(&p3_login("re-1", "acct-1")).await;

    let response = app.start_run(&analyst, &incident_id, "contain-suspicious-login").await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let run: Value = response.json().await.unwrap();
    for field in ["run_id", "status", "steps"] {
        assert!(run.get(field).is_some(), "{field}");
    }
    assert_eq!(run["started_by"], "agent:ana");
    assert_eq!(app.holds("acct-1").await["frozen"], true);
    let run = app
        .wait_for_run(&analyst, run["run_id"].as_str().unwrap(), "succeeded")
        .await;
    assert!(
        run["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["started_at"].is_string() && s["finished_at"].is_string())
    );
    let incident = app.incident(&analyst, &incident_id).await;
    assert_eq!(incident["status"], "contained");
    let events: Vec<&str> = incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(
        events.contains(&"run.step_succeeded") && events.contains(&"run.succeeded"),
        "{events:?}"
    );
}

async fn each_step_waits_for_the_exchange_to_confirm_the_one_before(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let incident_id = app.ingest_incident(&p3_login("re-1", "acct-1")).await;
    app.exchange.stall();

    let run: Value = app
        .start_run(&analyst, &incident_id, "contain-suspicious-login")
        .await
        .json()
        .await
        .unwrap();
    let run_id = run["run_id"].as_str().unwrap();
    app.exchange.wait_for_actions("acct-1", "place_hold", 2).await;

    let waiting = app.get_json_as(&analyst, &format!("/v1/runs/{run_id}")).await;
    assert_eq!(waiting["status"], "running");
    assert_eq!(waiting["steps"][0]["status"], "running");
    assert_eq!(waiting["steps"][1]["status"], "pending");
    assert!(
        app.exchange
            .received()
            .iter()
            .all(|r| r.field("action") != "revoke_sessions"),
        "step 2 did not start"
    );

    app.exchange.release();
    app.wait_for_run(&analyst, run_id, "succeeded").await;
}

async fn requests_that_wait_only_for_the_freeze_go_out_together_once_it_took_effect(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let incident_id = app.ingest_incident(&p3_login("re-1", "acct-1")).await;
    app.exchange.stall_actions(&["revoke_sessions"]);

    let run: Value = app
        .start_run(&analyst, &incident_id, "contain-suspicious-login")
        .await
        .json()
        .await
        .unwrap();
    let run_id = run["run_id"].as_str().unwrap();
    // Signing out is not confirmed, yet revoking the API keys went out and was.
    app.exchange.wait_for_actions("acct-1", "revoke_sessions", 1).await;
    let run = app
        .wait_for_run_until(&analyst, run_id, "revoking the API keys to be confirmed", |run| {
            run["steps"][2]["status"] == "succeeded"
        })
        .await;
    assert_eq!(run["status"], "running");
    assert_eq!(run["steps"][0]["status"], "succeeded");
    assert_eq!(run["steps"][1]["status"], "running");
    assert_eq!(run["steps"][0]["waits_for"], json!([]));
    assert_eq!(run["steps"][1]["waits_for"], json!([1]));
    assert_eq!(run["steps"][2]["waits_for"], json!([1]));
    let order: Vec<String> = app
        .exchange
        .received()
        .iter()
        .filter(|r| r.endpoint == "account_control")
        .map(|r| r.field("action").to_owned())
        .collect();
    assert_eq!(
        order.iter().rposition(|a| a == "place_hold"),
        Some(1),
        "both holds were confirmed before either request went out: {order:?}"
    );

    app.exchange.release();
    let run = app.wait_for_run(&analyst, run_id, "succeeded").await;
    assert!(
        run["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "succeeded"),
        "{run}"
    );
}

async fn a_step_the_exchange_never_confirms_fails_the_run_visibly(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.set("HOLDFAST_OUTBOUND_MAX_ATTEMPTS", "3");
    })
    .await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let incident_id = app.ingest_incident(&p3_login("re-1", "acct-1")).await;
    app.exchange.fail_next(1000);

    let run: Value = app
        .start_run(&analyst, &incident_id, "contain-suspicious-login")
        .await
        .json()
        .await
        .unwrap();
    let run = app
        .wait_for_run(&analyst, run["run_id"].as_str().unwrap(), "failed")
        .await;
    // The run fails with its first unconfirmed message; let the other finish its tries too.
    app.settle().await;

    assert_eq!(run["steps"][0]["status"], "failed");
    assert!(
        run["failure"]
            .as_str()
            .unwrap()
            .contains("the exchange did not confirm"),
        "{run}"
    );
    let attempts = app
        .exchange
        .received()
        .iter()
        .filter(|r| r.field("action") == "place_hold")
        .count();
    assert_eq!(attempts, 6, "two holds, three attempts each");
    let incident = app.incident(&analyst, &incident_id).await;
    let events: Vec<&str> = incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(
        events.contains(&"exchange.delivery_failed") && events.contains(&"run.failed"),
        "{events:?}"
    );
}

async fn a_recovery_run_moves_the_incident_to_recovering(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app.agent("lee", Role::Lead).await;
    let incident_id = app.ingest_incident(&p1_withdrawal("re-1", "acct-1")).await;

    let run: Value = app
        .start_run(&lead, &incident_id, "recover-account")
        .await
        .json()
        .await
        .unwrap();
    app.wait_for_run(&lead, run["run_id"].as_str().unwrap(), "succeeded")
        .await;

    assert_eq!(app.incident(&lead, &incident_id).await["status"], "recovering");
    app.exchange
        .wait_for_actions("acct-1", "require_credential_reset", 1)
        .await;
    let frozen = app.holds("acct-1").await;
    assert_eq!(frozen["holds"].as_array().unwrap().len(), 4, "every scope frozen");
}

async fn a_step_needing_mfa_waits_for_a_fresh_step_up_and_resumes(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app.agent("lee", Role::Lead).await;
    let incident_id = app.ingest_incident(&p1_withdrawal("re-1", "acct-1")).await;
    app.settle().await;
    app.exchange.stall();
    let run: Value = app
        .start_run(&lead, &incident_id, "recover-account")
        .await
        .json()
        .await
        .unwrap();
    let run_id = run["run_id"].as_str().unwrap().to_owned();
    // The containment already froze login and withdrawals: this run adds trading and api.
    app.exchange
        .wait_for("the run's trading hold to reach the exchange", |received| {
            received
                .iter()
                .any(|r| r.field("action") == "place_hold" && r.field("scope") == "trading")
                .then_some(())
        })
        .await;

    app.clock.advance(Duration::from_secs(6 * 60));
    app.exchange.release();
    let waiting = app
        .wait_for_run_until(&lead, &run_id, "the credential reset to wait for MFA", |run| {
            run["steps"][3]["waiting_for"] == "mfa"
        })
        .await;
    assert_eq!(waiting["status"], "waiting");

    let resumed = app
        .post_as(&lead, &format!("/v1/runs/{run_id}/resume"))
        .header("x-holdfast-otp", app.fresh_code(&lead.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), StatusCode::OK);
    app.wait_for_run(&lead, &run_id, "succeeded").await;
}

async fn a_second_lead_approves_at_any_time_and_only_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let lee = app.agent("lee", Role::Lead).await;
    let max = app.agent("max", Role::Lead).await;
    let incident_id = app.ingest_incident(&p1_withdrawal("re-1", "acct-1")).await;
    let run: Value = app
        .start_run(&lee, &incident_id, "unfreeze-account")
        .await
        .json()
        .await
        .unwrap();
    let run_id = run["run_id"].as_str().unwrap();
    assert_eq!(run["status"], "waiting");
    assert_eq!(run["steps"][0]["waiting_for"], "identity");

    let approve = || {
        app.post_as(&max, &format!("/v1/runs/{run_id}/approve"))
            .header("x-holdfast-otp", app.fresh_code(&max.secret))
            .send()
    };
    let approved = approve().await.unwrap();
    assert_eq!(approved.status(), StatusCode::OK);
    let approved: Value = approved.json().await.unwrap();
    assert_eq!(approved["approvals"][0]["agent"], "max");
    assert_eq!(
        approved["steps"][0]["waiting_for"], "identity",
        "the approval is recorded before its step is reached"
    );
    assert_problem(approve().await.unwrap(), StatusCode::CONFLICT).await;

    app.clock.advance(Duration::from_secs(5 * 60));
    let without_mfa = app
        .post_as(&max, &format!("/v1/runs/{run_id}/approve"))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(without_mfa, StatusCode::FORBIDDEN).await;
    assert!(problem["type"].as_str().unwrap().ends_with("mfa-required"));
}

async fn a_playbook_without_an_approval_step_refuses_approvals(backend: Backend) {
    let app = spawn_app(backend).await;
    let lee = app.agent("lee", Role::Lead).await;
    let max = app.agent("max", Role::Lead).await;
    let incident_id = app.ingest_incident(&p3_login("re-1", "acct-1")).await;
    app.exchange.stall();
    let run: Value = app
        .start_run(&lee, &incident_id, "contain-suspicious-login")
        .await
        .json()
        .await
        .unwrap();

    let response = app
        .post_as(&max, &format!("/v1/runs/{}/approve", run["run_id"].as_str().unwrap()))
        .header("x-holdfast-otp", app.fresh_code(&max.secret))
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::CONFLICT).await;
    app.exchange.release();
}

async fn a_playbook_cannot_run_twice_at_once_on_one_incident(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app.agent("lee", Role::Lead).await;
    let incident_id = app.ingest_incident(&p1_withdrawal("re-1", "acct-1")).await;
    assert_eq!(
        app.start_run(&lead, &incident_id, "unfreeze-account").await.status(),
        StatusCode::CREATED
    );

    let second = app.start_run(&lead, &incident_id, "unfreeze-account").await;

    assert_problem(second, StatusCode::CONFLICT).await;
}

async fn starting_a_run_needs_a_fresh_step_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let incident_id = app.ingest_incident(&p3_login("re-1", "acct-1")).await;

    let response = app
        .post_as(&analyst, &format!("/v1/incidents/{incident_id}/runs"))
        .json(&json!({"playbook_id": "contain-suspicious-login"}))
        .send()
        .await
        .unwrap();
    let unknown = app.start_run(&analyst, &incident_id, "no-such-playbook").await;

    let problem = assert_problem(response, StatusCode::FORBIDDEN).await;
    assert!(problem["type"].as_str().unwrap().ends_with("mfa-required"));
    assert_eq!(
        assert_problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"],
        "playbook_id"
    );
}
