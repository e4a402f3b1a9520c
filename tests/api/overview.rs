//! The leads' overview (`GET /v1/overview`): figures for a seeded set of
//! incidents, with response times made exact by the test clock.

use std::time::Duration;

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, on_both_backends, p1_withdrawal, p3_login, spawn_app};

on_both_backends!(the_overview_counts_open_incidents_and_gives_response_time_percentiles);

async fn the_overview_counts_open_incidents_and_gives_response_time_percentiles(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    // Acknowledged after 60, 180 and 300 seconds.
    for (account, after) in [("acct-1", 60), ("acct-2", 180), ("acct-3", 300)] {
        let id = app.ingest_incident(&p3_login(&format!("re-{account}"), account)).await;
        app.clock.advance(Duration::from_secs(after));
        let response = app
            .post_as(&analyst, &format!("/v1/incidents/{id}/acknowledge"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    app.ingest(&p1_withdrawal("re-4", "acct-4")).await;
    app.ingest(&p3_login("re-5", "acct-5")).await;

    let response = app.get_as(&analyst, "/v1/overview").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let overview: Value = response.json().await.unwrap();

    let open = |priority: &str, status: &str| {
        let entry = overview["open_incidents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["priority"] == priority)
            .unwrap();
        entry["by_status"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["status"] == status)
            .unwrap()["count"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(open("P3", "acknowledged"), 3, "{overview}");
    assert_eq!(open("P3", "open"), 1);
    assert_eq!(open("P1", "contained"), 1);
    assert_eq!(open("P2", "open"), 0);
    assert_eq!(overview["open_incidents"][0]["priority"], "P1");
    assert_eq!(overview["open_incidents"][0]["total"], 1);
    assert_eq!(overview["open_incidents"][2]["total"], 4);
    assert_eq!(overview["sla_breaches_today"]["acknowledge"], 0);
    assert_eq!(overview["sla_breaches_today"]["contain"], 0);

    let near = |value: &Value, expected: f64| {
        let value = value.as_f64().unwrap_or(-1.0);
        assert!(
            (expected..expected + 1.0).contains(&value),
            "{value} is not {expected}: {overview}"
        );
    };
    for window in ["last_24h", "last_7d"] {
        let acknowledge = &overview["time_to_acknowledge"][window];
        assert_eq!(acknowledge["count"], 3);
        near(&acknowledge["median_seconds"], 180.0);
        near(&acknowledge["p90_seconds"], 300.0);
        let contain = &overview["time_to_contain"][window];
        assert_eq!(contain["count"], 1);
        near(&contain["median_seconds"], 0.0);
    }
    assert_eq!(overview["reviews"]["waiting"], 0);
    assert_eq!(overview["reviews"]["estimated_wait_seconds"], 1800);
}

on_both_backends!(the_overview_reads_each_window_of_response_times_by_nearest_rank);

/// Eleven incidents acknowledged in the last 7 days, ten of them in the last
/// 24 hours, and one before both windows: each window counts its own, and
/// its median and 90th percentile are the ceil(n × p / 100)th shortest.
async fn the_overview_reads_each_window_of_response_times_by_nearest_rank(backend: Backend) {
    let app = spawn_app(backend).await;
    // A session ends when idle, so each day's acknowledgements have their own.
    let acknowledge_after = |analyst, account: String, seconds: u64| {
        let app = &app;
        async move {
            let id = app.ingest_incident(&p3_login(&format!("re-{account}"), &account)).await;
            app.clock.advance(Duration::from_secs(seconds));
            let response = app
                .post_as(&analyst, &format!("/v1/incidents/{id}/acknowledge"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
    };
    acknowledge_after(app.agent("old", Role::Analyst).await, "acct-old".into(), 5).await;
    app.clock.advance(Duration::from_secs(8 * 86_400));
    acknowledge_after(app.agent("mid", Role::Analyst).await, "acct-mid".into(), 1000).await;
    app.clock.advance(Duration::from_secs(3 * 86_400));
    let analyst = app.agent("ana", Role::Analyst).await;
    for n in 1..=10 {
        acknowledge_after(analyst.clone(), format!("acct-{n}"), n * 60).await;
    }

    let response = app.get_as(&analyst, "/v1/overview").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let overview: Value = response.json().await.unwrap();
    let window = |name: &str| {
        let w = &overview["time_to_acknowledge"][name];
        (
            w["count"].as_i64().unwrap(),
            w["median_seconds"].as_f64().unwrap().floor() as i64,
            w["p90_seconds"].as_f64().unwrap().floor() as i64,
        )
    };
    // 60, 120, …, 600: the 5th and the 9th.
    assert_eq!(window("last_24h"), (10, 300, 540), "{overview}");
    // The same and 1000: the 6th and the 10th; the 5-second one is older.
    assert_eq!(window("last_7d"), (11, 360, 600), "{overview}");
    let resolve = &overview["time_to_resolve"]["last_7d"];
    assert_eq!(resolve["count"], 0);
    assert!(
        resolve["median_seconds"].is_null() && resolve["p90_seconds"].is_null(),
        "{overview}"
    );
}
