//! Per-client limits key on the client's address (SPEC §1): its TCP peer, or
//! behind a trusted proxy the address that proxy forwarded. Clients here are
//! real sockets bound to 127.0.0.2 and 127.0.0.3, talking to the server on
//! 127.0.0.1.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, assert_problem, on_both_backends, p1_withdrawal, spawn_app, spawn_app_with};

on_both_backends!(
    one_client_over_its_sign_in_limit_does_not_throttle_another,
    a_holder_still_gets_a_link_while_another_client_is_over_its_limit,
    a_forwarded_for_header_from_an_untrusted_peer_changes_nothing,
    behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket,
);

/// Sign-ins from `client` until one is refused with 429 (at most `tries`).
async fn sign_in_until_limited(app: &TestApp, client: &reqwest::Client, tries: usize) -> Option<reqwest::Response> {
    for _ in 0..tries {
        let response = app.login_from(client, "nobody", "wrong", "123456").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            return Some(response);
        }
    }
    None
}

/// A holder's code submission (an unknown link, so it is cheap) through
/// `client`, with `X-Forwarded-For` when given.
async fn holder_step(app: &TestApp, client: &reqwest::Client, forwarded_for: Option<&str>) -> StatusCode {
    let mut request = client
        .post(app.url("/v1/unfreeze/no-such-link/code"))
        .json(&json!({"code": "123456"}));
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded_for);
    }
    request.send().await.unwrap().status()
}

/// Holder steps until one is refused with 429; the number sent, or `None`.
async fn holder_steps_until_limited(
    app: &TestApp,
    client: &reqwest::Client,
    forwarded_for: impl Fn(usize) -> Option<String>,
) -> Option<usize> {
    // The holder-step bucket holds 120, refilled two a second.
    for attempt in 1..=200 {
        let status = holder_step(app, client, forwarded_for(attempt).as_deref()).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Some(attempt);
        }
        assert_eq!(status, StatusCode::NOT_FOUND, "attempt {attempt}");
    }
    None
}

async fn one_client_over_its_sign_in_limit_does_not_throttle_another(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.client_from("127.0.0.2");
    let second = app.client_from("127.0.0.3");

    let limited = sign_in_until_limited(&app, &first, 100).await;
    let other = app.login_from(&second, "nobody", "wrong", "123456").await;

    let limited = limited.expect("the first client is limited");
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
    assert_problem(other, StatusCode::UNAUTHORIZED).await;
}

async fn a_holder_still_gets_a_link_while_another_client_is_over_its_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("re-1", "acct-frozen")).await;
    let flooder = app.client_from("127.0.0.2");
    let holder = app.client_from("127.0.0.3");
    // One client asks for more links than its address may (100 at once, one
    // a second), each for another account so only the address limit bites.
    for i in 0..130 {
        let response = app.request_unfreeze_from(&flooder, &format!("acct-other-{i}")).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dropped = metrics
        .lines()
        .find_map(|line| line.strip_prefix("holdfast_unfreeze_requests_dropped_total "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(
        dropped >= 1.0,
        "the flooding client went over its limit: {dropped} dropped"
    );

    let response = app.request_unfreeze_from(&holder, "acct-frozen").await;

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let link = app.exchange.wait_for_notification("acct-frozen", "unfreeze_link").await;
    assert!(link.body["data"]["flow_token"].as_str().is_some_and(|t| !t.is_empty()));
}

async fn a_forwarded_for_header_from_an_untrusted_peer_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let forger = app.client_from("127.0.0.2");
    let other = app.client_from("127.0.0.3");

    // A new forged address on every request: were it believed, each would
    // get a fresh bucket and the limit would never bite.
    let limited_after = holder_steps_until_limited(&app, &forger, |i| Some(format!("198.51.100.{}", i % 250))).await;
    // Another client claiming to be the limited one is not put in its bucket.
    let claiming = holder_step(&app, &other, Some("127.0.0.2")).await;

    assert!(limited_after.is_some(), "the forger is limited by its own address");
    assert_eq!(
        claiming,
        StatusCode::NOT_FOUND,
        "the other client keeps its own allowance"
    );
}

async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.set("HOLDFAST_TRUSTED_PROXIES", "127.0.0.2/32");
    })
    .await;
    let proxy = app.client_from("127.0.0.2");
    let direct = app.client_from("127.0.0.3");

    let limited_after = holder_steps_until_limited(&app, &proxy, |_| Some("198.51.100.1".into())).await;
    // The proxy appends the address it saw; what the client wrote to the
    // left of it is not believed.
    let spoofing = holder_step(&app, &proxy, Some("198.51.100.9, 198.51.100.1")).await;
    let another_forwarded = holder_step(&app, &proxy, Some("198.51.100.2")).await;
    let untrusted_claiming = holder_step(&app, &direct, Some("198.51.100.2, 198.51.100.1")).await;

    assert!(limited_after.is_some(), "the first forwarded client is limited");
    assert_eq!(
        spoofing,
        StatusCode::TOO_MANY_REQUESTS,
        "still the first client's bucket"
    );
    assert_eq!(
        another_forwarded,
        StatusCode::NOT_FOUND,
        "a second forwarded client has its own bucket"
    );
    assert_eq!(
        untrusted_claiming,
        StatusCode::NOT_FOUND,
        "a direct client is its own peer address"
    );
}
