//! Rule quality (SPEC §14): per priority rule and per alert kind, over 7 and
//! 30 days, the incidents it fired in and how they ended.

use std::time::Duration;

use holdfast::domain::agent::Role;
use holdfast::platform::signing::SigningKey;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestAgent, TestApp, assert_problem, on_both_backends, p1_withdrawal, p3_login, random_base64,
    signing_key_of, spawn_app_with,
};

on_both_backends!(
    rule_quality_counts_how_each_rules_incidents_ended_over_7_and_30_days,
    rule_quality_is_for_leads_over_7_or_30_days_only,
);

async fn decide(app: &TestApp, lead: &TestAgent, id: &str, action: &str, body: Value) {
    let response = app
        .post_as(lead, &format!("/v1/incidents/{id}/{action}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{action} {id}");
}

async fn quality(app: &TestApp, lead: &TestAgent, days: u32) -> Value {
    let response = app
        .get_as(lead, &format!("/v1/rules/quality?days={days}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// `[fired, confirmed_takeover, false_positive, user_error, dismissed, open]` of `name` in `section`.
fn counts(quality: &Value, section: &str, name: &str) -> [i64; 6] {
    let line = quality[section]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in {section}: {quality}"));
    [
        "fired",
        "confirmed_takeover",
        "false_positive",
        "user_error",
        "dismissed",
        "open",
    ]
    .map(|field| line[field].as_i64().unwrap())
}

async fn rule_quality_counts_how_each_rules_incidents_ended_over_7_and_30_days(backend: Backend) {
    let drill_entry = format!("rehearse:drill={}", random_base64(32));
    let drill_key = SigningKey::parse(&signing_key_of(&drill_entry)).unwrap();
    let app = spawn_app_with(backend, |settings| {
        let engine = format!("risk-engine:alerts+holds={}", random_base64(32));
        settings.set("HOLDFAST_INGEST_KEYS", format!("{engine},{drill_entry}"));
    })
    .await;
    // Twenty days ago: a sign-in dismissed.
    let early = app.agent("early", Role::Lead).await;
    let old = app.ingest_incident(&p3_login("re-old", "acct-old")).await;
    decide(&app, &early, &old, "dismiss", json!({})).await;
    app.clock.advance(Duration::from_secs(20 * 86_400));
    let lead = app.agent("lee", Role::Lead).await;
    // This week: three large withdrawals resolved three ways, a sign-in
    // dismissed, one still open, and a drill nobody counts.
    for (account, resolution) in [
        ("acct-1", "confirmed_takeover"),
        ("acct-2", "false_positive"),
        ("acct-3", "user_error"),
    ] {
        let id = app
            .ingest_incident(&p1_withdrawal(&format!("re-{account}"), account))
            .await;
        decide(&app, &lead, &id, "resolve", json!({"resolution": resolution})).await;
    }
    let dismissed = app.ingest_incident(&p3_login("re-4", "acct-4")).await;
    decide(&app, &lead, &dismissed, "dismiss", json!({})).await;
    app.ingest(&p3_login("re-5", "acct-5")).await;
    let drill = p3_login("re-drill", "drill-abcd-0001").to_string();
    let posted = app
        .signed_with(&drill_key, Method::POST, "/v1/alerts", drill.as_bytes())
        .await;
    assert_eq!(posted.status(), StatusCode::CREATED);

    let week = quality(&app, &lead, 7).await;
    let month = quality(&app, &lead, 30).await;

    assert_eq!(week["days"], 7);
    for rule in [
        "withdrawal_over_10k",
        "withdrawal_over_50k",
        "withdrawal_over_200k",
        "new_destination",
    ] {
        assert_eq!(counts(&week, "rules", rule), [3, 1, 1, 1, 0, 0], "{rule}: {week}");
        assert_eq!(counts(&month, "rules", rule), [3, 1, 1, 1, 0, 0], "{rule}");
    }
    for rule in ["new_device", "new_country"] {
        assert_eq!(counts(&week, "rules", rule), [2, 0, 0, 0, 1, 1], "{rule}: {week}");
        assert_eq!(counts(&month, "rules", rule), [3, 0, 0, 0, 2, 1], "{rule}: {month}");
    }
    assert_eq!(counts(&week, "kinds", "large_withdrawal"), [3, 1, 1, 1, 0, 0]);
    assert_eq!(counts(&week, "kinds", "suspicious_login"), [2, 0, 0, 0, 1, 1]);
    assert_eq!(counts(&month, "kinds", "suspicious_login"), [3, 0, 0, 0, 2, 1]);
    assert_eq!(week["rules"].as_array().unwrap().len(), 6, "{week}");
    assert_eq!(week["mostly_false_positives"], json!(["new_country", "new_device"]));
    assert_eq!(
        week["caught_confirmed_takeovers"],
        json!([
            "new_destination",
            "withdrawal_over_10k",
            "withdrawal_over_200k",
            "withdrawal_over_50k"
        ])
    );

    let console = app.console("leader", Role::Lead).await;
    let html = console.page("/console/rules?days=30").await;
    assert!(html.contains("<h1>Rule quality</h1>"), "{html}");
    let row = |name: &str| {
        let start = html
            .find(&format!("<code>{name}</code></th>"))
            .unwrap_or_else(|| panic!("{name}: {html}"));
        let end = html[start..].find("</tr>").unwrap() + start;
        html[start..end].to_owned()
    };
    assert!(
        row("new_device").ends_with("<td>3</td><td>0</td><td>0</td><td>0</td><td>2</td><td>1</td>"),
        "{}",
        row("new_device")
    );
    assert!(
        html.contains("fired in 3 incidents: 0 confirmed takeovers, 2 false positive or dismissed"),
        "{html}"
    );
    let korean = console.page("/console/rules?days=7&lang=ko").await;
    assert!(korean.contains("<h1>규칙 품질</h1>"), "{korean}");
}

async fn rule_quality_is_for_leads_over_7_or_30_days_only(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let lead = app.agent("lee", Role::Lead).await;
    let analyst = app.agent("ana", Role::Analyst).await;

    let by_analyst = app.get_as(&analyst, "/v1/rules/quality?days=7").send().await.unwrap();
    let fortnight = app.get_as(&lead, "/v1/rules/quality?days=14").send().await.unwrap();
    let words = app.get_as(&lead, "/v1/rules/quality?days=week").send().await.unwrap();
    let console = app.console("analyst", Role::Analyst).await;
    let page = console.get("/console/rules").await;

    assert_problem(by_analyst, StatusCode::FORBIDDEN).await;
    let problem = assert_problem(fortnight, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"][0]["field"], "days");
    assert_problem(words, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(
        !console.page("/console/").await.contains("/console/rules"),
        "no link for analysts"
    );
}
