//! Campaigns in the console: the list, the badge on queue rows and on the
//! incident page, and containing every incident of a campaign with one form.

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::location;
use crate::helpers::{Backend, TestApp, on_both_backends, spawn_app};

on_both_backends!(
    the_campaigns_page_lists_a_campaign_and_the_queue_and_incident_link_to_it,
    contain_all_starts_one_run_per_incident_with_one_step_up,
);

/// Three accounts signing in from one address: one campaign. Returns its id.
async fn campaign_of_three(app: &TestApp) -> String {
    for (n, account) in ["acct-a", "acct-b", "acct-c"].iter().enumerate() {
        app.ingest(&json!({
            "alert_id": format!("re-{n}"),
            "kind": "suspicious_login",
            "account_id": account,
            "occurred_at": "2026-11-23T04:00:00Z",
            "login": {"ip": "198.51.100.7", "device_id": account, "new_device": true, "new_country": true}
        }))
        .await;
    }
    app.db
        .count("SELECT COUNT(*) FROM campaigns")
        .await
        .eq(&1)
        .then_some(())
        .expect("one campaign");
    let analyst = app.agent("reader", Role::Analyst).await;
    let list: Value = app
        .get_as(&analyst, "/v1/campaigns")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["campaigns"][0]["id"].as_str().unwrap().to_owned()
}

async fn the_campaigns_page_lists_a_campaign_and_the_queue_and_incident_link_to_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = campaign_of_three(&app).await;
    let console = app.console("ana", Role::Analyst).await;

    let html = console.page("/console/campaigns").await;
    assert!(html.contains("Sign-in IP address"), "{html}");
    assert!(html.contains("198.51.100.7"));
    for account in ["acct-a", "acct-b", "acct-c"] {
        assert!(html.contains(account), "{account}");
    }
    assert!(html.contains(&format!("href=\"/console/campaigns/{id}\"")));
    assert!(
        html.contains("href=\"/console/campaigns\" aria-current=\"page\""),
        "the nav marks the page"
    );

    let korean = console.page("/console/campaigns?lang=ko").await;
    assert!(korean.contains("로그인 IP 주소"));

    let queue = console.page("/console/").await;
    assert_eq!(
        queue
            .matches(&format!("class=\"badge campaign\" href=\"/console/campaigns/{id}\""))
            .count(),
        3,
        "each queue row of the campaign carries its badge"
    );
    let start = queue.find("href=\"/console/incidents/").unwrap() + "href=\"/console/incidents/".len();
    let incident = queue[start..].split('"').next().unwrap();
    let page = console.page(&format!("/console/incidents/{incident}")).await;
    assert!(page.contains(&format!("href=\"/console/campaigns/{id}\"")));

    let campaign = console.page(&format!("/console/campaigns/{id}")).await;
    assert!(campaign.contains(&format!("action=\"/console/campaigns/{id}/contain\"")));
    assert!(campaign.contains("name=\"playbook_id\""));
    assert!(
        campaign.contains("id=\"otp-campaign\""),
        "a TOTP field when no step-up is fresh"
    );

    let missing = console.get("/console/campaigns/nope").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn contain_all_starts_one_run_per_incident_with_one_step_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = campaign_of_three(&app).await;
    let console = app.console("ana", Role::Analyst).await;
    let path = format!("/console/campaigns/{id}/contain");

    let without_code = console
        .post(&path, &[("playbook_id", "contain-suspicious-login")])
        .await;
    assert_eq!(without_code.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM runs").await, 0, "nothing started");

    let code = console.code();
    let contained = console
        .post(&path, &[("playbook_id", "contain-suspicious-login"), ("otp", &code)])
        .await;
    assert_eq!(contained.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&contained),
        format!("/console/campaigns/{id}?done=campaign_contained")
    );
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM runs").await,
        3,
        "one run per incident"
    );
    let page = console.page(&location(&contained)).await;
    assert!(page.contains("Containment started"));

    let refused = console
        .post_raw(&path, &[("playbook_id", "contain-suspicious-login")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "no CSRF token, no change");
    assert_eq!(app.db.count("SELECT COUNT(*) FROM runs").await, 3);
}
