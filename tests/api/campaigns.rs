//! Campaigns (SPEC §12): incidents of different accounts sharing an attacker
//! signal within a window, recognised at intake, listed, contained at once.

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestAgent, TestApp, assert_problem, on_both_backends, p1_withdrawal, spawn_app, spawn_app_on,
    spawn_app_with,
};

on_both_backends!(
    three_accounts_signing_in_from_one_ip_within_the_hour_form_a_campaign_that_a_fourth_joins,
    sign_ins_spread_over_more_than_the_window_or_from_different_addresses_form_no_campaign,
    fifty_concurrent_alerts_sharing_one_device_across_instances_form_exactly_one_campaign,
    containing_a_campaign_freezes_every_account_once_and_skips_the_contained,
    a_destination_campaign_made_p1_by_the_rules_is_contained_at_intake,
    campaign_requests_for_unknown_campaigns_or_playbooks_answer_the_usual_problems,
    signal_values_are_forgotten_after_the_window_and_the_retention_period,
);

/// A sign-in alert that alone is P3 (new device, new country), from `ip`
/// on `device`, `minutes` after 04:00.
fn login(alert_id: &str, account: &str, ip: &str, device: &str, minutes: u32) -> Value {
    json!({
        "alert_id": alert_id,
        "kind": "suspicious_login",
        "account_id": account,
        "occurred_at": format!("2026-11-23T{:02}:{:02}:00Z", 4 + minutes / 60, minutes % 60),
        "login": {"ip": ip, "country": "BR", "device_id": device, "new_device": true, "new_country": true}
    })
}

async fn campaigns(app: &TestApp, agent: &TestAgent) -> Vec<Value> {
    let response = app.get_as(agent, "/v1/campaigns").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["campaigns"].as_array().unwrap().clone()
}

fn has_campaign_reason(incident: &Value) -> bool {
    incident["priority_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["rule"] == "campaign")
}

async fn three_accounts_signing_in_from_one_ip_within_the_hour_form_a_campaign_that_a_fourth_joins(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let ip = "198.51.100.7";
    let first = app.ingest(&login("re-1", "acct-a", ip, "d-a", 0)).await;
    assert_eq!(first["priority"], "P3", "one account alone is no campaign");
    app.ingest(&login("re-2", "acct-b", ip, "d-b", 10)).await;
    assert!(
        campaigns(&app, &analyst).await.is_empty(),
        "two accounts are no campaign"
    );
    let third = app.ingest(&login("re-3", "acct-c", ip, "d-c", 25)).await;
    assert_eq!(
        third["priority"], "P2",
        "the alert completing a campaign is answered with its floor"
    );

    let list = campaigns(&app, &analyst).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let campaign = &list[0];
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM campaign_heads WHERE kind = 'ip' AND campaign_id = '{}'",
                campaign["id"].as_str().unwrap()
            ))
            .await,
        1,
        "the address's head names its campaign"
    );
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM campaign_heads").await,
        1,
        "devices differ"
    );
    assert_eq!(campaign["signal"], json!({"kind": "ip", "value": ip, "masked": false}));
    assert_eq!(campaign["accounts"], 3);
    let ids: Vec<String> = campaign["incident_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    for id in &ids {
        let incident = app.incident(&analyst, id).await;
        assert_eq!(incident["priority"], "P2", "{incident}");
        assert_eq!(incident["campaign_id"], campaign["id"]);
        assert!(has_campaign_reason(&incident), "{incident}");
        let events: Vec<&str> = incident["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert!(events.contains(&"campaign.joined"), "{events:?}");
        assert!(events.contains(&"incident.priority_raised"), "{events:?}");
    }

    let fourth = app.ingest(&login("re-4", "acct-d", ip, "d-d", 50)).await;
    assert_eq!(fourth["priority"], "P2", "a fourth account joins at intake");
    let incident = app.incident(&analyst, fourth["incident_id"].as_str().unwrap()).await;
    assert_eq!(incident["campaign_id"], campaign["id"]);
    assert!(has_campaign_reason(&incident));
    let list = campaigns(&app, &analyst).await;
    assert_eq!(list.len(), 1, "the fourth joined the campaign, no second one");
    assert_eq!(list[0]["accounts"], 4);
    assert_eq!(list[0]["incident_ids"].as_array().unwrap().len(), 4);

    let shown = app
        .get_json_as(&analyst, &format!("/v1/campaigns/{}", campaign["id"].as_str().unwrap()))
        .await;
    assert_eq!(shown, list[0]);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'campaign.recognized'")
            .await,
        1
    );
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%{ip}%' OR actor LIKE '%{ip}%'"
            ))
            .await,
        0,
        "signal values never enter the audit log"
    );
}

