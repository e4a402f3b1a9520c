use std::time::Duration;

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, assert_problem, on_both_backends, spawn_app};

on_both_backends!(
    an_agent_signs_in_with_password_and_totp_and_gets_a_working_bearer_token,
    signing_in_does_not_elevate_but_a_step_up_does_for_five_minutes,
    an_otp_header_steps_up_inline,
    a_replayed_totp_code_is_rejected,
    two_concurrent_step_ups_with_the_same_code_have_exactly_one_winner,
    five_failed_attempts_lock_the_agent_for_fifteen_minutes,
    wrong_passwords_and_unknown_agents_get_the_same_401,
    an_idle_session_expires_after_thirty_minutes,
    a_session_ends_after_twelve_hours_however_busy,
    secrets_are_stored_encrypted_and_hashed_and_never_audited,
    sign_in_is_rate_limited_per_client_address,
    signing_out_ends_the_session_at_once,
);

async fn an_agent_signs_in_with_password_and_totp_and_gets_a_working_bearer_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let credentials = app.create_agent("alice", Role::Analyst).await;
    let secret = totp_rs::Secret::try_from_base32(&credentials.totp_secret)
        .unwrap()
        .as_ref()
        .to_vec();

    let response = app
        .login("alice", &credentials.password, &app.fresh_code(&secret))
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert!(body["expires_at"].is_string());
    let incidents = app
        .client
        .get(app.url("/v1/incidents"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(incidents.status(), StatusCode::OK);
    let anonymous = app.client.get(app.url("/v1/incidents")).send().await.unwrap();
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

async fn signing_in_does_not_elevate_but_a_step_up_does_for_five_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.agent("root", Role::Admin).await;
    let add = |name: &str| {
        app.post_as(&admin, "/v1/agents")
            .json(&json!({"username": name, "role": "analyst"}))
            .send()
    };

    let before = add("bob").await.unwrap();
    let problem = assert_problem(before, StatusCode::FORBIDDEN).await;
    assert!(problem["type"].as_str().unwrap().ends_with("mfa-required"));

    let stepped = app.step_up(&admin).await;
    assert_eq!(stepped.status(), StatusCode::OK);
    let body: Value = stepped.json().await.unwrap();
    assert!(body["elevated_until"].is_string());
    assert_eq!(add("bob").await.unwrap().status(), StatusCode::CREATED);

    app.clock.advance(Duration::from_secs(5 * 60));
    let later = add("carol").await.unwrap();
    let problem = assert_problem(later, StatusCode::FORBIDDEN).await;
    assert!(problem["type"].as_str().unwrap().ends_with("mfa-required"));
}

async fn an_otp_header_steps_up_inline(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.agent("root", Role::Admin).await;

    let response = app
        .post_as(&admin, "/v1/agents")
        .header("x-holdfast-otp", app.fresh_code(&admin.secret))
        .json(&json!({"username": "bob", "role": "analyst"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "bob");
    assert!(body["password"].as_str().is_some_and(|p| p.len() >= 20));
    assert!(body["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
}

async fn a_replayed_totp_code_is_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let credentials = app.create_agent("alice", Role::Analyst).await;
    let secret = totp_rs::Secret::try_from_base32(&credentials.totp_secret)
        .unwrap()
        .as_ref()
        .to_vec();
    let code = app.fresh_code(&secret);
    let first = app.login("alice", &credentials.password, &code).await;
    assert_eq!(first.status(), StatusCode::OK);
    let token = first.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let replay = app
        .client
        .post(app.url("/v1/auth/step-up"))
        .bearer_auth(&token)
        .json(&json!({"otp": code}))
        .send()
        .await
        .unwrap();
    let again = app.login("alice", &credentials.password, &code).await;

    for response in [replay, again] {
        let problem = assert_problem(response, StatusCode::UNAUTHORIZED).await;
        assert!(problem["type"].as_str().unwrap().ends_with("otp-replayed"), "{problem}");
    }
}

async fn two_concurrent_step_ups_with_the_same_code_have_exactly_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.agent("alice", Role::Analyst).await;
    let code = app.fresh_code(&agent.secret);
    let step_up = || {
        app.client
            .post(app.url("/v1/auth/step-up"))
            .bearer_auth(&agent.token)
            .json(&json!({"otp": code}))
            .send()
    };

    let (a, b) = tokio::join!(step_up(), step_up());

    let mut statuses = [a.unwrap().status(), b.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
}

async fn five_failed_attempts_lock_the_agent_for_fifteen_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    let credentials = app.create_agent("alice", Role::Analyst).await;
    let secret = totp_rs::Secret::try_from_base32(&credentials.totp_secret)
        .unwrap()
        .as_ref()
        .to_vec();

    for _ in 0..5 {
        let response = app.login("alice", "not the password", &app.fresh_code(&secret)).await;
        assert_problem(response, StatusCode::UNAUTHORIZED).await;
    }
    let locked = app
        .login("alice", &credentials.password, &app.fresh_code(&secret))
        .await;

    assert_eq!(locked.status(), StatusCode::LOCKED);
    let retry_after: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry_after));
    assert_problem(locked, StatusCode::LOCKED).await;

    app.clock.advance(Duration::from_secs(15 * 60));
    let unlocked = app
        .login("alice", &credentials.password, &app.fresh_code(&secret))
        .await;
    assert_eq!(unlocked.status(), StatusCode::OK);
    let lock_events = app
        .db
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'agent.locked'")
        .await;
    assert_eq!(lock_events, 1);
}

async fn wrong_passwords_and_unknown_agents_get_the_same_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let credentials = app.create_agent("alice", Role::Analyst).await;
    let secret = totp_rs::Secret::try_from_base32(&credentials.totp_secret)
        .unwrap()
        .as_ref()
        .to_vec();

    let wrong = app.login("alice", "nope", &app.fresh_code(&secret)).await;
    let unknown = app.login("mallory", "nope", "123456").await;
    let bad_code = app.login("alice", &credentials.password, "000000").await;

    let details: Vec<String> = futures_util::future::join_all(
        [wrong, unknown, bad_code]
            .into_iter()
            .map(|r| assert_problem(r, StatusCode::UNAUTHORIZED)),
    )
    .await
    .into_iter()
    .map(|p| p["detail"].as_str().unwrap().to_owned())
    .collect();
    assert!(details.windows(2).all(|w| w[0] == w[1]), "{details:?}");
}

