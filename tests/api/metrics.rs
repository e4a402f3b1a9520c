//! The response-time metrics, the gauges read from the database and the
//! failure counters of SPEC §11, read from `/metrics` on the admin listener.

use std::time::Duration;

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, eventually, on_both_backends, p1_withdrawal, p3_login, spawn_app_with};

on_both_backends!(
    response_times_are_measured_when_transitions_commit_under_the_opening_priority,
    the_gauges_follow_the_database,
    a_delivery_that_gives_up_and_the_step_it_fails_are_counted,
);

/// A metric's value for exactly `labels` (`priority="P3"`), if reported.
pub fn metric(text: &str, name: &str, labels: &str) -> Option<f64> {
    let series = if labels.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{labels}}}")
    };
    text.lines()
        .find_map(|line| line.strip_prefix(&series)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn spawn(backend: Backend, customise: impl FnOnce(&mut crate::helpers::TestSettings)) -> TestApp {
    spawn_app_with(backend, |settings| {
        settings
            .set("HOLDFAST_ADMIN_LISTEN", "127.0.0.1:0")
            .set("HOLDFAST_GAUGE_INTERVAL", "50ms");
        customise(settings);
    })
    .await
}

impl TestApp {
    pub async fn scrape(&self) -> String {
        let admin = self.admin_address.as_ref().expect("an admin listener");
        let response = self.client.get(format!("{admin}/metrics")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }
}

async fn response_times_are_measured_when_transitions_commit_under_the_opening_priority(backend: Backend) {
    let app = spawn(backend, |_| {}).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let lead = app.agent("lee", Role::Lead).await;
    let p3 = app.ingest_incident(&p3_login("re-1", "acct-1")).await;
    // Opened P3, raised to P1 (and contained at once) by a second alert.
    app.ingest(&p3_login("re-2", "acct-2")).await;
    app.ingest(&p1_withdrawal("re-3", "acct-2")).await;
    app.ingest(&p1_withdrawal("re-4", "acct-3")).await;

    let before = app.scrape().await;
    assert_eq!(
        metric(
            &before,
            "holdfast_time_to_acknowledge_seconds_count",
            r#"priority="P3""#
        ),
        Some(0.0),
        "nothing is acknowledged yet, and the series is there from the start"
    );

    app.clock.advance(Duration::from_secs(120));
    let acknowledged = app
        .post_as(&analyst, &format!("/v1/incidents/{p3}/acknowledge"))
        .send()
        .await
        .unwrap();
    assert_eq!(acknowledged.status(), StatusCode::OK);
    app.clock.advance(Duration::from_secs(600));
    app.contain_as_analyst("acct-1").await;
    app.settle().await;
    let resolved = app
        .post_as(&lead, &format!("/v1/incidents/{p3}/resolve"))
        .json(&json!({"resolution": "confirmed_takeover"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), StatusCode::OK);

    let text = app.scrape().await;
    let value = |name: &str, priority: &str| metric(&text, name, &format!(r#"priority="{priority}""#));
    assert_eq!(value("holdfast_time_to_acknowledge_seconds_count", "P3"), Some(1.0));
    let acknowledge = value("holdfast_time_to_acknowledge_seconds_sum", "P3").unwrap();
    assert!((120.0..150.0).contains(&acknowledge), "{acknowledge}");
    // acct-1 by the analyst, acct-2 at intake once raised: both opened P3.
    assert_eq!(value("holdfast_time_to_contain_seconds_count", "P3"), Some(2.0));
    let contain = value("holdfast_time_to_contain_seconds_sum", "P3").unwrap();
    assert!((720.0..800.0).contains(&contain), "{contain}");
    assert_eq!(value("holdfast_time_to_contain_seconds_count", "P1"), Some(1.0));
    assert!(value("holdfast_time_to_contain_seconds_sum", "P1").unwrap() < 5.0);
    assert_eq!(value("holdfast_time_to_resolve_seconds_count", "P3"), Some(1.0));
    assert!(value("holdfast_time_to_resolve_seconds_sum", "P3").unwrap() >= 720.0);
    assert_eq!(value("holdfast_time_to_resolve_seconds_count", "P1"), Some(0.0));
    assert!(
        text.contains(r#"holdfast_time_to_acknowledge_seconds_bucket{priority="P3",le="3600"} 1"#),
        "{text}"
    );
}

async fn the_gauges_follow_the_database(backend: Backend) {
    let app = spawn(backend, |_| {}).await;
    app.exchange.stall();
    app.ingest(&p3_login("re-1", "acct-1")).await;
    app.ingest(&p3_login("re-2", "acct-2")).await;
    app.ingest(&p1_withdrawal("re-3", "acct-3")).await;
    // The holder's risk notice goes to the notification service, which is
    // not stalled: count once it is delivered.
    crate::helpers::eventually(
        "the notices to be delivered",
        std::time::Duration::from_secs(15),
        || async {
            let notices = app
                .db
                .count("SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND destination = 'notify'")
                .await;
            (notices == 0).then_some(())
        },
    )
    .await;
    let pending = app
        .db
        .count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        .await;
    assert!(pending > 0);

    let expected = format!("P1=1 P3=2 pending={pending}");
    let gauges = |text: &str| {
        format!(
            "P1={} P3={} pending={}",
            metric(text, "holdfast_incidents_open", r#"priority="P1""#).unwrap_or(-1.0),
            metric(text, "holdfast_incidents_open", r#"priority="P3""#).unwrap_or(-1.0),
            metric(text, "holdfast_outbox_pending", "").unwrap_or(-1.0),
        )
    };
    eventually(
        &format!("the gauges to read {expected}"),
        Duration::from_secs(10),
        || async { (gauges(&app.scrape().await) == expected).then_some(()) },
    )
    .await;

    // Another instance on the same database reports the same figures: they
    // are read from the tables, not counted in one instance's memory.
    let other = crate::helpers::spawn_app_on(&app, |_| {}).await;
    eventually("the second instance's gauges", Duration::from_secs(10), || async {
        (gauges(&other.scrape().await) == expected).then_some(())
    })
    .await;

    app.exchange.release();
    app.settle().await;
    eventually("the pending gauge to drop to 0", Duration::from_secs(10), || async {
        (metric(&app.scrape().await, "holdfast_outbox_pending", "") == Some(0.0)).then_some(())
    })
    .await;
}

async fn a_delivery_that_gives_up_and_the_step_it_fails_are_counted(backend: Backend) {
    let app = spawn(backend, |settings| {
        settings.set("HOLDFAST_OUTBOUND_MAX_ATTEMPTS", "2");
    })
    .await;
    app.exchange.fail_next(1000);

    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    app.settle().await;

    let failed = app
        .db
        .count("SELECT COUNT(*) FROM outbox WHERE status = 'failed'")
        .await;
    assert!(failed >= 1);
    let text = app.scrape().await;
    assert_eq!(
        metric(&text, "holdfast_outbox_failed_total", ""),
        Some(failed as f64),
        "{text}"
    );
    assert_eq!(
        metric(&text, "holdfast_run_steps_failed_total", ""),
        Some(1.0),
        "{text}"
    );
}
