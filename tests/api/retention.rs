//! History at scale (SPEC §15): monthly partitions created ahead and
//! dropped past retention, raw values gone and masked ones kept, legal holds,
//! holder messages by month and incidents gone whole after their limit.

use std::time::Duration;

use holdfast::domain::agent::Role;
use holdfast::domain::exchange::Destination;
use holdfast::domain::time::Timestamp;
use holdfast::storage::{Expiry, History, Month, Queued};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestAgent, TestApp, assert_problem, eventually, on_both_backends, p1_withdrawal, p3_login, spawn_app,
    unique_name,
};
use crate::unfreeze::{answers_all, frozen_flow, verify_holder};

on_both_backends!(
    raw_signal_values_expire_while_campaigns_keep_the_masked_value_and_incidents_their_summaries,
    a_legal_hold_keeps_an_incidents_alerts_messages_and_timeline_past_every_limit_until_released,
    only_a_second_lead_releases_a_legal_hold_and_both_steps_are_audited_with_their_reason,
    a_month_of_messages_past_their_limit_goes_whole_sparing_a_held_incidents_and_newer_ones,
    a_month_of_deliveries_past_their_limit_goes_whole_sparing_a_held_incidents_and_every_key_stays_known,
    an_incident_closed_past_its_limit_goes_with_its_rows_once_its_timeline_is_archived_unless_held_or_open,
);

