//! `HOLDFAST_EXCHANGE_LISTEN` (SPEC §1): a listener with connection slots of
//! its own that serves the signed routes and the health checks only, so the
//! exchange keeps capacity no anonymous client can take.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, assert_problem, eventually, on_both_backends, p1_withdrawal, spawn_app_with};
use crate::slow_clients::{metric, metrics_client, server_address, stalled_reader};

on_both_backends!(with_the_public_listener_full_the_exchange_listener_still_answers_the_holds_check);

/// A signed holds check for `account` sent through `client` to `base`.
async fn holds_check(app: &TestApp, client: &reqwest::Client, base: &str, account: &str) -> reqwest::Response {
    let mut request = client.get(format!("{base}/v1/accounts/{account}/holds"));
    for (name, value) in app.ingest_key.headers(app.clock.now(), b"") {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

async fn with_the_public_listener_full_the_exchange_listener_still_answers_the_holds_check(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings
            .set("HOLDFAST_EXCHANGE_LISTEN", "127.0.0.1:0")
            .set("HOLDFAST_ADMIN_LISTEN", "127.0.0.1:0")
            .set("HOLDFAST_MAX_CONNECTIONS", "4");
    })
    .await;
    let exchange_base = app.exchange_address.clone().expect("an exchange listener is bound");
    let admin_base = app.admin_address.clone().expect("an admin listener is bound");
    app.ingest(&p1_withdrawal("re-1", "acct-frozen")).await;
    let exchange = app.client_from("127.0.0.3");
    // The database pool and caches warmed, as the exchange's steady checks keep them.
    let warm_up = holds_check(&app, &app.client, &exchange_base, "acct-frozen").await;
    assert_eq!(warm_up.status(), StatusCode::OK);

    // Every slot of the public listener taken by clients that never read.
    let mut flood = Vec::new();
    for _ in 0..4 {
        flood.push(stalled_reader("127.0.0.2", server_address(&app.address)).await);
    }
    eventually(
        "every slot of the public listener to be taken",
        Duration::from_secs(5),
        || async {
            let open = metric(
                &metrics_client(),
                &admin_base,
                "holdfast_http_connections_open",
                &[("listener", "public")],
            )
            .await;
            (open >= 4.0).then_some(())
        },
    )
    .await;

    let started = Instant::now();
    let check = holds_check(&app, &exchange, &exchange_base, "acct-frozen").await;
    let answered_in = started.elapsed();
    let unsigned = holds_check_unsigned(&exchange, &exchange_base).await;
    let description = exchange
        .get(format!("{exchange_base}/openapi.json"))
        .send()
        .await
        .unwrap();
    let console = exchange.get(format!("{exchange_base}/console/")).send().await.unwrap();
    let link_request = exchange
        .post(format!("{exchange_base}/v1/unfreeze"))
        .json(&serde_json::json!({"account_id": "acct-frozen"}))
        .send()
        .await
        .unwrap();
    let health = exchange.get(format!("{exchange_base}/readyz")).send().await.unwrap();

    assert_eq!(check.status(), StatusCode::OK);
    assert!(answered_in < Duration::from_millis(100), "answered in {answered_in:?}");
    let body: Value = check.json().await.unwrap();
    assert_eq!(body["frozen"], true, "{body}");
    assert_problem(unsigned, StatusCode::UNAUTHORIZED).await;
    assert_problem(description, StatusCode::NOT_FOUND).await;
    assert_problem(console, StatusCode::NOT_FOUND).await;
    assert_problem(link_request, StatusCode::NOT_FOUND).await;
    assert_eq!(health.status(), StatusCode::OK);
}

async fn holds_check_unsigned(client: &reqwest::Client, base: &str) -> reqwest::Response {
    client
        .get(format!("{base}/v1/accounts/acct-frozen/holds"))
        .send()
        .await
        .unwrap()
}

/// `(METHOD, path)` of every operation the API description says is signed.
fn signed_operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut signed = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let requirements = operation["security"].as_array().into_iter().flatten();
            if requirements
                .filter_map(Value::as_object)
                .any(|requirement| requirement.contains_key("riskEngineSignature"))
            {
                signed.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    signed
}

#[test]
fn the_exchange_listener_serves_exactly_the_signed_operations_and_the_health_checks() {
    let document: Value = serde_json::from_str(holdfast::app::openapi::document()).unwrap();
    let mut expected = signed_operations(&document);
    assert!(
        expected.contains(&("GET".into(), "/v1/accounts/{account_id}/holds".into())),
        "the holds check is signed: {expected:?}"
    );
    for health in ["/healthz", "/readyz"] {
        expected.insert(("GET".into(), health.into()));
    }

    let served: BTreeSet<(String, String)> = holdfast::app::exchange_routes()
        .operations()
        .iter()
        .map(|operation| (operation.method.to_string(), operation.path.to_owned()))
        .collect();

    assert_eq!(served, expected);
}
