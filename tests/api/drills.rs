//! Drills (SPEC §14): a synthetic wave through the real signed intake, on
//! `drill-…` accounts, that reaches nothing outside Holdfast, counts in no
//! figure, and is reported.

use std::process::Output;
use std::time::Duration;

use holdfast::domain::agent::Role;
use holdfast::platform::signing::SigningKey;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::fake_risk_engine::FakeRiskEngine;
use crate::helpers::{
    Backend, MESSAGES, TestApp, assert_problem, eventually, on_both_backends, p3_login, random_base64, signing_key_of,
    spawn_app_with,
};

on_both_backends!(
    a_drill_wave_reaches_nothing_outside_counts_in_no_figure_and_is_reported,
    a_drill_key_names_only_drill_accounts_and_no_other_key_names_one,
    a_drill_never_shares_a_campaign_with_real_incidents,
    drill_incidents_close_by_themselves_after_a_day_without_a_disposition,
);

/// An app whose ingest keys are the risk engine's and a drill key
/// (`HOLDFAST_INGEST_KEYS`), with a risk engine taking feedback.
async fn app_with_drill_key(backend: Backend) -> (TestApp, SigningKey, FakeRiskEngine) {
    let engine = FakeRiskEngine::start(holdfast::platform::clock::Clock::system()).await;
    let drill_entry = format!("rehearse:drill={}", random_base64(32));
    let drill_key = SigningKey::parse(&signing_key_of(&drill_entry)).unwrap();
    let app = spawn_app_with(backend, |settings| {
        let engine_entry = format!("risk-engine:alerts+holds={}", random_base64(32));
        settings
            .set("HOLDFAST_INGEST_KEYS", format!("{engine_entry},{drill_entry}"))
            .set("HOLDFAST_RISK_FEEDBACK_URL", engine.url())
            .set("HOLDFAST_RISK_FEEDBACK_KEY", engine.key_setting());
    })
    .await;
    (app, drill_key, engine)
}