mod partitions_are_created_ahead_and_a_month_past_retention_is_dropped_with_nothing_else_lost {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::partitions_are_created_ahead_and_a_month_past_retention_is_dropped_with_nothing_else_lost(
            crate::helpers::Backend::Postgres,
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_with_redis() {
        super::partitions_are_created_ahead_and_a_month_past_retention_is_dropped_with_nothing_else_lost(
            crate::helpers::Backend::PostgresWithRedis,
        )
        .await
    }
}

const DAY: Duration = Duration::from_secs(86_400);

/// One retention pass, as the service's daily task runs it; waits out the
/// pass the instance runs at start if it still holds the lock.
async fn retention_pass(app: &TestApp) -> Expiry {
    eventually("a retention pass", Duration::from_secs(30), || async {
        holdfast::retention::run_once(&app.state).await.unwrap()
    })
    .await
}

/// The monthly partitions of `history` in the database's catalogue.
async fn partitions(app: &TestApp, history: History) -> Vec<String> {
    let mut months = app.state.db().partitions(history).await.unwrap();
    months.sort();
    months.into_iter().map(|m| m.partition(history)).collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.db.count(sql).await
}

async fn dismiss(app: &TestApp, agent: &TestAgent, incident: &str) {
    let response = app
        .post_as(agent, &format!("/v1/incidents/{incident}/dismiss"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "dismissing {incident}");
}

async fn resolve(app: &TestApp, agent: &TestAgent, incident: &str, resolution: &str) {
    let response = app
        .post_as(agent, &format!("/v1/incidents/{incident}/resolve"))
        .json(&json!({"resolution": resolution}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "resolving {incident}");
}

/// Archives the audit log before `cut`, as `holdfast audit archive` does,
/// asserting there was something to archive; the file itself is not kept.
async fn archive_before(app: &TestApp, cut: Timestamp) {
    let out = std::env::temp_dir().join(format!("holdfast-retention-{}.jsonl", unique_name()));
    let db = app.state.db();
    let archived = holdfast::audit::archive::archive(
        db,
        db.audit_keys().unwrap(),
        cut,
        app.clock.now(),
        app.state.config().retention.audit,
        &out,
    )
    .await
    .unwrap();
    std::fs::remove_file(&out).unwrap();
    assert!(archived.is_some(), "entries before {cut:?} to archive");
}

/// A team message in the incident's case thread.
async fn write_message(app: &TestApp, agent: &TestAgent, incident: &str) {
    let reply = app
        .post_as(agent, &format!("/v1/incidents/{incident}/messages"))
        .json(&json!({"body": "We are looking into it."}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED, "writing to {incident}");
}

/// The incident's case thread, as agents read it.
async fn thread(app: &TestApp, agent: &TestAgent, incident: &str) -> Vec<Value> {
    let response = app
        .get_as(agent, &format!("/v1/incidents/{incident}/messages"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["messages"].as_array().unwrap().clone()
}

async fn legal_hold(app: &TestApp, lead: &TestAgent, incident: &str, action: &str, reason: &str) -> reqwest::Response {
    let path = match action {
        "set" => format!("/v1/incidents/{incident}/legal-hold"),
        _ => format!("/v1/incidents/{incident}/legal-hold/release"),
    };
    app.post_as(lead, &path)
        .header("x-holdfast-otp", app.fresh_code(&lead.secret))
        .json(&json!({"reason": reason}))
        .send()
        .await
        .unwrap()
}

async fn partitions_are_created_ahead_and_a_month_past_retention_is_dropped_with_nothing_else_lost(backend: Backend) {
    let app = spawn_app(backend).await;
    retention_pass(&app).await;
    let this_month = Month::of(app.clock.now());
    for history in History::ALL {
        let ahead: Vec<String> = [this_month, this_month.next(), this_month.next().next()]
            .iter()
            .map(|m| m.partition(history))
            .collect();
        let existing = partitions(&app, history).await;
        for name in &ahead {
            assert!(existing.contains(name), "{name} is created ahead: {existing:?}");
        }
    }

    let analyst = app.agent("ana", Role::Analyst).await;
    let closed = app.ingest_incident(&p3_login("re-closed", "acct-closed")).await;
    dismiss(&app, &analyst, &closed).await;
    app.ingest_incident(&p3_login("re-live", "acct-live")).await;

    // Past the month's end and the 90 days after it.
    app.clock.advance(200 * DAY);
    let recent = app.ingest_incident(&p3_login("re-recent", "acct-recent")).await;
    let expiry = retention_pass(&app).await;

    let old = this_month.partition(History::Alerts);
    assert!(
        expiry.partitions_dropped.contains(&(History::Alerts, old.clone())),
        "{expiry:?}"
    );
    assert!(!partitions(&app, History::Alerts).await.contains(&old));
    assert!(
        partitions(&app, History::Alerts)
            .await
            .contains(&Month::of(app.clock.now()).next().next().partition(History::Alerts)),
        "months ahead of the new date are created"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM alerts WHERE alert_id = 're-closed'").await,
        0
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM alerts WHERE alert_id = 're-live'").await,
        1,
        "a live incident's alert is carried forward"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM alerts WHERE alert_id = 're-recent'").await,
        1,
        "a newer month is untouched"
    );
    assert!(expiry.rows_carried_forward >= 1, "{expiry:?}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM alerts_default").await,
        0,
        "the default partition holds nothing once months exist"
    );
    let analyst = app.agent("ana-later", Role::Analyst).await;
    let incident = app.incident(&analyst, &closed).await;
    assert_eq!(incident["status"], "dismissed", "the incident itself stays");
    assert_eq!(incident["alerts"], json!([]));
    let incident = app.incident(&analyst, &recent).await;
    assert_eq!(incident["alerts"].as_array().unwrap().len(), 1);

    // The retried alert is still known after its body went.
    let retried = app.post_alert(&p3_login("re-closed", "acct-closed")).await;
    assert_eq!(retried.status(), StatusCode::OK);
    let body: Value = retried.json().await.unwrap();
    assert_eq!(body["incident_id"], closed.as_str(), "{body}");
}

/// Three accounts signing in from one address within the hour.
fn login(alert_id: &str, account: &str, minutes: u32) -> Value {
    json!({
        "alert_id": alert_id,
        "kind": "suspicious_login",
        "account_id": account,
        "occurred_at": format!("2026-11-23T04:{minutes:02}:00Z"),
        "login": {"ip": "198.51.100.7", "country": "BR", "device_id": format!("d-{account}"), "new_device": true, "new_country": true}
    })
}

async fn raw_signal_values_expire_while_campaigns_keep_the_masked_value_and_incidents_their_summaries(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let mut incidents = Vec::new();
    for (n, account) in ["acct-a", "acct-b", "acct-c"].iter().enumerate() {
        let incident = app
            .ingest_incident(&login(&format!("re-{n}"), account, u32::try_from(n).unwrap() * 5))
            .await;
        dismiss(&app, &analyst, &incident).await;
        incidents.push(incident);
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM campaigns WHERE value IS NOT NULL").await,
        1
    );
    retention_pass(&app).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM alerts").await,
        3,
        "nothing is due yet"
    );

    app.clock.advance(150 * DAY);
    let expiry = retention_pass(&app).await;

    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM alerts").await,
        0,
        "raw bodies are gone"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM campaign_signals").await,
        0,
        "sightings are gone"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM alerts WHERE body LIKE '%198.51.100.7%'").await
            + count(
                &app,
                "SELECT COUNT(*) FROM campaign_signals WHERE value = '198.51.100.7'"
            )
            .await
            + count(&app, "SELECT COUNT(*) FROM campaigns WHERE value IS NOT NULL").await
            + count(&app, "SELECT COUNT(*) FROM alert_records WHERE summary LIKE '%198.51%'").await,
        0,
        "the address is nowhere"
    );
    assert!(
        expiry
            .rows_expired
            .iter()
            .any(|(class, n)| *class == "alerts" && *n == 3),
        "{expiry:?}"
    );
    let analyst = app.agent("ana-later", Role::Analyst).await;
    let response = app.get_as(&analyst, "/v1/campaigns").send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["campaigns"][0]["signal"],
        json!({"kind": "ip", "value": "198.51.100.*", "masked": true}),
        "the campaign keeps its masked signal"
    );
    assert_eq!(body["campaigns"][0]["accounts"], 3);
    let summaries = count(
        &app,
        &format!(
            "SELECT COUNT(*) FROM alert_records WHERE incident_id = '{}' AND summary LIKE 'Sign-in from a new device in %'",
            incidents[0]
        ),
    )
    .await;
    assert_eq!(summaries, 1, "the incident keeps its alert's plain-language summary");

    let retried = app.post_alert(&login("re-0", "acct-a", 0)).await;
    assert_eq!(retried.status(), StatusCode::OK, "a retry is still a duplicate");
    let body: Value = retried.json().await.unwrap();
    assert_eq!(body["incident_id"], incidents[0].as_str(), "{body}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM alerts").await,
        0,
        "and stores no body again"
    );
}

async fn a_legal_hold_keeps_an_incidents_alerts_messages_and_timeline_past_every_limit_until_released(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let held = app.ingest_incident(&p3_login("re-held", "acct-held")).await;
    let free = app.ingest_incident(&p3_login("re-free", "acct-free")).await;
    for incident in [&held, &free] {
        let reply = app
            .post_as(&analyst, &format!("/v1/incidents/{incident}/messages"))
            .json(&json!({"body": "We are looking into it."}))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::CREATED);
        dismiss(&app, &analyst, incident).await;
    }
    let first = app.agent("lea", Role::Lead).await;
    let set = legal_hold(&app, &first, &held, "set", "Subpoena 2026-114").await;
    assert_eq!(set.status(), StatusCode::OK);

