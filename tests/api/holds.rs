use reqwest::{Method, StatusCode};

use crate::helpers::{Backend, assert_problem, on_both_backends, p1_withdrawal, p3_login, spawn_app};

on_both_backends!(
    a_p1_alert_freezes_login_and_withdrawal_before_it_is_answered,
    an_account_without_holds_is_not_frozen,
    the_holds_check_must_be_signed,
    containment_is_pushed_to_the_exchange_signed_and_once_per_scope,
    a_failing_exchange_is_retried_with_the_same_idempotency_key,
);

async fn a_p1_alert_freezes_login_and_withdrawal_before_it_is_answered(backend: Backend) {
    let app = spawn_app(backend).await;
    // Prime the cache with "no holds" first: the alert must invalidate it.
    assert_eq!(app.holds("acct-1").await["frozen"], false);

    let answer = app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    let holds = app.holds("acct-1").await;

    assert_eq!(answer["incident_status"], "contained");
    assert_eq!(holds["account_id"], "acct-1");
    assert_eq!(holds["frozen"], true);
    let mut scopes: Vec<&str> = holds["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["scope"].as_str().unwrap())
        .collect();
    scopes.sort();
    assert_eq!(scopes, ["login", "withdrawal"]);
    for hold in holds["holds"].as_array().unwrap() {
        assert_eq!(hold["incident_id"], answer["incident_id"]);
        assert!(hold["reason"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(hold["placed_at"].is_string());
        assert!(hold["expires_at"].is_null());
    }
}

async fn an_account_without_holds_is_not_frozen(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p3_login("re-1", "acct-quiet")).await;

    let holds = app.holds("acct-quiet").await;

    assert_eq!(holds["frozen"], false);
    assert_eq!(holds["holds"].as_array().unwrap().len(), 0);
}

async fn the_holds_check_must_be_signed(backend: Backend) {
    let app = spawn_app(backend).await;

    let unsigned = app
        .client
        .get(app.url("/v1/accounts/acct-1/holds"))
        .send()
        .await
        .unwrap();
    let signed = app.signed(Method::GET, "/v1/accounts/acct-1/holds", b"").await;

    assert_problem(unsigned, StatusCode::UNAUTHORIZED).await;
    assert_eq!(signed.status(), StatusCode::OK);
}

async fn containment_is_pushed_to_the_exchange_signed_and_once_per_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let answer = app.ingest(&p1_withdrawal("re-1", "acct-1")).await;

    let pushes = app.exchange.wait_for_actions("acct-1", "place_hold", 2).await;

    let mut scopes: Vec<&str> = pushes.iter().map(|p| p.field("scope")).collect();
    scopes.sort();
    assert_eq!(scopes, ["login", "withdrawal"]);
    for push in &pushes {
        assert!(push.signature_valid, "the push is signed with the outbound key");
        assert_eq!(push.body["incident_id"], answer["incident_id"]);
        assert!(!push.field("idempotency_key").is_empty());
    }
}

async fn a_failing_exchange_is_retried_with_the_same_idempotency_key(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.fail_next(3);

    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    let pushes = app.exchange.wait_for_actions("acct-1", "place_hold", 5).await;

    let keys: std::collections::HashSet<&str> = pushes.iter().map(|p| p.field("idempotency_key")).collect();
    assert_eq!(keys.len(), 2, "retries reuse each push's key: {keys:?}");
    crate::helpers::eventually(
        "both pushes recorded as delivered",
        std::time::Duration::from_secs(10),
        || async {
            let sql = "SELECT COUNT(*) FROM outbox_delivered WHERE idempotency_key LIKE '%:place_hold:%'";
            (app.db.count(sql).await == 2).then_some(())
        },
    )
    .await;
}