/// Runs the `holdfast` binary against the app's database and keys.
async fn holdfast(app: &TestApp, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"));
    command
        .args(args)
        .env("HOLDFAST_DATABASE_URL", &app.db.url)
        .env("HOLDFAST_MASTER_KEY", &app.settings["HOLDFAST_MASTER_KEY"])
        .env("HOLDFAST_INGEST_KEYS", &app.settings["HOLDFAST_INGEST_KEYS"]);
    tokio::task::spawn_blocking(move || command.output().expect("run holdfast"))
        .await
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// `holdfast drill run`; returns the drill id from its last line.
async fn run_drill(app: &TestApp, scenario: &str, accounts: &str) -> String {
    let output = holdfast(
        app,
        &[
            "drill",
            "run",
            "--scenario",
            scenario,
            "--accounts",
            accounts,
            "--url",
            &app.address,
        ],
    )
    .await;
    stdout(&output).lines().last().unwrap().trim().to_owned()
}

async fn live_drill_incidents(app: &TestApp) -> i64 {
    app.db
        .count("SELECT COUNT(*) FROM incidents WHERE account_id LIKE 'drill-%' AND status NOT IN ('resolved', 'dismissed')")
        .await
}

async fn a_drill_wave_reaches_nothing_outside_counts_in_no_figure_and_is_reported(backend: Backend) {
    let (app, _, engine) = app_with_drill_key(backend).await;
    let lead = app.agent("lee", Role::Lead).await;
    app.ingest(&p3_login("re-1", "acct-1")).await;

    let takeover = run_drill(&app, "single-takeover", "1").await;
    let stuffing = run_drill(&app, "credential-stuffing", "4").await;
    let drill_incident = app
        .db
        .count(&format!(
            "SELECT COUNT(*) FROM incidents WHERE account_id LIKE 'drill-{stuffing}-%'"
        ))
        .await;
    assert_eq!(drill_incident, 4);
    // The team works one of the wave's incidents and resolves the takeover.
    let worked = app.incident_of(&lead, &format!("drill-{stuffing}-0001")).await;
    let acknowledged = app
        .post_as(&lead, &format!("/v1/incidents/{worked}/acknowledge"))
        .send()
        .await
        .unwrap();
    assert_eq!(acknowledged.status(), StatusCode::OK);
    let taken_id = app.incident_of(&lead, &format!("drill-{takeover}-0001")).await;
    let detail = app.incident(&lead, &taken_id).await;
    assert_eq!(detail["drill"], true);
    assert_eq!(detail["status"], "contained");
    let resolved = app
        .post_as(&lead, &format!("/v1/incidents/{taken_id}/resolve"))
        .json(&json!({"resolution": "confirmed_takeover"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), StatusCode::OK);
    app.settle().await;

    let reached_exchange: Vec<_> = app
        .exchange
        .received()
        .into_iter()
        .filter(|r| r.field("account_id").starts_with("drill-"))
        .collect();
    assert!(
        reached_exchange.is_empty(),
        "a drill reached the exchange: {reached_exchange:?}"
    );
    assert!(
        engine.received().is_empty(),
        "a drill's disposition reached the risk engine"
    );
    let sunk = app
        .db
        .count(
            "SELECT COUNT(*) FROM outbox_delivered WHERE body LIKE '%\"account_id\":\"drill-%'
             AND response LIKE '%drill_sink%'",
        )
        .await;
    assert!(sunk >= 3, "holds and the disposition went to the drill sink: {sunk}");
    let overview = app.get_json_as(&lead, "/v1/overview").await;
    let open_total: i64 = overview["open_incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["total"].as_i64().unwrap())
        .sum();
    assert_eq!(open_total, 1, "only the real incident is counted: {overview}");
    assert_eq!(overview["time_to_contain"]["last_24h"]["count"], 0, "{overview}");
    assert_eq!(overview["time_to_acknowledge"]["last_24h"]["count"], 0, "{overview}");

    let single = stdout(&holdfast(&app, &["drill", "report", &takeover]).await);
    assert!(single.contains(&format!("drill-{takeover}-0001")), "{single}");
    assert!(single.contains(" ms"), "the automatic containment is timed: {single}");
    assert!(single.contains("medians: automatic containment "), "{single}");
    let wave = stdout(&holdfast(&app, &["drill", "report", &stuffing]).await);
    assert!(wave.contains("recognised as a campaign: yes"), "{wave}");
    assert!(wave.contains("4 of 4 incidents"), "{wave}");
    assert!(
        !wave.contains("team acknowledge -"),
        "the acknowledgement is timed: {wave}"
    );

    let console = app.console("watcher", Role::Analyst).await;
    let queue = console.page("/console/").await;
    assert!(
        queue.contains("class=\"badge drill\""),
        "the queue marks drill incidents: {queue}"
    );
    let page = console.page(&format!("/console/incidents/{worked}")).await;
    assert!(page.contains("class=\"badge drill\""), "{page}");

    let stopped = stdout(&holdfast(&app, &["drill", "stop", &stuffing]).await);
    assert!(stopped.contains("4 incident(s) dismissed"), "{stopped}");
    assert_eq!(live_drill_incidents(&app).await, 0);
}

async fn a_drill_key_names_only_drill_accounts_and_no_other_key_names_one(backend: Backend) {
    let (app, drill_key, _) = app_with_drill_key(backend).await;

    let real_by_drill = app
        .signed_with(
            &drill_key,
            Method::POST,
            "/v1/alerts",
            p3_login("re-1", "acct-1").to_string().as_bytes(),
        )
        .await;
    let drill_by_engine = app.post_alert(&p3_login("re-2", "drill-abcd-0001")).await;
    let drill_by_drill = app
        .signed_with(
            &drill_key,
            Method::POST,
            "/v1/alerts",
            p3_login("re-3", "drill-abcd-0001").to_string().as_bytes(),
        )
        .await;

    assert_problem(real_by_drill, StatusCode::FORBIDDEN).await;
    let problem = assert_problem(drill_by_engine, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"][0]["field"], "account_id");
    assert_eq!(drill_by_drill.status(), StatusCode::CREATED);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM incidents").await, 1);
}

async fn a_drill_never_shares_a_campaign_with_real_incidents(backend: Backend) {
    let (app, drill_key, _) = app_with_drill_key(backend).await;
    let from = |alert_id: &str, account: &str| {
        let mut alert = p3_login(alert_id, account);
        alert["login"]["ip"] = json!("203.0.113.77");
        alert
    };

    for (n, account) in ["drill-abcd-0001", "drill-abcd-0002"].into_iter().enumerate() {
        let body = from(&format!("d-{n}"), account).to_string();
        let response = app
            .signed_with(&drill_key, Method::POST, "/v1/alerts", body.as_bytes())
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    app.ingest(&from("r-1", "acct-1")).await;
    app.ingest(&from("r-2", "acct-2")).await;

    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM campaigns").await,
        0,
        "two drill and two real sightings of one address are two pairs, not a campaign of four"
    );
}

async fn drill_incidents_close_by_themselves_after_a_day_without_a_disposition(backend: Backend) {
    let (app, drill_key, engine) = app_with_drill_key(backend).await;
    let body = p3_login("d-1", "drill-abcd-0001").to_string();
    let response = app
        .signed_with(&drill_key, Method::POST, "/v1/alerts", body.as_bytes())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    assert_eq!(
        holdfast::drills::sweep::close_due(&app.state).await.unwrap(),
        0,
        "not yet a day old"
    );
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    // The instance's own sweep looks again when the clock moves, so it may
    // close the incident before (or instead of) this call: between them,
    // exactly the one incident is closed.
    let closed_here = holdfast::drills::sweep::close_due(&app.state).await.unwrap();
    assert!(closed_here <= 1, "closed {closed_here}");
    eventually(
        "the day-old drill incident to be closed",
        Duration::from_secs(10),
        || async { (live_drill_incidents(&app).await == 0).then_some(()) },
    )
    .await;
    assert_eq!(
        holdfast::drills::sweep::close_due(&app.state).await.unwrap(),
        0,
        "nothing is left to close"
    );
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM {MESSAGES} WHERE destination = 'risk_feedback'"
            ))
            .await,
        0
    );
    assert!(engine.received().is_empty());
}