    // Past every limit: alerts 90 days, messages a year, incidents 5 years.
    app.clock.advance(6 * 365 * DAY);
    retention_pass(&app).await;
    let alerts_of = |incident: &str| format!("SELECT COUNT(*) FROM alerts WHERE incident_id = '{incident}'");
    let messages_of = |incident: &str| format!("SELECT COUNT(*) FROM case_messages WHERE incident_id = '{incident}'");
    assert_eq!(
        count(&app, &alerts_of(&held)).await,
        1,
        "the held incident's alert stays"
    );
    assert_eq!(count(&app, &messages_of(&held)).await, 1, "and its message");
    assert_eq!(count(&app, &alerts_of(&free)).await, 0, "the other one's goes");
    assert_eq!(count(&app, &messages_of(&free)).await, 0);
    let first = app.agent("lea-again", Role::Lead).await;
    let incident = app.incident(&first, &held).await;
    assert_eq!(incident["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(incident["legal_hold"]["reason"], "Subpoena 2026-114");
    let events: Vec<&str> = incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"incident.dismissed") || events.len() > 2, "{events:?}");
    assert!(events.contains(&"incident.legal_hold_set"), "{events:?}");

    let second = app.agent("leo", Role::Lead).await;
    let released = legal_hold(&app, &second, &held, "release", "Case closed by the court").await;
    assert_eq!(released.status(), StatusCode::OK);

