//! Reporting theft without signing in, the lock link, and the exchange
//! app's lock with a key of scope `holder`.

use std::time::{Duration, Instant};

use holdfast::domain::agent::Role;
use holdfast::platform::signing::SigningKey;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, on_both_backends, p1_withdrawal, p3_login, random_base64, spawn_app,
    spawn_app_with,
};
use crate::holder::{EVERY_SCOPE, sent};

on_both_backends!(
    a_report_answers_the_same_for_known_unknown_and_frozen_accounts,
    a_report_while_a_lock_link_is_live_sends_the_same_link_again,
    the_lock_links_button_freezes_the_account_in_a_holder_report_incident,
);

async fn report(app: &TestApp, account: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/holder/report"))
        .json(&json!({"account_id": account}))
        .send()
        .await
        .unwrap()
}

async fn a_report_answers_the_same_for_known_unknown_and_frozen_accounts(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("re-1", "acct-r-frozen")).await;
    app.ingest(&p3_login("re-2", "acct-r-known")).await;

    let mut bodies = Vec::new();
    let mut medians = Vec::new();
    for account in ["acct-r-frozen", "acct-r-known", "acct-r-nobody"] {
        let mut times = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            let response = report(&app, account).await;
            times.push(started.elapsed());
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            bodies.push(response.bytes().await.unwrap());
        }
        times.sort();
        medians.push(times[1]);
    }

    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "byte-identical answers"
    );
    let (fastest, slowest) = (medians.iter().min().unwrap(), medians.iter().max().unwrap());
    assert!(
        slowest.saturating_sub(*fastest) < Duration::from_millis(50),
        "{medians:?}"
    );
    let link = app.exchange.wait_for_notification("acct-r-frozen", "lock_link").await;
    assert!(
        link.body["data"]["lock_url"]
            .as_str()
            .unwrap()
            .contains("/holder/lock/")
    );
}

async fn a_report_while_a_lock_link_is_live_sends_the_same_link_again(backend: Backend) {
    let app = spawn_app(backend).await;
    report(&app, "acct-r2").await;
    let first = app.exchange.wait_for_notification("acct-r2", "lock_link").await;
    app.clock.advance(Duration::from_secs(60));
    report(&app, "acct-r2").await;
    let links = app
        .exchange
        .wait_for("a second lock link", |received| {
            let links: Vec<_> = received
                .iter()
                .filter(|r| r.field("account_id") == "acct-r2" && r.field("template") == "lock_link")
                .cloned()
                .collect();
            (links.len() == 2).then_some(links)
        })
        .await;
    assert_eq!(
        links[1].body["data"]["lock_url"], first.body["data"]["lock_url"],
        "the same link"
    );
    assert_eq!(app.db.count("SELECT COUNT(*) FROM lock_links").await, 1);
    for _ in 0..10 {
        report(&app, "acct-r2").await;
    }
    app.settle().await;
    let sent_links = sent(&app, "acct-r2", "lock_link").len();
    assert!(sent_links <= 5, "the unfreeze links' per-account budget: {sent_links}");
    assert_eq!(
        app.held_scopes("acct-r2").await,
        Vec::<String>::new(),
        "a report freezes nothing by itself"
    );
    let token = first.body["data"]["lock_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    app.clock.advance(Duration::from_secs(24 * 3600));
    let expired = app
        .client
        .get(app.url(&format!("/holder/lock/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::NOT_FOUND, "a lock link lives 24 h");
}

async fn the_lock_links_button_freezes_the_account_in_a_holder_report_incident(backend: Backend) {
    let app = spawn_app(backend).await;
    report(&app, "acct-r3").await;
    let link = app.exchange.wait_for_notification("acct-r3", "lock_link").await;
    let url = link.body["data"]["lock_url"].as_str().unwrap().to_owned();
    let path = url
        .split_once("/holder/")
        .map(|(_, rest)| format!("/holder/{rest}"))
        .unwrap();

    let page = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains("Freeze my account now"));
    assert_eq!(
        app.held_scopes("acct-r3").await,
        Vec::<String>::new(),
        "the page alone freezes nothing"
    );
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    let pressed = app
        .client
        .post(app.url(&path))
        .header("origin", &app.address)
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();

    assert_eq!(pressed.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.held_scopes("acct-r3").await, EVERY_SCOPE);
    let lead = app.agent("lead", Role::Lead).await;
    let incident = app.incident(&lead, &app.incident_of(&lead, "acct-r3").await).await;
    assert_eq!(incident["priority"], "P1");
    assert_eq!(incident["status"], "contained");
    let case = pressed.headers()["location"].to_str().unwrap().to_owned();
    assert!(case.starts_with("/holder/cases/"), "{case}");
    let again = app
        .client
        .post(app.url(&path))
        .header("origin", &app.address)
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "used up by its first press");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alerts_of_kind_holder_report_are_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut alert = p3_login("re-1", "acct-r4");
    alert["kind"] = "holder_report".into();

    let problem = assert_problem(app.post_alert(&alert).await, StatusCode::UNPROCESSABLE_ENTITY).await;

    assert_eq!(problem["errors"][0]["field"], "kind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_apps_lock_needs_the_holder_scope_and_its_own_account_and_answers_a_repeat_alike() {
    let (holder_secret, other_secret) = (random_base64(32), random_base64(32));
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.set(
            "HOLDFAST_INGEST_KEYS",
            format!("engine:alerts+holds={other_secret},app:holder={holder_secret}"),
        );
    })
    .await;
    let holder_key = SigningKey::parse(&format!("app={holder_secret}")).unwrap();
    let other_key = SigningKey::parse(&format!("engine={other_secret}")).unwrap();
    let path = "/v1/accounts/acct-r5/lock";
    let body = json!({"account_id": "acct-r5", "request_id": "app-1"}).to_string();

    let refused = app.signed_with(&other_key, Method::POST, path, body.as_bytes()).await;
    assert_eq!(
        assert_problem(refused, StatusCode::FORBIDDEN).await["type"],
        "/problems/forbidden"
    );
    let other_account = json!({"account_id": "acct-other", "request_id": "app-2"}).to_string();
    let mismatch = app
        .signed_with(&holder_key, Method::POST, path, other_account.as_bytes())
        .await;
    let problem = assert_problem(mismatch, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"][0]["field"], "account_id");
    let holds_by_holder = app
        .signed_with(&holder_key, Method::GET, "/v1/accounts/acct-r5/holds", b"")
        .await;
    assert_eq!(
        holds_by_holder.status(),
        StatusCode::FORBIDDEN,
        "a holder key reads no holds"
    );

    let locked = app.signed_with(&holder_key, Method::POST, path, body.as_bytes()).await;

    assert_eq!(locked.status(), StatusCode::OK);
    let first: Value = locked.json().await.unwrap();
    assert_eq!(first["account_id"], "acct-r5");
    assert!(first["case_url"].as_str().unwrap().contains("/holder/cases/"));
    let holds: Value = app
        .signed_with(&other_key, Method::GET, "/v1/accounts/acct-r5/holds", b"")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(holds["holds"].as_array().unwrap().len(), 4, "frozen before the answer");
    let repeat: Value = app
        .signed_with(&holder_key, Method::POST, path, body.as_bytes())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(repeat, first, "a repeated request_id gets the first answer");
    let token = first["case_url"].as_str().unwrap().rsplit('/').next().unwrap();
    assert_eq!(app.case_json(token).await["state"], "frozen_to_protect_you");
}
