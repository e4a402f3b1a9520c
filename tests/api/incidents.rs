use std::collections::HashSet;

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, assert_problem, on_both_backends, p1_withdrawal, p3_login, p4_withdrawal, spawn_app};

on_both_backends!(
    the_list_filters_and_pages_newest_first_with_the_most_urgent_first_within_a_page,
    the_detail_shows_sla_alerts_holds_reasons_and_a_timeline_of_who_did_what_when,
    next_claims_the_most_urgent_unassigned_incident_and_then_answers_204,
    concurrent_claims_never_hand_out_the_same_incident_twice,
    illegal_transitions_are_409_and_legal_ones_are_on_the_timeline,
    resolving_needs_a_valid_resolution,
    a_dismissed_incident_is_closed_and_the_next_alert_opens_a_new_one,
    an_unknown_incident_is_404,
);

async fn the_list_filters_and_pages_newest_first_with_the_most_urgent_first_within_a_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.agent("ana", Role::Analyst).await;
    for i in 0..3 {
        app.ingest(&p4_withdrawal(&format!("p4-{i}"), &format!("acct-p4-{i}")))
            .await;
        app.ingest(&p3_login(&format!("p3-{i}"), &format!("acct-p3-{i}"))).await;
    }
    app.ingest(&p1_withdrawal("p1", "acct-p1")).await;

    let first: Value = app
        .get_as(&agent, "/v1/incidents?limit=4")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let priorities: Vec<&str> = first["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["priority"].as_str().unwrap())
        .collect();
    assert_eq!(
        priorities,
        ["P1", "P3", "P3", "P4"],
        "the newest four (p1, p3-2, p4-2, p3-1), most urgent first"
    );
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .get_as(&agent, &format!("/v1/incidents?limit=4&cursor={cursor}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["incidents"].as_array().unwrap().len(), 3);
    assert!(second["next_cursor"].is_null());
    let seen: HashSet<&str> = first["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["incidents"].as_array().unwrap())
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(seen.len(), 7);

    let p3: Value = app
        .get_as(&agent, "/v1/incidents?priority=P3")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p3["incidents"].as_array().unwrap().len(), 3);
    let contained: Value = app
        .get_as(&agent, "/v1/incidents?status=contained")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(contained["incidents"][0]["account_id"], "acct-p1");
    let account: Value = app
        .get_as(&agent, "/v1/incidents?account_id=acct-p3-1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(account["incidents"].as_array().unwrap().len(), 1);
    let bad = app
        .get_as(&agent, "/v1/incidents?status=nonsense&priority=P9")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
}

async fn the_detail_shows_sla_alerts_holds_reasons_and_a_timeline_of_who_did_what_when(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.agent("ana", Role::Analyst).await;
    let id = app.ingest_incident(&p1_withdrawal("re-1", "acct-1")).await;

    let incident = app.incident(&agent, &id).await;

    assert_eq!(incident["id"], id.as_str());
    assert_eq!(incident["account_id"], "acct-1");
    assert_eq!(incident["status"], "contained");
    assert_eq!(incident["priority"], "P1");
    assert!(!incident["priority_reasons"].as_array().unwrap().is_empty());
    for field in ["acknowledge_by", "contain_by", "breached"] {
        assert!(incident["sla"].get(field).is_some(), "sla.{field}");
    }
    assert_eq!(incident["alerts"][0]["alert_id"], "re-1");
    assert_eq!(incident["holds"].as_array().unwrap().len(), 2);
    let timeline = incident["timeline"].as_array().unwrap();
    assert!(
        timeline
            .iter()
            .all(|e| e["at"].is_string() && e["actor"].is_string() && e["event"].is_string())
    );
    assert_eq!(timeline[0]["event"], "alert.received");
    assert_eq!(incident["runs"][0]["playbook_id"], "contain-large-withdrawal");
}

async fn next_claims_the_most_urgent_unassigned_incident_and_then_answers_204(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.agent("ana", Role::Analyst).await;
    app.ingest(&p4_withdrawal("a", "acct-a")).await;
    app.ingest(&p3_login("b", "acct-b")).await;

    let first: Value = app
        .post_as(&agent, "/v1/incidents/next")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second: Value = app
        .post_as(&agent, "/v1/incidents/next")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let none = app.post_as(&agent, "/v1/incidents/next").send().await.unwrap();

    assert_eq!(first["priority"], "P3");
    assert_eq!(first["assignee"], "ana");
    assert_eq!(second["priority"], "P4");
    assert_eq!(none.status(), StatusCode::NO_CONTENT);
}

async fn concurrent_claims_never_hand_out_the_same_incident_twice(backend: Backend) {
    let app = spawn_app(backend).await;
    let ana = app.agent("ana", Role::Analyst).await;
    let bob = app.agent("bob", Role::Analyst).await;
    for i in 0..6 {
        app.ingest(&p3_login(&format!("re-{i}"), &format!("acct-{i}"))).await;
    }

    let claims = futures_util::future::join_all((0..10).map(|i| {
        let agent = if i % 2 == 0 { &ana } else { &bob };
        app.post_as(agent, "/v1/incidents/next").send()
    }))
    .await;

    let mut claimed = Vec::new();
    let mut empty = 0;
    for response in claims {
        let response = response.unwrap();
        match response.status() {
            StatusCode::OK => claimed.push(
                response.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
            StatusCode::NO_CONTENT => empty += 1,
            other => panic!("unexpected {other}"),
        }
    }
    let distinct: HashSet<&String> = claimed.iter().collect();
    assert_eq!(claimed.len(), 6);
    assert_eq!(distinct.len(), 6, "no incident was handed out twice");
    assert_eq!(empty, 4);
}

async fn illegal_transitions_are_409_and_legal_ones_are_on_the_timeline(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let lead = app.agent("lee", Role::Lead).await;
    let open = app.ingest_incident(&p3_login("re-1", "acct-1")).await;
    let contained = app.ingest_incident(&p1_withdrawal("re-2", "acct-2")).await;

    let resolve_open = app
        .post_as(&lead, &format!("/v1/incidents/{open}/resolve"))
        .json(&json!({"resolution": "user_error"}))
        .send()
        .await
        .unwrap();
    assert_problem(resolve_open, StatusCode::CONFLICT).await;
    let acknowledged = app
        .post_as(&analyst, &format!("/v1/incidents/{open}/acknowledge"))
        .send()
        .await
        .unwrap();
    assert_eq!(acknowledged.status(), StatusCode::OK);
    assert_eq!(acknowledged.json::<Value>().await.unwrap()["status"], "acknowledged");
    let twice = app
        .post_as(&analyst, &format!("/v1/incidents/{open}/acknowledge"))
        .send()
        .await
        .unwrap();
    assert_problem(twice, StatusCode::CONFLICT).await;
    let dismiss_contained = app
        .post_as(&analyst, &format!("/v1/incidents/{contained}/dismiss"))
        .json(&json!({"note": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(dismiss_contained, StatusCode::CONFLICT).await;

    let resolved = app
        .post_as(&lead, &format!("/v1/incidents/{contained}/resolve"))
        .json(&json!({"resolution": "confirmed_takeover", "note": "holder confirmed on the phone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), StatusCode::OK);
    let resolved: Value = resolved.json().await.unwrap();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolution"], "confirmed_takeover");
    let event = resolved["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "incident.resolved")
        .unwrap()
        .clone();
    assert_eq!(event["actor"], "agent:lee");
    assert_eq!(event["detail"]["note"], "holder confirmed on the phone");
}

async fn resolving_needs_a_valid_resolution(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app.agent("lee", Role::Lead).await;
    let id = app.ingest_incident(&p1_withdrawal("re-1", "acct-1")).await;

    let missing = app
        .post_as(&lead, &format!("/v1/incidents/{id}/resolve"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let wrong = app
        .post_as(&lead, &format!("/v1/incidents/{id}/resolve"))
        .json(&json!({"resolution": "solved", "note": 5}))
        .send()
        .await
        .unwrap();
    let malformed = app
        .post_as(&lead, &format!("/v1/incidents/{id}/resolve"))
        .body("{")
        .send()
        .await
        .unwrap();

    assert_eq!(
        assert_problem(missing, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"],
        "resolution"
    );
    let problem = assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["resolution", "note"]);
    assert_problem(malformed, StatusCode::BAD_REQUEST).await;
}

async fn a_dismissed_incident_is_closed_and_the_next_alert_opens_a_new_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let first = app.ingest_incident(&p3_login("re-1", "acct-1")).await;

    let dismissed = app
        .post_as(&analyst, &format!("/v1/incidents/{first}/dismiss"))
        .json(&json!({"note": "travelling"}))
        .send()
        .await
        .unwrap();
    let later = app.ingest(&p3_login("re-2", "acct-1")).await;

    assert_eq!(dismissed.json::<Value>().await.unwrap()["status"], "dismissed");
    assert_ne!(later["incident_id"], first.as_str());
}

async fn an_unknown_incident_is_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;

    let response = app
        .get_as(&analyst, "/v1/incidents/does-not-exist")
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::NOT_FOUND).await;
}
