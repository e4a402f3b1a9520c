//! Ingest keys grant scopes (SPEC §1): `alerts` to post alerts, `holds` to
//! read holds; an entry without scopes grants both.

use holdfast::platform::signing::SigningKey;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Backend, assert_problem, p3_login, random_base64, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_may_do_only_what_its_scopes_grant() {
    let (holds_secret, alerts_secret, both_secret) = (random_base64(32), random_base64(32), random_base64(32));
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.set(
            "HOLDFAST_INGEST_KEYS",
            format!("exchange:holds={holds_secret},engine:alerts={alerts_secret},legacy={both_secret}"),
        );
    })
    .await;
    let holds_only = SigningKey::parse(&format!("exchange={holds_secret}")).unwrap();
    let alerts_only = SigningKey::parse(&format!("engine={alerts_secret}")).unwrap();
    let unscoped = SigningKey::parse(&format!("legacy={both_secret}")).unwrap();
    let alert = |id: &str| p3_login(id, "acct-1").to_string();
    let holds_path = "/v1/accounts/acct-1/holds";

    let alert_by_holds_key = app
        .signed_with(&holds_only, Method::POST, "/v1/alerts", alert("re-1").as_bytes())
        .await;
    let holds_by_alerts_key = app.signed_with(&alerts_only, Method::GET, holds_path, b"").await;
    let alert_by_alerts_key = app
        .signed_with(&alerts_only, Method::POST, "/v1/alerts", alert("re-2").as_bytes())
        .await;
    let holds_by_holds_key = app.signed_with(&holds_only, Method::GET, holds_path, b"").await;
    let alert_by_unscoped_key = app
        .signed_with(&unscoped, Method::POST, "/v1/alerts", alert("re-3").as_bytes())
        .await;
    let holds_by_unscoped_key = app.signed_with(&unscoped, Method::GET, holds_path, b"").await;

    let refused = assert_problem(alert_by_holds_key, StatusCode::FORBIDDEN).await;
    assert_eq!(refused["type"], "/problems/forbidden");
    assert!(refused["detail"].as_str().unwrap().contains("alerts"), "{refused}");
    let refused = assert_problem(holds_by_alerts_key, StatusCode::FORBIDDEN).await;
    assert!(refused["detail"].as_str().unwrap().contains("holds"), "{refused}");
    assert_eq!(alert_by_alerts_key.status(), StatusCode::CREATED);
    assert_eq!(holds_by_holds_key.status(), StatusCode::OK);
    assert_eq!(alert_by_unscoped_key.status(), StatusCode::CREATED);
    let holds: Value = holds_by_unscoped_key.json().await.unwrap();
    assert_eq!(holds["account_id"], "acct-1");
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM alerts").await,
        2,
        "the refused alert was not stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bad_signature_is_a_401_even_for_a_key_without_the_scope() {
    let holds_secret = random_base64(32);
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.set("HOLDFAST_INGEST_KEYS", format!("exchange:holds={holds_secret}"));
    })
    .await;
    let impostor = SigningKey::parse(&format!("exchange={}", random_base64(32))).unwrap();

    let response = app
        .signed_with(
            &impostor,
            Method::POST,
            "/v1/alerts",
            p3_login("re-1", "acct-1").to_string().as_bytes(),
        )
        .await;

    assert_problem(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_key_locks_accounts_and_does_nothing_else_and_no_other_key_locks() {
    let (holder_secret, unscoped_secret) = (random_base64(32), random_base64(32));
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.set(
            "HOLDFAST_INGEST_KEYS",
            format!("legacy={unscoped_secret},app:holder={holder_secret}"),
        );
    })
    .await;
    let holder = SigningKey::parse(&format!("app={holder_secret}")).unwrap();
    let unscoped = SigningKey::parse(&format!("legacy={unscoped_secret}")).unwrap();
    let lock = serde_json::json!({"account_id": "acct-1", "request_id": "lock-1"}).to_string();

    let alert_by_holder = app
        .signed_with(
            &holder,
            Method::POST,
            "/v1/alerts",
            p3_login("re-1", "acct-1").to_string().as_bytes(),
        )
        .await;
    let holds_by_holder = app
        .signed_with(&holder, Method::GET, "/v1/accounts/acct-1/holds", b"")
        .await;
    let lock_by_unscoped = app
        .signed_with(&unscoped, Method::POST, "/v1/accounts/acct-1/lock", lock.as_bytes())
        .await;
    let lock_by_holder = app
        .signed_with(&holder, Method::POST, "/v1/accounts/acct-1/lock", lock.as_bytes())
        .await;

    assert_problem(alert_by_holder, StatusCode::FORBIDDEN).await;
    assert_problem(holds_by_holder, StatusCode::FORBIDDEN).await;
    let refused = assert_problem(lock_by_unscoped, StatusCode::FORBIDDEN).await;
    assert!(refused["detail"].as_str().unwrap().contains("holder"), "{refused}");
    assert_eq!(lock_by_holder.status(), StatusCode::OK);
}
