//! Work survives the death of the instance doing it: a run mid-step.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use holdfast::platform::clock::Clock;
use holdfast::platform::signing::SigningKey;

use crate::fake_exchange::FakeExchange;
use crate::helpers::{Backend, TestDatabase, eventually, p1_withdrawal, random_base64};

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
    // Account control only: the holder's risk notice goes to the notification service.
    for request in exchange
        .received()
        .into_iter()
        .filter(|r| r.endpoint == "account_control")
    {
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
