//! One thread per case between the holder and the security team.

use std::process::{Command, Stdio};
use std::time::Duration;

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fake_exchange::FakeExchange;
use crate::helpers::{
    Backend, MESSAGES, TestDatabase, assert_problem, eventually, on_both_backends, p1_withdrawal, random_base64,
    spawn_app,
};
use crate::holder::{notice_token, sent};

on_both_backends!(
    the_holder_and_the_team_write_in_one_thread_sealed_at_rest,
    bodies_are_bounded_and_plain_and_the_holder_writes_at_most_twenty_an_hour,
);

/// A count of the rows whose raw `column` holds `text`'s bytes anywhere.
pub fn contains_bytes(backend: Backend, table: &str, column: &str, text: &str) -> String {
    if backend.is_postgres() {
        format!("SELECT COUNT(*) FROM {table} WHERE position(convert_to('{text}', 'UTF8') in {column}) > 0")
    } else {
        format!("SELECT COUNT(*) FROM {table} WHERE instr({column}, CAST('{text}' AS BLOB)) > 0")
    }
}

const SECRET_TEXT: &str = "my sister's name is Marigold-Quokka";

async fn the_holder_and_the_team_write_in_one_thread_sealed_at_rest(backend: Backend) {
    let app = spawn_app(backend).await;
    let incident = app.ingest_incident(&p1_withdrawal("re-1", "acct-t1")).await;
    let token = notice_token(&app, "acct-t1").await;
    let analyst = app.agent("ana", Role::Analyst).await;
    let console = app.console("ana-console", Role::Analyst).await;

    let written = app.case_post(&token, "messages", json!({"body": SECRET_TEXT})).await;
    assert_eq!(written.status(), StatusCode::CREATED);
    let queue = console.page("/console/").await;
    assert!(queue.contains("Unanswered holder message"), "the queue marks it");
    let incident_page = console.page(&format!("/console/incidents/{incident}")).await;
    assert!(
        incident_page.contains("Marigold-Quokka"),
        "the thread on the incident page"
    );
    let reply = app
        .post_as(&analyst, &format!("/v1/incidents/{incident}/messages"))
        .json(&json!({"body": "We froze everything. <b>Stay calm</b>."}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
    app.post_as(&analyst, &format!("/v1/incidents/{incident}/messages"))
        .json(&json!({"body": "A second answer within five minutes."}))
        .send()
        .await
        .unwrap();

    let case = app.case_json(&token).await;
    let thread: Vec<(&str, &str)> = case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["from"].as_str().unwrap(), m["body"].as_str().unwrap()))
        .collect();
    assert_eq!(thread[0], ("holder", SECRET_TEXT));
    assert_eq!(thread[1], ("team", "We froze everything. <b>Stay calm</b>."));
    assert!(
        !case.to_string().contains("ana"),
        "agents are the security team to the holder"
    );
    let agents_view: Value = app
        .get_as(&analyst, &format!("/v1/incidents/{incident}/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(agents_view["messages"][1]["agent"], "ana");
    let page = app
        .client
        .get(app.url(&format!("/holder/cases/{token}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("&lt;b&gt;Stay calm&lt;/b&gt;"), "shown as plain text");
    app.settle().await;
    let notices = sent(&app, "acct-t1", "case_message");
    assert_eq!(notices.len(), 1, "at most one per case per five minutes");
    assert_eq!(
        notices[0].body["data"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["case_url"]
    );
    assert!(!notices[0].body.to_string().contains("Stay calm"));
    let queue = console.page("/console/").await;
    assert!(!queue.contains("Unanswered holder message"), "answered");
    let answered = console
        .post(
            &format!("/console/incidents/{incident}/messages"),
            &[("body", "From the console.")],
        )
        .await;
    assert_eq!(answered.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.case_json(&token).await["messages"][3]["body"], "From the console.");

    let needle = "Marigold";
    assert_eq!(
        app.db
            .count(&contains_bytes(backend, "case_messages", "body", "Stay calm"))
            .await,
        0
    );
    assert_eq!(
        app.db
            .count(&contains_bytes(backend, "case_messages", "body", needle))
            .await,
        0
    );
    let key_ids = app
        .db
        .count("SELECT COUNT(*) FROM case_messages WHERE key_id <> ''")
        .await;
    assert_eq!(key_ids, 4, "each sealed under a named master key");
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%{needle}%'"
            ))
            .await,
        0
    );
    assert_eq!(
        app.db
            .count(&format!("SELECT COUNT(*) FROM {MESSAGES} WHERE body LIKE '%{needle}%'"))
            .await,
        0
    );
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'case.message'")
            .await,
        4,
        "who wrote and when"
    );
}

async fn bodies_are_bounded_and_plain_and_the_holder_writes_at_most_twenty_an_hour(backend: Backend) {
    let app = spawn_app(backend).await;
    let incident = app.ingest_incident(&p1_withdrawal("re-1", "acct-t2")).await;
    let token = notice_token(&app, "acct-t2").await;

    for bad in [
        String::new(),
        "가".repeat(2001),
        "look \u{202E}here".into(),
        "bell\u{7}".into(),
    ] {
        let response = app.case_post(&token, "messages", json!({"body": bad})).await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["errors"][0]["field"], "body");
    }
    let longest = app
        .case_post(&token, "messages", json!({"body": "가".repeat(2000)}))
        .await;
    assert_eq!(longest.status(), StatusCode::CREATED);
    for _ in 1..20 {
        assert_eq!(
            app.case_post(&token, "messages", json!({"body": "again"}))
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    let over = app.case_post(&token, "messages", json!({"body": "one more"})).await;
    assert_problem(over, StatusCode::TOO_MANY_REQUESTS).await;

    let admin = app.agent("admin", Role::Admin).await;
    let refused = app
        .post_as(&admin, &format!("/v1/incidents/{incident}/messages"))
        .json(&json!({"body": "hello"}))
        .send()
        .await
        .unwrap();
    assert_problem(refused, StatusCode::FORBIDDEN).await;
    let lead = app.agent("lead", Role::Lead).await;
    app.post_as(&lead, &format!("/v1/incidents/{incident}/resolve"))
        .json(&json!({"resolution": "confirmed_takeover", "note": "stolen"}))
        .send()
        .await
        .unwrap();
    let ended = app.case_post(&token, "messages", json!({"body": "still there?"})).await;
    assert_problem(ended, StatusCode::CONFLICT).await;
    let team_after = app
        .post_as(&lead, &format!("/v1/incidents/{incident}/messages"))
        .json(&json!({"body": "closing"}))
        .send()
        .await
        .unwrap();
    assert_problem(team_after, StatusCode::CONFLICT).await;
}

/// Stops the binary when the test ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn message_texts_never_reach_the_logs() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let clock = holdfast::platform::clock::Clock::system();
    let exchange = FakeExchange::start(clock.clone()).await;
    let ingest_secret = random_base64(32);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let manifest = env!("CARGO_MANIFEST_DIR");
    let log = std::env::temp_dir().join(format!("holdfast-messages-{port}.log"));
    let mut holdfast = Running(
        Command::new(env!("CARGO_BIN_EXE_holdfast"))
            .env_clear()
            .env("HOLDFAST_LISTEN", format!("127.0.0.1:{port}"))
            .env("HOLDFAST_DATABASE_URL", &db.url)
            .env("HOLDFAST_MASTER_KEY", random_base64(32))
            .env("HOLDFAST_INGEST_KEYS", format!("risk-engine={ingest_secret}"))
            .env("HOLDFAST_ACCOUNT_CONTROL_URL", exchange.account_control_url())
            .env("HOLDFAST_NOTIFY_URL", exchange.notify_url())
            .env("HOLDFAST_OUTBOUND_KEY", exchange.signing_key_setting())
            .env("HOLDFAST_PRIORITY_RULES", format!("{manifest}/priority.toml"))
            .env("HOLDFAST_PLAYBOOKS", format!("{manifest}/playbooks"))
            .env("HOLDFAST_LOG", "trace")
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(log.with_extension("err")).unwrap()))
            .spawn()
            .expect("the binary starts"),
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    eventually("the binary to answer", Duration::from_secs(20), || async {
        let ready = client.get(format!("{base}/readyz")).send().await.ok()?;
        ready.status().is_success().then_some(())
    })
    .await;
    let body = p1_withdrawal("re-1", "acct-t3").to_string();
    let key = holdfast::platform::signing::SigningKey::parse(&format!("risk-engine={ingest_secret}")).unwrap();
    let mut request = client.post(format!("{base}/v1/alerts")).body(body.clone());
    for (name, value) in key.headers(clock.now(), body.as_bytes()) {
        request = request.header(name, value);
    }
    assert!(request.send().await.unwrap().status().is_success());
    let notice = exchange.wait_for_notification("acct-t3", "risk_notice").await;
    let token = crate::holder::case_token(&notice);

    let written = client
        .post(format!("{base}/v1/holder/cases/{token}/messages"))
        .json(&json!({"body": SECRET_TEXT}))
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), StatusCode::CREATED);
    let refused = client
        .post(format!("{base}/v1/holder/cases/{token}/messages"))
        .json(&json!({"body": format!("{SECRET_TEXT}\u{202E}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let _ = client
        .get(format!("{base}/v1/holder/cases/{token}"))
        .send()
        .await
        .unwrap();

    let _ = holdfast.0.kill();
    let _ = holdfast.0.wait();
    let logs = std::fs::read_to_string(&log).unwrap_or_default()
        + &std::fs::read_to_string(log.with_extension("err")).unwrap_or_default();
    assert!(logs.len() > 100, "the binary logged something at trace level");
    assert!(!logs.contains("Marigold"), "a message text in the logs");
    assert!(!logs.contains(&token), "a case token in the logs");
}