async fn an_idle_session_expires_after_thirty_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.agent("alice", Role::Analyst).await;

    app.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(
        app.get_as(&agent, "/v1/incidents").send().await.unwrap().status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(
        app.get_as(&agent, "/v1/incidents").send().await.unwrap().status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::from_secs(31 * 60));

    let expired = app.get_as(&agent, "/v1/incidents").send().await.unwrap();
    let problem = assert_problem(expired, StatusCode::UNAUTHORIZED).await;
    assert!(problem["type"].as_str().unwrap().ends_with("session-expired"));
}

async fn signing_out_ends_the_session_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.agent("alice", Role::Analyst).await;
    let other = app.agent("bob", Role::Analyst).await;

    let logout = app.post_as(&agent, "/v1/auth/logout").send().await.unwrap();

    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let after = app.get_as(&agent, "/v1/incidents").send().await.unwrap();
    let problem = assert_problem(after, StatusCode::UNAUTHORIZED).await;
    assert!(problem["type"].as_str().unwrap().ends_with("session-expired"));
    let again = app.post_as(&agent, "/v1/auth/logout").send().await.unwrap();
    assert_problem(again, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        app.get_as(&other, "/v1/incidents").send().await.unwrap().status(),
        StatusCode::OK,
        "another agent's session goes on"
    );
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'agent.logout'")
            .await,
        1
    );
}

async fn a_session_ends_after_twelve_hours_however_busy(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.agent("alice", Role::Analyst).await;

    for _ in 0..25 {
        app.clock.advance(Duration::from_secs(29 * 60));
        let _ = app.get_as(&agent, "/v1/incidents").send().await.unwrap();
    }

    let response = app.get_as(&agent, "/v1/incidents").send().await.unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
}