    // Within 30 days of the release everything stays.
    app.clock.advance(29 * DAY);
    retention_pass(&app).await;
    assert_eq!(
        count(&app, &alerts_of(&held)).await,
        1,
        "kept for 30 days after release"
    );
    assert_eq!(count(&app, &messages_of(&held)).await, 1);

    // Long after, its month is past the limit too.
    app.clock.advance(400 * DAY);
    retention_pass(&app).await;
    assert_eq!(count(&app, &alerts_of(&held)).await, 0, "released data expires");
    assert_eq!(count(&app, &messages_of(&held)).await, 0);
    assert!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM alert_records WHERE incident_id = '{held}' AND summary IS NOT NULL")
        )
        .await
            == 1,
        "the summary outlives the body"
    );
}

async fn only_a_second_lead_releases_a_legal_hold_and_both_steps_are_audited_with_their_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let incident = app.ingest_incident(&p3_login("re-1", "acct-1")).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let first = app.agent("lea", Role::Lead).await;
    let second = app.agent("leo", Role::Lead).await;

    let by_analyst = legal_hold(&app, &analyst, &incident, "set", "Because").await;
    assert_problem(by_analyst, StatusCode::FORBIDDEN).await;
    let without_step_up = app
        .post_as(&first, &format!("/v1/incidents/{incident}/legal-hold"))
        .json(&json!({"reason": "Subpoena"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(without_step_up, StatusCode::FORBIDDEN).await;
    assert_eq!(problem["type"], "/problems/mfa-required");
    for blank in [json!({"reason": "   "}), json!({}), json!({"reason": 7})] {
        let response = app
            .post_as(&first, &format!("/v1/incidents/{incident}/legal-hold"))
            .header("x-holdfast-otp", app.fresh_code(&first.secret))
            .json(&blank)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["errors"][0]["field"], "reason", "{problem}");
    }
    let unknown = legal_hold(&app, &first, "no-such-incident", "set", "Subpoena").await;
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
    let not_held = legal_hold(&app, &second, &incident, "release", "Nothing to release").await;
    assert_problem(not_held, StatusCode::CONFLICT).await;

    let set = legal_hold(&app, &first, &incident, "set", "Subpoena 2026-114").await;
    assert_eq!(set.status(), StatusCode::OK);
    let body: Value = set.json().await.unwrap();
    assert_eq!(body["legal_hold"]["set_by"], "agent:lea");
    assert_eq!(body["legal_hold"]["reason"], "Subpoena 2026-114");
    assert_eq!(body["legal_hold_released_at"], Value::Null);
    let again = legal_hold(&app, &second, &incident, "set", "Again").await;
    assert_problem(again, StatusCode::CONFLICT).await;

    let by_setter = legal_hold(&app, &first, &incident, "release", "My own hold").await;
    let problem = assert_problem(by_setter, StatusCode::FORBIDDEN).await;
    assert!(problem["detail"].as_str().unwrap().contains("second lead"), "{problem}");
    let released = legal_hold(&app, &second, &incident, "release", "Court order lifted").await;
    assert_eq!(released.status(), StatusCode::OK);
    let body: Value = released.json().await.unwrap();
    assert_eq!(body["legal_hold"], Value::Null);
    assert!(body["legal_hold_released_at"].is_string(), "{body}");
    let twice = legal_hold(&app, &second, &incident, "release", "Again").await;
    assert_problem(twice, StatusCode::CONFLICT).await;

    let timeline = body["timeline"].as_array().unwrap();
    let set = timeline
        .iter()
        .find(|e| e["event"] == "incident.legal_hold_set")
        .unwrap();
    assert_eq!(set["actor"], "agent:lea");
    assert_eq!(set["detail"]["reason"], "Subpoena 2026-114");
    let released = timeline
        .iter()
        .find(|e| e["event"] == "incident.legal_hold_released")
        .unwrap();
    assert_eq!(released["actor"], "agent:leo");
    assert_eq!(released["detail"]["reason"], "Court order lifted");
    assert_eq!(released["detail"]["set_by"], "agent:lea");

    // A new hold may be set after a release.
    let renewed = legal_hold(&app, &first, &incident, "set", "New subpoena").await;
    assert_eq!(renewed.status(), StatusCode::OK);
}

async fn a_month_of_messages_past_their_limit_goes_whole_sparing_a_held_incidents_and_newer_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let closed = app.ingest_incident(&p3_login("re-closed", "acct-closed")).await;
    let held = app.ingest_incident(&p3_login("re-held", "acct-held")).await;
    for incident in [&closed, &held] {
        write_message(&app, &analyst, incident).await;
        dismiss(&app, &analyst, incident).await;
    }
    let lead = app.agent("lea", Role::Lead).await;
    let set = legal_hold(&app, &lead, &held, "set", "Subpoena 2026-114").await;
    assert_eq!(set.status(), StatusCode::OK);
    let written = thread(&app, &lead, &held).await;
    let first_month = Month::of(app.clock.now());
    let messages_of = |incident: &str| format!("SELECT COUNT(*) FROM case_messages WHERE incident_id = '{incident}'");

    // Past the alerts' 90 days, within the messages' year.
    app.clock.advance(150 * DAY);
    let analyst = app.agent("ana-midway", Role::Analyst).await;
    let midway = app.ingest_incident(&p3_login("re-midway", "acct-midway")).await;
    write_message(&app, &analyst, &midway).await;
    dismiss(&app, &analyst, &midway).await;
    let expiry = retention_pass(&app).await;
    assert_eq!(
        count(&app, &messages_of(&closed)).await,
        1,
        "messages are kept for their own class's year, not the alerts' 90 days"
    );
    assert!(
        !expiry
            .partitions_dropped
            .contains(&(History::Messages, first_month.partition(History::Messages))),
        "{expiry:?}"
    );

    // Past the first month's end and the year after it.
    app.clock.advance(300 * DAY);
    let expiry = retention_pass(&app).await;

    if backend.is_postgres() {
        let old = first_month.partition(History::Messages);
        assert!(
            expiry.partitions_dropped.contains(&(History::Messages, old.clone())),
            "{expiry:?}"
        );
        assert!(!partitions(&app, History::Messages).await.contains(&old));
        let this_month = Month::of(app.clock.now()).partition(History::Messages);
        assert_eq!(
            count(
                &app,
                &format!("SELECT COUNT(*) FROM {this_month} WHERE incident_id = '{held}'")
            )
            .await,
            1,
            "the held incident's message is carried into this month"
        );
    } else {
        assert!(
            expiry.partitions_dropped.is_empty(),
            "SQLite deletes instead: {expiry:?}"
        );
    }
    assert!(expiry.rows_expired.contains(&("messages", 1)), "{expiry:?}");
    assert_eq!(
        count(&app, &messages_of(&closed)).await,
        0,
        "the closed incident's message is gone"
    );
    assert_eq!(count(&app, &messages_of(&held)).await, 1, "the held incident's stays");
    assert_eq!(
        count(&app, &messages_of(&midway)).await,
        1,
        "a message within its limit is untouched"
    );
    let lead = app.agent("lea-later", Role::Lead).await;
    assert_eq!(
        thread(&app, &lead, &held).await,
        written,
        "the carried message reads as it was written, with its time"
    );
}