async fn sign_ins_spread_over_more_than_the_window_or_from_different_addresses_form_no_campaign(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    // One address, three accounts, but no hour holds all three.
    app.ingest(&login("re-1", "acct-a", "198.51.100.7", "d-a", 0)).await;
    app.ingest(&login("re-2", "acct-b", "198.51.100.7", "d-b", 40)).await;
    let late = app.ingest(&login("re-3", "acct-c", "198.51.100.7", "d-c", 110)).await;
    assert_eq!(late["priority"], "P3");
    // Three accounts at once, each from its own address and device.
    for (n, account) in ["acct-d", "acct-e", "acct-f"].iter().enumerate() {
        let alert = login(&format!("re-d{n}"), account, &format!("192.0.2.{n}"), account, 5);
        assert_eq!(app.ingest(&alert).await["priority"], "P3");
    }
    assert!(campaigns(&app, &analyst).await.is_empty());
    assert_eq!(app.db.count("SELECT COUNT(*) FROM campaigns").await, 0);
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM campaign_heads").await,
        0,
        "a signal gets a head row only when it forms a campaign"
    );
    assert_eq!(app.db.count("SELECT COUNT(*) FROM campaign_signals").await, 12);
}

async fn fifty_concurrent_alerts_sharing_one_device_across_instances_form_exactly_one_campaign(backend: Backend) {
    let a = spawn_app(backend).await;
    // SQLite serves one instance; PostgreSQL two behind a load balancer.
    let b = match backend.is_postgres() {
        true => Some(spawn_app_on(&a, |_| {}).await),
        false => None,
    };
    let instances: Vec<&TestApp> = std::iter::once(&a).chain(b.as_ref()).collect();
    let posts = (0..50).map(|n| {
        let app = instances[n % instances.len()];
        let alert = login(
            &format!("re-{n}"),
            &format!("acct-{n:02}"),
            &format!("192.0.2.{n}"),
            "shared-device-1",
            (n % 30) as u32,
        );
        async move {
            let response = app.post_alert(&alert).await;
            assert_eq!(response.status(), StatusCode::CREATED);
            response.json::<Value>().await.unwrap()
        }
    });
    let answers = futures_util::future::join_all(posts).await;

    let analyst = a.agent("ana", Role::Analyst).await;
    let list = campaigns(&a, &analyst).await;
    assert_eq!(list.len(), 1, "exactly one campaign: {list:?}");
    assert_eq!(list[0]["signal"]["kind"], "device");
    assert_eq!(list[0]["accounts"], 50);
    let mut members: Vec<&str> = list[0]["incident_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    members.sort();
    let mut incidents: Vec<&str> = answers.iter().map(|a| a["incident_id"].as_str().unwrap()).collect();
    incidents.sort();
    assert_eq!(members, incidents, "every incident is in the campaign");
    assert_eq!(a.db.count("SELECT COUNT(*) FROM campaigns").await, 1);
    assert_eq!(
        a.db.count("SELECT COUNT(*) FROM incidents WHERE priority NOT IN ('P1', 'P2')")
            .await,
        0,
        "every incident of the campaign is at least P2"
    );
}

async fn containing_a_campaign_freezes_every_account_once_and_skips_the_contained(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    for (n, account) in ["acct-a", "acct-b", "acct-c"].iter().enumerate() {
        app.ingest(&login(&format!("re-{n}"), account, "198.51.100.7", account, n as u32))
            .await;
    }
    app.contain_as_analyst("acct-a").await;
    app.settle().await;
    let campaign = &campaigns(&app, &analyst).await[0];
    let id = campaign["id"].as_str().unwrap();
    let contained_first = app.incident_of(&analyst, "acct-a").await;

    let without_step_up = app
        .post_as(&analyst, &format!("/v1/campaigns/{id}/contain"))
        .json(&json!({"playbook_id": "contain-suspicious-login"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(without_step_up, StatusCode::FORBIDDEN).await;
    assert!(problem["type"].as_str().unwrap().ends_with("mfa-required"));

    let response = app
        .post_as(&analyst, &format!("/v1/campaigns/{id}/contain"))
        .header("x-holdfast-otp", app.fresh_code(&analyst.secret))
        .json(&json!({"playbook_id": "contain-suspicious-login"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["runs"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(
        body["skipped"],
        json!([{"incident_id": contained_first, "status": "contained"}])
    );
    for run in body["runs"].as_array().unwrap() {
        app.wait_for_run(&analyst, run["run_id"].as_str().unwrap(), "succeeded")
            .await;
    }
    app.settle().await;
    for account in ["acct-a", "acct-b", "acct-c"] {
        assert_eq!(app.holds(account).await["frozen"], true, "{account}");
        let holds_pushed = app
            .exchange
            .received()
            .iter()
            .filter(|r| r.field("account_id") == account && r.field("action") == "place_hold")
            .count();
        assert_eq!(holds_pushed, 2, "{account} is frozen once (login and withdrawal)");
    }

    // Again: everything is contained now.
    let again: Value = app
        .post_as(&analyst, &format!("/v1/campaigns/{id}/contain"))
        .header("x-holdfast-otp", app.fresh_code(&analyst.secret))
        .json(&json!({"playbook_id": "contain-suspicious-login"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["runs"], json!([]));
    assert_eq!(again["skipped"].as_array().unwrap().len(), 3);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'campaign.contained' AND actor LIKE '%ana%'")
            .await,
        2
    );
}

async fn a_destination_campaign_made_p1_by_the_rules_is_contained_at_intake(backend: Backend) {
    let rules = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/priority.toml")).unwrap();
    let (head, destination) = rules.split_once("[campaigns.destination]").unwrap();
    let stronger = format!(
        "{head}[campaigns.destination]{}",
        destination.replace("priority = \"P2\"", "priority = \"P1\"")
    );
    let path = std::env::temp_dir().join(format!("holdfast-rules-{}.toml", crate::helpers::unique_name()));
    std::fs::write(&path, stronger).unwrap();
    let app = spawn_app_with(backend, |settings| {
        settings.set("HOLDFAST_PRIORITY_RULES", path.display().to_string());
    })
    .await;
    let mut answers = Vec::new();
    for account in ["acct-a", "acct-b", "acct-c"] {
        let mut alert = p1_withdrawal(&format!("re-{account}"), account);
        alert["withdrawal"] = json!({"usd_value": "1200", "destination": "bc1qmule", "new_destination": false});
        alert["risk_score"] = json!(0.1);
        answers.push(app.ingest(&alert).await);
    }
    assert_eq!(answers[0]["priority"], "P4");
    assert_eq!(answers[2]["priority"], "P1");
    assert_eq!(answers[2]["incident_status"], "contained");
    for account in ["acct-a", "acct-b", "acct-c"] {
        assert_eq!(
            app.holds(account).await["frozen"],
            true,
            "{account} contained at intake"
        );
    }
    let _ = std::fs::remove_file(path);
}

async fn campaign_requests_for_unknown_campaigns_or_playbooks_answer_the_usual_problems(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let missing = app.get_as(&analyst, "/v1/campaigns/nope").send().await.unwrap();
    assert_problem(missing, StatusCode::NOT_FOUND).await;
    let missing = app
        .post_as(&analyst, "/v1/campaigns/nope/contain")
        .header("x-holdfast-otp", app.fresh_code(&analyst.secret))
        .json(&json!({"playbook_id": "contain-suspicious-login"}))
        .send()
        .await
        .unwrap();
    assert_problem(missing, StatusCode::NOT_FOUND).await;
    for (n, account) in ["acct-a", "acct-b", "acct-c"].iter().enumerate() {
        app.ingest(&login(&format!("re-{n}"), account, "198.51.100.7", account, 0))
            .await;
    }
    let id = campaigns(&app, &analyst).await[0]["id"].as_str().unwrap().to_owned();
    let unknown = app
        .post_as(&analyst, &format!("/v1/campaigns/{id}/contain"))
        .header("x-holdfast-otp", app.fresh_code(&analyst.secret))
        .json(&json!({"playbook_id": "no-such-playbook"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"][0]["field"], "playbook_id");
    let anonymous = app.client.get(app.url("/v1/campaigns")).send().await.unwrap();
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

async fn signal_values_are_forgotten_after_the_window_and_the_retention_period(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    for (n, account) in ["acct-a", "acct-b", "acct-c"].iter().enumerate() {
        app.ingest(&login(&format!("re-{n}"), account, "198.51.100.7", account, 0))
            .await;
    }
    holdfast::campaigns::forget_expired(&app.state).await.unwrap();
    assert_eq!(
        campaigns(&app, &analyst).await[0]["signal"]["value"],
        "198.51.100.7",
        "kept for now"
    );

    app.clock
        .advance(holdfast::campaigns::RETENTION + std::time::Duration::from_secs(3601));
    holdfast::campaigns::forget_expired(&app.state).await.unwrap();

    // A week later the first session has long expired.
    let analyst = app.agent("ana-again", Role::Analyst).await;
    let campaign = &campaigns(&app, &analyst).await[0];
    assert_eq!(
        campaign["signal"],
        json!({"kind": "ip", "value": "198.51.100.*", "masked": true})
    );
    assert_eq!(campaign["accounts"], 3, "the campaign itself stays");
    assert_eq!(app.db.count("SELECT COUNT(*) FROM campaign_signals").await, 0);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM campaign_heads").await, 0);
}