async fn secrets_are_stored_encrypted_and_hashed_and_never_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.agent("alice", Role::Analyst).await;
    let _ = app.step_up(&agent).await;

    let row = app.state.db().agent_by_username("alice").await.unwrap().unwrap();
    assert!(row.password_hash.starts_with("$argon2id$"));
    assert!(
        !row.totp_secret
            .windows(agent.secret.len())
            .any(|w| w == agent.secret.as_slice())
    );
    let sessions = app.db.count("SELECT COUNT(*) FROM sessions").await;
    assert_eq!(sessions, 1);

    let mut entries = Vec::new();
    for head in app.state.db().audit_heads().await.unwrap() {
        entries.extend(app.state.db().audit_page(head.chain, 0, 1000).await.unwrap());
    }
    assert!(entries.iter().any(|e| e.record.action == "agent.login"));
    assert!(entries.iter().any(|e| e.record.action == "agent.step_up"));
    for entry in entries {
        let text = format!("{:?}", entry.record);
        assert!(!text.contains(&agent.password), "password in the audit log");
        assert!(!text.contains(&agent.token), "token in the audit log");
    }
}

async fn sign_in_is_rate_limited_per_client_address(backend: Backend) {
    let app = spawn_app(backend).await;

    let mut limited = None;
    for _ in 0..100 {
        let response = app.login("nobody", "nope", "123456").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
    }

    let response = limited.expect("sign-ins from one address are limited");
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn agent_add_prints_working_credentials_once_as_json() {
    let app = spawn_app(Backend::Sqlite).await;
    let master = app.state.config().master_key.bytes().to_vec();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["agent", "add", "--username", "dana", "--role", "lead", "--json"])
        .env("HOLDFAST_DATABASE_URL", &app.db.url)
        .env(
            "HOLDFAST_MASTER_KEY",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, master),
        )
        .env(
            "HOLDFAST_INGEST_KEYS",
            format!("k={}", crate::helpers::random_base64(32)),
        )
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    for field in ["username", "password", "totp_secret", "otpauth_uri"] {
        assert!(
            printed[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field} missing"
        );
    }
    let secret = totp_rs::Secret::try_from_base32(printed["totp_secret"].as_str().unwrap())
        .unwrap()
        .as_ref()
        .to_vec();
    assert_eq!(secret.len(), 20, "a 160-bit secret");

    let response = app
        .login("dana", printed["password"].as_str().unwrap(), &app.fresh_code(&secret))
        .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn rotating_the_master_key_keeps_every_agent_able_to_sign_in() {
    let app = spawn_app(Backend::Postgres).await;
    let credentials = app.create_agent("alice", Role::Lead).await;
    let old = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        app.state.config().master_key.bytes(),
    );
    let new = crate::helpers::random_base64(32);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["keys", "rotate", "--new-key", &new])
        .env("HOLDFAST_DATABASE_URL", &app.db.url)
        .env("HOLDFAST_MASTER_KEY", &old)
        .env(
            "HOLDFAST_INGEST_KEYS",
            format!("k={}", crate::helpers::random_base64(32)),
        )
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let rotated = crate::helpers::spawn_app_on(&app, |settings| {
        settings.set("HOLDFAST_MASTER_KEY", new.clone());
    })
    .await;
    let secret = totp_rs::Secret::try_from_base32(&credentials.totp_secret)
        .unwrap()
        .as_ref()
        .to_vec();
    let response = rotated
        .login("alice", &credentials.password, &rotated.fresh_code(&secret))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let row = app.state.db().agent_by_username("alice").await.unwrap().unwrap();
    let new_key = holdfast::platform::crypto::MasterKey::parse_base64(&new).unwrap();
    assert_eq!(
        row.totp_key_id,
        holdfast::platform::crypto::key_id(&new_key),
        "the seed is sealed under the new key"
    );
}
