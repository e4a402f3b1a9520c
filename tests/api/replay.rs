//! What-if replay (SPEC §14): `holdfast rules replay` on a seeded history
//! gives the expected report, the same report twice, and writes nothing.

use std::process::Output;

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, on_both_backends, p1_withdrawal, p3_login, p4_withdrawal, spawn_app, unique_name,
};

on_both_backends!(a_replay_reports_what_a_candidate_would_change_the_same_way_twice_and_writes_nothing);

const TABLES: [&str; 8] = [
    "alerts",
    "incidents",
    "outbox",
    "outbox_keys",
    "outbox_delivered",
    "audit_log",
    "campaigns",
    "holds",
];

async fn row_counts(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push(app.db.count(&format!("SELECT COUNT(*) FROM {table}")).await);
    }
    counts
}

async fn replay(app: &TestApp, candidate: &str, json: bool) -> Output {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let current = format!("{manifest}/priority.toml");
    let mut args = vec![
        "rules",
        "replay",
        "--rules",
        candidate,
        "--current",
        &current,
        "--since",
        "30d",
        "--until",
        "2026-11-24T00:00:00Z",
        "--database-url",
        &app.db.url,
    ];
    if json {
        args.push("--json");
    }
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"));
    // A retention long enough that the fixed window stays within it.
    command
        .args(&args)
        .env_remove("HOLDFAST_DATABASE_URL")
        .env("HOLDFAST_RETENTION_ALERTS", "3650d");
    let output = tokio::task::spawn_blocking(move || command.output().expect("run holdfast"))
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

async fn decide(app: &TestApp, id: &str, action: &str, body: Value) {
    let lead = app.agent(&format!("lead-{}", unique_name()), Role::Lead).await;
    let response = app
        .post_as(&lead, &format!("/v1/incidents/{id}/{action}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_replay_reports_what_a_candidate_would_change_the_same_way_twice_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let dismissed = app.ingest_incident(&p3_login("re-1", "acct-1")).await;
    decide(&app, &dismissed, "dismiss", json!({})).await;
    let takeover = app.ingest_incident(&p1_withdrawal("re-2", "acct-2")).await;
    decide(&app, &takeover, "resolve", json!({"resolution": "confirmed_takeover"})).await;
    app.ingest(&p3_login("re-3", "acct-3")).await;
    let small = app.ingest_incident(&p4_withdrawal("re-4", "acct-4")).await;
    decide(&app, &small, "dismiss", json!({})).await;
    app.settle().await;
    // The candidate makes a sign-in from a new device worth a P1 on its own.
    let candidate = std::env::temp_dir().join(format!("candidate-{}.toml", unique_name()));
    let shipped = include_str!("../../priority.toml");
    let edited = shipped.replace(
        "when = { new_device = true }\npoints = 15",
        "when = { new_device = true }\npoints = 80",
    );
    assert_ne!(edited, shipped);
    std::fs::write(&candidate, edited).unwrap();
    let candidate = candidate.display().to_string();
    let before = row_counts(&app).await;

    let first = replay(&app, &candidate, false).await;
    let second = replay(&app, &candidate, false).await;
    let as_json = replay(&app, &candidate, true).await;

    assert_eq!(row_counts(&app).await, before, "the replay wrote nothing");
    assert_eq!(first.stdout, second.stdout, "the same input, the same report");
    let text = String::from_utf8(first.stdout).unwrap();
    for expected in [
        "window: 2026-10-25T00:00:00Z to 2026-11-24T00:00:00Z (30 days; drills left out)",
        "read: 4 alerts of 4 incidents",
        "priority changes: 2 incidents",
        "  P3 → P1: 2",
        "automatic containments: 2 gained, 0 lost (1 now, 3 with the candidate)",
        "campaigns: 0 formed, 0 lost (0 now, 0 with the candidate)",
        "  confirmed_takeover (1): 1/0/0/0 → 1/0/0/0",
        "  dismissed (2): 0/0/1/1 → 1/0/0/1",
        "no longer stored: alerts are kept 3650 days: the window lies within it; \
         the oldest alert stored occurred at 2026-11-23T04:00:00Z; \
         0 alerts of the window have lost their signal values and were not replayed",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    let report: Value = serde_json::from_slice(&as_json.stdout).unwrap();
    assert_eq!(report["report"]["incidents"], 4);
    assert_eq!(
        report["report"]["priority_changes"],
        json!([{"from": "P3", "to": "P1", "incidents": 2}])
    );
    assert_eq!(report["report"]["automatic_containments"]["gained"], 2);
}
