//! "How did we do?": once, after the case ends; and the overview.

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, assert_problem, on_both_backends, p1_withdrawal, spawn_app};
use crate::holder::{notice_token, sent};

on_both_backends!(the_holder_rates_a_closed_case_once_and_the_overview_shows_it);

async fn the_holder_rates_a_closed_case_once_and_the_overview_shows_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let incident = app.ingest_incident(&p1_withdrawal("re-1", "acct-s1")).await;
    let token = notice_token(&app, "acct-s1").await;
    let early = app.case_post(&token, "satisfaction", json!({"score": 5})).await;
    assert_problem(early, StatusCode::CONFLICT).await;

    let lead = app.agent("lead", Role::Lead).await;
    let resolved = app
        .post_as(&lead, &format!("/v1/incidents/{incident}/resolve"))
        .json(&json!({"resolution": "confirmed_takeover", "note": "stolen"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), StatusCode::OK);
    let closed = app.exchange.wait_for_notification("acct-s1", "case_closed").await;
    assert!(
        closed.body["data"]["case_url"]
            .as_str()
            .unwrap()
            .contains("/holder/cases/")
    );
    let case = app.case_json(&token).await;
    assert_eq!(case["satisfaction"], json!({"asked": true, "answered": false}));
    let invalid = app.case_post(&token, "satisfaction", json!({"score": 6})).await;
    assert_eq!(
        assert_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"],
        "score"
    );
    let long = app
        .case_post(&token, "satisfaction", json!({"score": 4, "comment": "x".repeat(501)}))
        .await;
    assert_problem(long, StatusCode::UNPROCESSABLE_ENTITY).await;

    let rated = app
        .case_post(
            &token,
            "satisfaction",
            json!({"score": 4, "comment": "Fast, thank you Pangolin"}),
        )
        .await;

    assert_eq!(rated.status(), StatusCode::CREATED);
    assert_eq!(
        app.case_json(&token).await["satisfaction"],
        json!({"asked": true, "answered": true})
    );
    let again = app.case_post(&token, "satisfaction", json!({"score": 1})).await;
    assert_problem(again, StatusCode::CONFLICT).await;
    assert_eq!(
        app.db
            .count(&crate::holder::messages::contains_bytes(
                backend,
                "holder_cases",
                "satisfaction_comment",
                "Pangolin"
            ))
            .await,
        0,
        "the comment is sealed"
    );
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%Pangolin%'")
            .await,
        0
    );
    let overview: Value = app
        .get_as(&lead, "/v1/overview")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["satisfaction"]["last_7d"], json!({"mean": 4.0, "answers": 1}));
    assert_eq!(overview["satisfaction"]["last_30d"]["answers"], 1);
    assert_eq!(overview["time_to_resolve"]["last_24h"]["count"], 1);
    assert!(overview["time_to_resolve"]["last_7d"]["median_seconds"].is_number());
    assert_eq!(sent(&app, "acct-s1", "case_closed").len(), 1, "the end is told once");
    let console = app.console("lead-console", Role::Lead).await;
    let page = console.page("/console/overview").await;
    assert!(page.contains("id=\"satisfaction\""), "the console overview shows it");
}