async fn an_incident_closed_past_its_limit_goes_with_its_rows_once_its_timeline_is_archived_unless_held_or_open(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let first = app.agent("lea", Role::Lead).await;
    let second = app.agent("leo", Role::Lead).await;

    // An incident with rows in most tables: contained by a run, written
    // to, unfrozen by the holder's flow, held and released, resolved.
    app.exchange.set_second_factor(Some("246810"));
    let token = frozen_flow(&app, p3_login("re-gone", "acct-gone"), "acct-gone").await;
    let gone = app.incident_of(&analyst, "acct-gone").await;
    write_message(&app, &analyst, &gone).await;
    verify_holder(&app, &token, "acct-gone").await;
    let review = app.flow_status(&token).await;
    let done = app.flow_post(&token, "activity", answers_all(&review, true)).await;
    assert_eq!(done.json::<Value>().await.unwrap()["state"], "unfrozen");
    app.exchange.wait_for_actions("acct-gone", "lift_hold", 2).await;
    app.settle().await;
    let set = legal_hold(&app, &first, &gone, "set", "Subpoena 2026-114").await;
    assert_eq!(set.status(), StatusCode::OK);
    let released = legal_hold(&app, &second, &gone, "release", "Case closed by the court").await;
    assert_eq!(released.status(), StatusCode::OK);
    resolve(&app, &first, &gone, "user_error").await;

    let held = app.ingest_incident(&p3_login("re-held", "acct-held")).await;
    dismiss(&app, &analyst, &held).await;
    let set = legal_hold(&app, &first, &held, "set", "Subpoena 2026-115").await;
    assert_eq!(set.status(), StatusCode::OK);
    let open = app.ingest_incident(&p3_login("re-open", "acct-open")).await;
    let frozen = app.ingest_incident(&p1_withdrawal("re-frozen", "acct-frozen")).await;
    app.settle().await;
    resolve(&app, &first, &frozen, "confirmed_takeover").await;

    // A year later, one more, closed at once: its timeline is newer than
    // the archive's cut below.
    app.clock.advance(365 * DAY);
    let analyst = app.agent("ana-later", Role::Analyst).await;
    let live_log = app.ingest_incident(&p3_login("re-live-log", "acct-live-log")).await;
    dismiss(&app, &analyst, &live_log).await;

    let of_gone = [
        ("incidents", format!("id = '{gone}'")),
        ("alert_records", format!("incident_id = '{gone}'")),
        ("holds", format!("incident_id = '{gone}'")),
        ("runs", format!("incident_id = '{gone}'")),
        (
            "run_steps",
            format!("run_id IN (SELECT id FROM runs WHERE incident_id = '{gone}')"),
        ),
        ("unfreeze_flows", format!("incident_id = '{gone}'")),
        ("case_tokens", format!("incident_id = '{gone}'")),
        ("legal_holds", format!("incident_id = '{gone}'")),
    ];
    for (table, filter) in &of_gone {
        let rows = count(&app, &format!("SELECT COUNT(*) FROM {table} WHERE {filter}")).await;
        assert!(rows > 0, "before: {table} holds rows of the incident");
    }
    let orphan_steps = "SELECT COUNT(*) FROM run_steps WHERE run_id NOT IN (SELECT id FROM runs)";
    let steps = count(&app, "SELECT COUNT(*) FROM run_steps").await;
    let steps_of_gone = count(
        &app,
        &format!("SELECT COUNT(*) FROM run_steps WHERE run_id IN (SELECT id FROM runs WHERE incident_id = '{gone}')"),
    )
    .await;

    // Six years after: every incident above closed past the five years,
    // and the log archived up to a cut between the first ones and the last.
    app.clock.advance(6 * 365 * DAY);
    archive_before(&app, app.clock.now().minus(6 * 365 * DAY + 180 * DAY)).await;
    let timeline_of = |incident: &str| format!("SELECT COUNT(*) FROM audit_log WHERE incident_id = '{incident}'");
    assert_eq!(count(&app, &timeline_of(&gone)).await, 0, "archived");
    assert!(count(&app, &timeline_of(&live_log)).await > 0, "still in the live log");

    let expiry = retention_pass(&app).await;

    assert!(expiry.rows_expired.contains(&("incidents", 1)), "{expiry:?}");
    // Tables that may hold none of its rows before (its alerts' months
    // were dropped long ago), checked after with the rest.
    let maybe_empty = [
        "alerts",
        "case_messages",
        "holder_cases",
        "campaign_incidents",
        "campaign_signals",
    ]
    .map(|table| (table, format!("incident_id = '{gone}'")));
    for (table, filter) in of_gone.iter().chain(&maybe_empty) {
        let rows = count(&app, &format!("SELECT COUNT(*) FROM {table} WHERE {filter}")).await;
        assert_eq!(rows, 0, "after: {table} holds no row of the incident");
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM run_steps").await,
        steps - steps_of_gone,
        "its runs' steps went with them, and no other"
    );
    assert_eq!(count(&app, orphan_steps).await, 0);
    let lead = app.agent("lea-later", Role::Lead).await;
    let response = app
        .get_as(&lead, &format!("/v1/incidents/{gone}"))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::NOT_FOUND).await;
    for (incident, status, why) in [
        (&live_log, "dismissed", "its timeline is still in the live log"),
        (&held, "dismissed", "it is under legal hold"),
        (&open, "open", "it is open"),
        (&frozen, "resolved", "its account's freeze is still in force"),
    ] {
        assert_eq!(app.incident(&lead, incident).await["status"], status, "{why}");
    }

    // Once the live log is archived past it too, the last one goes.
    archive_before(&app, app.clock.now().minus(5 * 365 * DAY + DAY)).await;
    let expiry = retention_pass(&app).await;
    assert!(expiry.rows_expired.contains(&("incidents", 1)), "{expiry:?}");
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM incidents WHERE id = '{live_log}'")).await,
        0
    );
    for (incident, status) in [(&held, "dismissed"), (&open, "open"), (&frozen, "resolved")] {
        assert_eq!(app.incident(&lead, incident).await["status"], status);
    }
}

