//! Failed sign-ins are counted per username and source: the source that
//! fails is locked out, the agent is not; every early exit costs what a real
//! password check costs; the API cannot make leads or admins.

use std::time::{Duration, Instant};

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, assert_problem, on_both_backends, spawn_app};

on_both_backends!(
    one_client_failing_locks_itself_out_not_the_agent,
    a_wrong_step_up_code_counts_against_its_source,
    the_api_creates_analysts_and_refuses_leads_and_admins,
);

fn seed(credentials: &holdfast::agents::Credentials) -> Vec<u8> {
    totp_rs::Secret::try_from_base32(&credentials.totp_secret)
        .unwrap()
        .as_ref()
        .to_vec()
}

async fn one_client_failing_locks_itself_out_not_the_agent(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.create_agent("alice", Role::Lead).await;
    let secret = seed(&alice);
    let attacker = app.client_from("127.0.0.2");
    let alice_laptop = app.client_from("127.0.0.3");

    for _ in 0..5 {
        let failed = app
            .login_from(&attacker, "alice", "a guess", &app.fresh_code(&secret))
            .await;
        assert_problem(failed, StatusCode::UNAUTHORIZED).await;
    }
    let attacker_locked = app
        .login_from(&attacker, "alice", &alice.password, &app.fresh_code(&secret))
        .await;
    let alice_signs_in = app
        .login_from(&alice_laptop, "alice", &alice.password, &app.fresh_code(&secret))
        .await;

    assert_problem(attacker_locked, StatusCode::LOCKED).await;
    assert_eq!(
        alice_signs_in.status(),
        StatusCode::OK,
        "the agent is not locked out of her own account"
    );
    let listed = app.agent("root", Role::Admin).await;
    let agents: serde_json::Value = app
        .get_as(&listed, "/v1/agents")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "alice")
        .unwrap()
        .clone();
    assert_eq!(row["recent_failures"], 5);
    assert!(
        row["locked_until"].is_null(),
        "five failures from one source lock only that source"
    );
}

async fn a_wrong_step_up_code_counts_against_its_source(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.agent("bob", Role::Analyst).await;

    for _ in 0..5 {
        let wrong = app
            .post_as(&agent, "/v1/auth/step-up")
            .json(&json!({"otp": "000000"}))
            .send()
            .await
            .unwrap();
        assert_problem(wrong, StatusCode::UNAUTHORIZED).await;
    }
    let locked = app
        .post_as(&agent, "/v1/auth/step-up")
        .json(&json!({"otp": app.fresh_code(&agent.secret)}))
        .send()
        .await
        .unwrap();

    assert_problem(locked, StatusCode::LOCKED).await;
}

async fn the_api_creates_analysts_and_refuses_leads_and_admins(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.agent("root", Role::Admin).await;

    let create = |username: &str, role: &str| {
        app.post_as(&admin, "/v1/agents")
            .header("x-holdfast-otp", app.fresh_code(&admin.secret))
            .json(&json!({"username": username, "role": role}))
            .send()
    };
    let analyst = create("ann", "analyst").await.unwrap();
    let lead = create("mallory", "lead").await.unwrap();
    let second_admin = create("eve", "admin").await.unwrap();

    assert_eq!(analyst.status(), StatusCode::CREATED);
    assert_problem(lead, StatusCode::FORBIDDEN).await;
    assert_problem(second_admin, StatusCode::FORBIDDEN).await;
    assert_eq!(app.db.count("SELECT COUNT(*) FROM agents").await, 2);
}

/// The time one failed sign-in of `username` takes, from a fresh source.
async fn failed_sign_in_time(app: &TestApp, source: &str, username: &str, password: &str) -> Duration {
    let client = app.client_from(source);
    let started = Instant::now();
    let response = app.login_from(&client, username, password, "123456").await;
    let took = started.elapsed();
    assert!(
        matches!(response.status(), StatusCode::UNAUTHORIZED | StatusCode::LOCKED),
        "{}",
        response.status()
    );
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_early_exit_costs_what_a_password_check_costs() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.agent("root", Role::Admin).await;
    // Five rounds, compared by their medians: one slow answer on a busy
    // machine does not decide.
    const ROUNDS: usize = 5;
    for n in 1..=ROUNDS {
        app.create_agent(&format!("wrong{n}"), Role::Analyst).await;
        app.create_agent(&format!("gone{n}"), Role::Analyst).await;
    }
    for name in (1..=ROUNDS).map(|n| format!("gone{n}")) {
        let disabled = app
            .post_as(&admin, &format!("/v1/agents/{name}/disable"))
            .header("x-holdfast-otp", app.fresh_code(&admin.secret))
            .send()
            .await
            .unwrap();
        assert_eq!(disabled.status(), StatusCode::OK);
    }

    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    let mut disabled = Vec::new();
    for n in 1..=ROUNDS {
        let source = &format!("127.0.0.{}", 3 + n);
        wrong.push(failed_sign_in_time(&app, source, &format!("wrong{n}"), "not it").await);
        unknown.push(failed_sign_in_time(&app, source, &format!("nobody{n}"), "not it").await);
        disabled.push(failed_sign_in_time(&app, source, &format!("gone{n}"), "not it").await);
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[ROUNDS / 2]
    };
    let (wrong, unknown, disabled) = (median(&mut wrong), median(&mut unknown), median(&mut disabled));

    // An early exit that skipped the password hash would answer in a
    // fraction of a hash's time.
    assert!(unknown * 2 > wrong, "unknown {unknown:?} vs wrong password {wrong:?}");
    assert!(
        disabled * 2 > wrong,
        "disabled {disabled:?} vs wrong password {wrong:?}"
    );
}
