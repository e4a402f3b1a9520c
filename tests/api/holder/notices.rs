//! Risk notices: one per change that adds a freeze or first brings an
//! incident to P2 or P1, with nothing a notice must not carry.

use crate::helpers::{Backend, MESSAGES, on_both_backends, p1_withdrawal, p3_login, spawn_app};
use crate::holder::{case_token, sent};

on_both_backends!(
    a_p1_alert_sends_one_risk_notice_with_nothing_it_must_not_carry,
    a_p3_incident_is_noticed_once_it_is_frozen_and_not_before
);

async fn a_p1_alert_sends_one_risk_notice_with_nothing_it_must_not_carry(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut alert = p1_withdrawal("re-1", "acct-n1");
    alert["withdrawal"]["destination"] = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh".into();
    let incident = app.ingest_incident(&alert).await;
    let again = p1_withdrawal("re-2", "acct-n1");
    app.ingest(&again).await;
    app.settle().await;

    let notices = sent(&app, "acct-n1", "risk_notice");
    assert_eq!(
        notices.len(),
        1,
        "one notice for the one change that froze: {notices:?}"
    );
    let notice = &notices[0];
    assert_eq!(notice.field("idempotency_key"), format!("risk_notice:{incident}:1"));
    let data = &notice.body["data"];
    let token = case_token(notice);
    assert!(token.len() >= 22, "at least 128 random bits");
    assert!(
        data["case_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/holder/cases/{token}"))
    );
    assert!(
        data["not_me_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/holder/cases/{token}/not-me"))
    );
    let happened = &data["what_happened"][0];
    assert_eq!(happened["kind"], "large_withdrawal");
    assert_eq!(happened["asset"], "BTC");
    assert_eq!(happened["destination"], "bc1q…0wlh");
    let scopes: Vec<&str> = data["what_we_did"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hold| hold["scope"].as_str().unwrap())
        .collect();
    assert!(
        scopes.contains(&"login") && scopes.contains(&"withdrawal"),
        "{scopes:?}"
    );
    let text = notice.body.to_string().to_lowercase();
    for forbidden in [
        "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
        "password",
        "\"code\"",
        "secret",
        "device",
    ] {
        assert!(!text.contains(forbidden), "the notice carries {forbidden}: {text}");
    }
    let raw = app
        .db
        .count(&format!(
            "SELECT COUNT(*) FROM {MESSAGES} WHERE idempotency_key = 'risk_notice:{incident}:1' AND body LIKE '%{token}%'"
        ))
        .await;
    assert_eq!(raw, 0, "the case link is sealed in the outbox");
}

async fn a_p3_incident_is_noticed_once_it_is_frozen_and_not_before(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut login = p3_login("re-1", "acct-n3");
    login["login"]["ip"] = "203.0.113.77".into();
    app.ingest(&login).await;
    app.settle().await;
    assert!(
        sent(&app, "acct-n3", "risk_notice").is_empty(),
        "a P3 without a freeze is not noticed"
    );

    app.contain_as_analyst("acct-n3").await;
    app.settle().await;

    let notices = sent(&app, "acct-n3", "risk_notice");
    assert_eq!(notices.len(), 1, "{notices:?}");
    let text = notices[0].body.to_string();
    assert!(!text.contains("203.0.113.77"), "never an IP address: {text}");
    assert!(!text.contains("d-acct-n3"), "never a device id: {text}");
    assert_eq!(notices[0].body["data"]["what_happened"][0]["country"], "BR");
}

on_both_backends!(a_campaign_notices_each_holder_once_at_p2_and_once_more_when_contained_all_at_once);

async fn a_campaign_notices_each_holder_once_at_p2_and_once_more_when_contained_all_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", holdfast::domain::agent::Role::Analyst).await;
    let accounts = ["acct-w1", "acct-w2", "acct-w3"];
    for (n, account) in accounts.iter().enumerate() {
        let mut alert = p3_login(&format!("re-{n}"), account);
        alert["login"]["ip"] = "198.51.100.77".into();
        app.ingest(&alert).await;
    }
    app.settle().await;
    for account in accounts {
        let notices = sent(&app, account, "risk_notice");
        assert_eq!(notices.len(), 1, "{account}: first at P2");
        assert!(notices[0].body["data"]["what_we_did"].as_array().unwrap().is_empty());
    }
    let campaigns: serde_json::Value = app
        .get_as(&analyst, "/v1/campaigns")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = campaigns["campaigns"][0]["id"].as_str().unwrap().to_owned();

    let response = app
        .post_as(&analyst, &format!("/v1/campaigns/{id}/contain"))
        .header("x-holdfast-otp", app.fresh_code(&analyst.secret))
        .json(&serde_json::json!({"playbook_id": "contain-suspicious-login"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    for run in body["runs"].as_array().unwrap() {
        app.wait_for_run(&analyst, run["run_id"].as_str().unwrap(), "succeeded")
            .await;
    }
    app.settle().await;

    for account in accounts {
        let notices = sent(&app, account, "risk_notice");
        assert_eq!(notices.len(), 2, "{account}: and once more for the freeze");
        assert!(notices[1].field("idempotency_key").ends_with(":2"));
        assert!(!notices[1].body["data"]["what_we_did"].as_array().unwrap().is_empty());
        assert!(!notices[1].body.to_string().contains("198.51.100.77"));
    }
}