/// Delivered messages (here each incident's freeze requests and notices)
/// are kept for their own class's year, then go with their month, except a
/// held incident's; the idempotency key of a message gone stays known, so
/// a retry of it is still not sent twice.
async fn a_month_of_deliveries_past_their_limit_goes_whole_sparing_a_held_incidents_and_every_key_stays_known(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let lead = app.agent("lea", Role::Lead).await;
    // A P1 freezes at once, so the holder is told (and later told the case closed).
    let closed = app.ingest_incident(&p1_withdrawal("re-closed", "acct-closed")).await;
    let held = app.ingest_incident(&p1_withdrawal("re-held", "acct-held")).await;
    app.settle().await;
    for incident in [&closed, &held] {
        resolve(&app, &lead, incident, "confirmed_takeover").await;
    }
    let set = legal_hold(&app, &lead, &held, "set", "Subpoena 2026-115").await;
    assert_eq!(set.status(), StatusCode::OK);
    app.settle().await;
    let delivered_of =
        |incident: &str| format!("SELECT COUNT(*) FROM outbox_delivered WHERE incident_id = '{incident}'");
    let closed_notice = format!("SELECT COUNT(*) FROM outbox_delivered WHERE idempotency_key = 'case_closed:{closed}'");
    assert_eq!(count(&app, &closed_notice).await, 1, "the closing notice was delivered");
    let held_delivered = count(&app, &delivered_of(&held)).await;
    assert!(held_delivered >= 1, "the held incident's closing notice was delivered");
    let keys = count(&app, "SELECT COUNT(*) FROM outbox_keys").await;
    let first_month = Month::of(app.clock.now());

    // Within the year: nothing goes.
    app.clock.advance(200 * DAY);
    retention_pass(&app).await;
    assert_eq!(count(&app, &closed_notice).await, 1, "kept for their class's year");

    // Past the first month's end and the year after it.
    app.clock.advance(200 * DAY);
    let expiry = retention_pass(&app).await;

    if backend.is_postgres() {
        let old = first_month.partition(History::Deliveries);
        assert!(
            expiry.partitions_dropped.contains(&(History::Deliveries, old.clone())),
            "{expiry:?}"
        );
        assert!(!partitions(&app, History::Deliveries).await.contains(&old));
        let this_month = Month::of(app.clock.now()).partition(History::Deliveries);
        assert_eq!(
            count(
                &app,
                &format!("SELECT COUNT(*) FROM {this_month} WHERE incident_id = '{held}'")
            )
            .await,
            held_delivered,
            "the held incident's deliveries are carried into this month"
        );
    } else {
        assert!(
            expiry.partitions_dropped.is_empty(),
            "SQLite deletes instead: {expiry:?}"
        );
    }
    assert!(
        expiry
            .rows_expired
            .iter()
            .any(|(class, rows)| *class == "deliveries" && *rows >= 1),
        "{expiry:?}"
    );
    assert_eq!(
        count(&app, &delivered_of(&closed)).await,
        0,
        "the closed incident's are gone"
    );
    assert_eq!(
        count(&app, &delivered_of(&held)).await,
        held_delivered,
        "the held incident's stay"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM outbox_keys").await,
        keys,
        "every key stays known"
    );
    let key = format!("case_closed:{closed}");
    let mut tx = app.state.db().begin().await.unwrap();
    let queued = tx
        .enqueue(
            &Queued {
                idempotency_key: &key,
                destination: Destination::Notify,
                body: "{}",
                run_id: None,
                incident_id: None,
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    assert!(!queued, "a retry of a message whose delivery expired is not sent again");
}
