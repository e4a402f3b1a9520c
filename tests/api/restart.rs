//! Work survives the death of the instance doing it: a run mid-step, audit
//! entries waiting to be chained.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use holdfast::clock::Clock;
use holdfast::signing::SigningKey;

use crate::fake_exchange::FakeExchange;
use crate::helpers::{Backend, HeldAuditHead, TestDatabase, eventually, p1_withdrawal, p3_login, random_base64};

/// Holdfast as a separate process, so a test can kill it.
struct Instance {
    child: Child,
    port: u16,
}

impl Instance {
    async fn start(env: &HashMap<String, String>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_holdfast"))
            .arg("serve")
            .envs(env)
            .env("HOLDFAST_LISTEN", format!("127.0.0.1:{port}"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let client = reqwest::Client::new();
        eventually("holdfast to start", Duration::from_secs(20), || {
            let request = client.get(format!("http://127.0.0.1:{port}/readyz")).send();
            async move { request.await.ok().filter(|r| r.status().is_success()).map(drop) }
        })
        .await;
        Self { child, port }
    }

    fn kill_9(&mut self) {
        Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment of an instance on `db` talking to `exchange`.
fn instance_env(db: &TestDatabase, exchange: &FakeExchange, ingest: &str) -> HashMap<String, String> {
    [
        ("HOLDFAST_DATABASE_URL", db.url.clone()),
        ("HOLDFAST_MASTER_KEY", random_base64(32)),
        ("HOLDFAST_INGEST_KEYS", ingest.to_owned()),
        ("HOLDFAST_ACCOUNT_CONTROL_URL", exchange.account_control_url()),
        ("HOLDFAST_NOTIFY_URL", exchange.notify_url()),
        ("HOLDFAST_OUTBOUND_KEY", exchange.signing_key_setting()),
        (
            "HOLDFAST_PLAYBOOKS",
            format!("{}/playbooks", env!("CARGO_MANIFEST_DIR")),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_killed_mid_step_resumes_after_restart_without_sending_anything_under_a_second_key() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let exchange = FakeExchange::start(Clock::system()).await;
    let ingest = format!("risk-engine={}", random_base64(32));
    let mut env = instance_env(&db, &exchange, &ingest);
    env.extend(
        [
            ("HOLDFAST_OUTBOUND_TIMEOUT", "1s"),
            ("HOLDFAST_OUTBOUND_LEASE", "2s"),
            ("HOLDFAST_OUTBOUND_RETRY_BASE", "100ms"),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned())),
    );

    let mut first = Instance::start(&env).await;
    exchange.stall();
    let body = p1_withdrawal("re-1", "acct-1").to_string();
    let key = SigningKey::parse(&ingest).unwrap();
    let mut request = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/v1/alerts", first.port))
        .body(body.clone());
    for (name, value) in key.headers(Clock::system().now(), body.as_bytes()) {
        request = request.header(name, value);
    }
    assert_eq!(request.send().await.unwrap().status(), reqwest::StatusCode::CREATED);
    exchange.wait_for_actions("acct-1", "place_hold", 1).await;

    first.kill_9();
    exchange.release();
    let _second = Instance::start(&env).await;

    eventually(
        "the run to finish after the restart",
        Duration::from_secs(30),
        || async { (db.count("SELECT COUNT(*) FROM runs WHERE status = 'succeeded'").await == 1).then_some(()) },
    )
    .await;
    let holds_sent = exchange
        .received()
        .iter()
        .filter(|r| r.field("action") == "place_hold")
        .count();
    assert!(
        holds_sent > 2,
        "the unconfirmed pushes were sent again after the restart ({holds_sent} in all)"
    );
    let mut keys_per_action: HashMap<(String, String), HashSet<String>> = HashMap::new();
    for request in exchange.received() {
        let action = (request.field("action").to_owned(), request.field("scope").to_owned());
        keys_per_action
            .entry(action)
            .or_default()
            .insert(request.field("idempotency_key").to_owned());
    }
    assert_eq!(
        keys_per_action.len(),
        4,
        "two holds, cancel withdrawals, revoke sessions: {keys_per_action:?}"
    );
    for (action, keys) in keys_per_action {
        assert_eq!(keys.len(), 1, "{action:?} went out under several keys: {keys:?}");
    }
}

/// On PostgreSQL intake never waits for the audit chain's head: with the
/// head held elsewhere, alerts are still answered, their entries waiting.
/// An instance killed before it chains them leaves them to the next, which
/// chains each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn entries_left_waiting_by_a_killed_instance_are_chained_by_the_next() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let exchange = FakeExchange::start(Clock::system()).await;
    let ingest = format!("risk-engine={}", random_base64(32));
    let env = instance_env(&db, &exchange, &ingest);
    let mut first = Instance::start(&env).await;

    // Someone else holds the chain's head: the sealer cannot chain.
    let held = HeldAuditHead::take(&db.url).await;
    let key = SigningKey::parse(&ingest).unwrap();
    let client = reqwest::Client::new();
    for i in 0..5 {
        let body = p3_login(&format!("re-{i}"), &format!("acct-{i}")).to_string();
        let mut request = client
            .post(format!("http://127.0.0.1:{}/v1/alerts", first.port))
            .body(body.clone());
        for (name, value) in key.headers(Clock::system().now(), body.as_bytes()) {
            request = request.header(name, value);
        }
        let answer = tokio::time::timeout(Duration::from_secs(10), request.send())
            .await
            .expect("intake does not wait for the head")
            .unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::CREATED);
    }
    let waiting = db
        .count("SELECT COUNT(*) FROM audit_pending WHERE action = 'alert.received'")
        .await;
    assert_eq!(waiting, 5, "every alert's entry waits to be chained");

    first.kill_9();
    held.release().await;
    let _second = Instance::start(&env).await;

    eventually(
        "the next instance to chain what waited",
        Duration::from_secs(10),
        || async { (db.count("SELECT COUNT(*) FROM audit_pending").await == 0).then_some(()) },
    )
    .await;
    let chained = db
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'alert.received'")
        .await;
    assert_eq!(chained, 5, "each entry chained once");
    let verify = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["audit", "verify"])
        .envs(&env)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{stdout}");
    assert!(stdout.contains("intact"), "{stdout}");
}
