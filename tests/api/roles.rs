//! Every role is refused what it may not do, and nobody is let in unsigned.

use holdfast::domain::agent::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestAgent, TestApp, assert_problem, on_both_backends, p1_withdrawal, p3_login, spawn_app,
};

on_both_backends!(
    analysts_may_not_resolve_approve_recover_or_manage_agents,
    leads_may_not_manage_agents,
    admins_may_not_work_incidents,
    the_agent_who_started_a_run_may_not_approve_it,
    every_agent_endpoint_needs_a_session,
);

async fn forbidden(app: &TestApp, agent: &TestAgent, method: Method, path: &str, body: Value) {
    let code = app.fresh_code(&agent.secret);
    let response = app
        .client
        .request(method.clone(), app.url(path))
        .bearer_auth(&agent.token)
        .header("x-holdfast-otp", code)
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::FORBIDDEN).await;
    assert!(
        problem["type"].as_str().unwrap().ends_with("/forbidden"),
        "{method} {path}: {problem}"
    );
}

async fn analysts_may_not_resolve_approve_recover_or_manage_agents(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let lead = app.agent("lee", Role::Lead).await;
    let incident = app.ingest_incident(&p1_withdrawal("re-1", "acct-1")).await;
    let run: Value = app
        .start_run(&lead, &incident, "unfreeze-account")
        .await
        .json()
        .await
        .unwrap();
    let run_id = run["run_id"].as_str().unwrap();

    forbidden(
        &app,
        &analyst,
        Method::POST,
        &format!("/v1/incidents/{incident}/resolve"),
        json!({"resolution": "false_positive"}),
    )
    .await;
    forbidden(
        &app,
        &analyst,
        Method::POST,
        &format!("/v1/runs/{run_id}/approve"),
        json!({}),
    )
    .await;
    forbidden(
        &app,
        &analyst,
        Method::POST,
        &format!("/v1/incidents/{incident}/runs"),
        json!({"playbook_id": "recover-account"}),
    )
    .await;
    forbidden(
        &app,
        &analyst,
        Method::POST,
        &format!("/v1/incidents/{incident}/runs"),
        json!({"playbook_id": "unfreeze-account"}),
    )
    .await;
    forbidden(&app, &analyst, Method::GET, "/v1/agents", json!({})).await;
    forbidden(
        &app,
        &analyst,
        Method::POST,
        "/v1/agents",
        json!({"username": "eve", "role": "admin"}),
    )
    .await;
    forbidden(&app, &analyst, Method::POST, "/v1/agents/lee/disable", json!({})).await;
}

async fn leads_may_not_manage_agents(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app.agent("lee", Role::Lead).await;

    forbidden(&app, &lead, Method::GET, "/v1/agents", json!({})).await;
    forbidden(
        &app,
        &lead,
        Method::POST,
        "/v1/agents",
        json!({"username": "eve", "role": "admin"}),
    )
    .await;
    forbidden(&app, &lead, Method::POST, "/v1/agents/lee/disable", json!({})).await;
}

async fn admins_may_not_work_incidents(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.agent("root", Role::Admin).await;
    let lead = app.agent("lee", Role::Lead).await;
    let p3 = app.ingest_incident(&p3_login("re-1", "acct-1")).await;
    let p1 = app.ingest_incident(&p1_withdrawal("re-2", "acct-2")).await;
    let run: Value = app
        .start_run(&lead, &p1, "unfreeze-account")
        .await
        .json()
        .await
        .unwrap();

    forbidden(&app, &admin, Method::POST, "/v1/incidents/next", json!({})).await;
    forbidden(
        &app,
        &admin,
        Method::POST,
        &format!("/v1/incidents/{p3}/acknowledge"),
        json!({}),
    )
    .await;
    forbidden(
        &app,
        &admin,
        Method::POST,
        &format!("/v1/incidents/{p3}/dismiss"),
        json!({}),
    )
    .await;
    forbidden(
        &app,
        &admin,
        Method::POST,
        &format!("/v1/incidents/{p1}/resolve"),
        json!({"resolution": "user_error"}),
    )
    .await;
    forbidden(
        &app,
        &admin,
        Method::POST,
        &format!("/v1/incidents/{p3}/runs"),
        json!({"playbook_id": "contain-suspicious-login"}),
    )
    .await;
    forbidden(
        &app,
        &admin,
        Method::POST,
        &format!("/v1/runs/{}/approve", run["run_id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(
        app.get_as(&admin, "/v1/incidents").send().await.unwrap().status(),
        StatusCode::OK,
        "admins may read"
    );
}

async fn the_agent_who_started_a_run_may_not_approve_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app.agent("lee", Role::Lead).await;
    let incident = app.ingest_incident(&p1_withdrawal("re-1", "acct-1")).await;
    let run: Value = app
        .start_run(&lead, &incident, "unfreeze-account")
        .await
        .json()
        .await
        .unwrap();

    forbidden(
        &app,
        &lead,
        Method::POST,
        &format!("/v1/runs/{}/approve", run["run_id"].as_str().unwrap()),
        json!({}),
    )
    .await;
}

async fn every_agent_endpoint_needs_a_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let endpoints = [
        (Method::GET, "/v1/incidents"),
        (Method::GET, "/v1/incidents/x"),
        (Method::POST, "/v1/incidents/next"),
        (Method::POST, "/v1/incidents/x/acknowledge"),
        (Method::POST, "/v1/incidents/x/resolve"),
        (Method::POST, "/v1/incidents/x/dismiss"),
        (Method::POST, "/v1/incidents/x/runs"),
        (Method::GET, "/v1/runs/x"),
        (Method::POST, "/v1/runs/x/approve"),
        (Method::POST, "/v1/runs/x/resume"),
        (Method::GET, "/v1/playbooks"),
        (Method::GET, "/v1/agents"),
        (Method::POST, "/v1/agents"),
        (Method::POST, "/v1/auth/step-up"),
    ];
    for (method, path) in endpoints {
        let anonymous = app
            .client
            .request(method.clone(), app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let forged = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth("forged")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        for response in [anonymous, forged] {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }
}
