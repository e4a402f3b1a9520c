//! Starting a real Holdfast on port 0 against a fresh database, and talking
//! to it as the risk engine, the exchange and agents do.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use holdfast::app::Application;
use holdfast::platform::clock::Clock;
use holdfast::platform::config::Config;
use holdfast::platform::signing::SigningKey;
use holdfast::state::AppState;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::fake_exchange::FakeExchange;

/// What a test runs against: a database, and whether Redis holds the shared state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// PostgreSQL with Redis, as several production instances run.
    PostgresWithRedis,
}

impl Backend {
    pub fn is_postgres(self) -> bool {
        self != Backend::Sqlite
    }
}

/// The Redis server tests use, each under its own key prefix.
pub fn redis_url() -> String {
    std::env::var("HOLDFAST_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Generates a `sqlite`, a `postgres` and a `postgres_with_redis` test for each
/// named `async fn(Backend)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres_with_redis() {
                    super::$name($crate::helpers::Backend::PostgresWithRedis).await
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("HOLDFAST_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn random_base64(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut buffer).unwrap();
    base64::engine::general_purpose::STANDARD.encode(buffer)
}

pub fn unique_name() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// A database made for one test and removed after it, even if it fails.
pub struct TestDatabase {
    pub url: String,
    backend: Backend,
    name: String,
    dir: Option<PathBuf>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        let name = format!("holdfast_test_{}", unique_name());
        match backend.is_postgres() {
            true => {
                let admin = postgres_admin_url();
                let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL at {admin} is required by the tests and does not answer: {e}")
                    });
                sqlx::Executor::execute(&mut connection, sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create the test database");
                let base = admin.rsplit_once('/').expect("a database URL has a path").0;
                Self {
                    url: format!("{base}/{name}"),
                    backend,
                    name,
                    dir: None,
                }
            }
            false => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("create the test directory");
                let url = format!("sqlite://{}", dir.join("holdfast.db").display());
                Self {
                    url,
                    backend,
                    name,
                    dir: Some(dir),
                }
            }
        }
    }

    /// Runs `sql` on a plain connection, for tampering with the database.
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.backend.is_postgres() {
            true => {
                let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url).await?;
                Ok(sqlx::Executor::execute(&mut c, sql).await?.rows_affected())
            }
            false => {
                let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&self.url).await?;
                Ok(sqlx::Executor::execute(&mut c, sql).await?.rows_affected())
            }
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.backend {
            Backend::Postgres | Backend::PostgresWithRedis => {
                let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url)
                    .await
                    .unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
            }
            Backend::Sqlite => {
                let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&self.url)
                    .await
                    .unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self.backend.is_postgres() {
            true => {
                let name = self.name.clone();
                // Drop runs outside any runtime guarantee: use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        if let Ok(mut c) =
                            <sqlx::PgConnection as sqlx::Connection>::connect(&postgres_admin_url()).await
                        {
                            let _ = sqlx::Executor::execute(
                                &mut c,
                                sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
                            )
                            .await;
                        }
                    });
                })
                .join();
            }
            false => {
                if let Some(dir) = &self.dir {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
        }
    }
}

/// Settings a test may change before the app starts.
pub struct TestSettings {
    pub vars: HashMap<String, String>,
}

impl TestSettings {
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.vars.insert(name.to_owned(), value.into());
        self
    }
}

/// A running Holdfast, its database, its clock, and the fake exchange it talks to.
pub struct TestApp {
    pub address: String,
    /// The admin listener's base URL, when `HOLDFAST_ADMIN_LISTEN` is set.
    pub admin_address: Option<String>,
    /// The exchange listener's base URL, when `HOLDFAST_EXCHANGE_LISTEN` is set.
    pub exchange_address: Option<String>,
    pub state: AppState,
    pub clock: Clock,
    pub client: reqwest::Client,
    /// The risk engine's signing key.
    pub ingest_key: SigningKey,
    pub exchange: FakeExchange,
    pub db: std::sync::Arc<TestDatabase>,
    pub backend: Backend,
    /// The settings this instance started with.
    pub settings: HashMap<String, String>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, customise: impl FnOnce(&mut TestSettings)) -> TestApp {
    spawn_app_on_database(TestDatabase::create(backend).await, customise).await
}

/// Starts Holdfast on a database the test prepared (an older schema, say).
pub async fn spawn_app_on_database(db: TestDatabase, customise: impl FnOnce(&mut TestSettings)) -> TestApp {
    let backend = db.backend;
    let db = std::sync::Arc::new(db);
    let clock = Clock::system();
    let exchange = FakeExchange::start(clock.clone()).await;
    let ingest_secret = random_base64(32);
    let manifest = env!("CARGO_MANIFEST_DIR");
    let mut settings = TestSettings { vars: HashMap::new() };
    settings
        .set("HOLDFAST_LISTEN", "127.0.0.1:0")
        .set("HOLDFAST_DATABASE_URL", db.url.clone())
        .set("HOLDFAST_DATABASE_MAX_CONNECTIONS", "8")
        .set("HOLDFAST_MASTER_KEY", random_base64(32))
        .set("HOLDFAST_INGEST_KEYS", format!("risk-engine={ingest_secret}"))
        .set("HOLDFAST_ACCOUNT_CONTROL_URL", exchange.account_control_url())
        .set("HOLDFAST_NOTIFY_URL", exchange.notify_url())
        .set("HOLDFAST_OUTBOUND_KEY", exchange.signing_key_setting())
        .set("HOLDFAST_OUTBOUND_RETRY_BASE", "20ms")
        .set("HOLDFAST_OUTBOUND_RETRY_MAX", "200ms")
        .set("HOLDFAST_SLA_CHECK_INTERVAL", "1h")
        .set("HOLDFAST_PRIORITY_RULES", format!("{manifest}/priority.toml"))
        .set("HOLDFAST_PLAYBOOKS", format!("{manifest}/playbooks"));
    if backend == Backend::PostgresWithRedis {
        settings
            .set("HOLDFAST_REDIS_URL", redis_url())
            .set("HOLDFAST_REDIS_PREFIX", format!("test:{}:", unique_name()));
    }
    customise(&mut settings);
    start(backend, db, clock, exchange, settings.vars).await
}

/// Starts another instance on `existing`'s database, clock and fake exchange
/// (as behind a load balancer), with its settings changed by `customise`.
pub async fn spawn_app_on(existing: &TestApp, customise: impl FnOnce(&mut TestSettings)) -> TestApp {
    let mut settings = TestSettings {
        vars: existing.settings.clone(),
    };
    customise(&mut settings);
    start(
        existing.backend,
        existing.db.clone(),
        existing.clock.clone(),
        existing.exchange.clone(),
        settings.vars,
    )
    .await
}

async fn start(
    backend: Backend,
    db: std::sync::Arc<TestDatabase>,
    clock: Clock,
    exchange: FakeExchange,
    vars: HashMap<String, String>,
) -> TestApp {
    let config = Config::from_vars(|name| vars.get(name).cloned()).expect("a valid test configuration");
    let application = Application::build(config, clock.clone())
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let admin_address = application.admin_addr().map(|admin| format!("http://{admin}"));
    let exchange_address = application.exchange_addr().map(|exchange| format!("http://{exchange}"));
    let state = application.state();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let ingest_setting = signing_key_of(vars["HOLDFAST_INGEST_KEYS"].split(',').next().unwrap());

    TestApp {
        address,
        admin_address,
        exchange_address,
        state,
        clock,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        ingest_key: SigningKey::parse(&ingest_setting).unwrap(),
        exchange,
        db,
        backend,
        settings: vars,
        stop: Some(stop),
        server: Some(server),
    }
}

/// The `key_id=secret` signing part of an `HOLDFAST_INGEST_KEYS` entry,
/// which may name scopes (`key_id:alerts+holds=secret`).
pub fn signing_key_of(entry: &str) -> String {
    let (name, secret) = entry.split_once('=').expect("an entry is key_id=secret");
    let id = name.split_once(':').map_or(name, |(id, _)| id);
    format!("{id}={secret}")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A client whose connections come from `local_ip` (any of 127.0.0.0/8
    /// reaches the server on 127.0.0.1), as if it were another machine.
    pub fn client_from(&self, local_ip: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(local_ip.parse::<std::net::IpAddr>().unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Sends `body` signed by the risk engine.
    pub async fn signed(&self, method: reqwest::Method, path: &str, body: &[u8]) -> Response {
        self.signed_with(&self.ingest_key, method, path, body).await
    }

    /// Sends `body` signed with `key`.
    pub async fn signed_with(&self, key: &SigningKey, method: reqwest::Method, path: &str, body: &[u8]) -> Response {
        let mut request = self.client.request(method, self.url(path)).body(body.to_vec());
        for (name, value) in key.headers(self.clock.now(), body) {
            request = request.header(name, value);
        }
        request.send().await.expect("the request reaches the server")
    }

    pub async fn post_alert(&self, alert: &Value) -> Response {
        self.signed(reqwest::Method::POST, "/v1/alerts", alert.to_string().as_bytes())
            .await
    }

    /// Posts an alert that must be accepted; returns the answer's body.
    pub async fn ingest(&self, alert: &Value) -> Value {
        let response = self.post_alert(alert).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "alert refused: {status} {body}"
        );
        body
    }

    /// Posts an alert that must be accepted; returns its incident's id.
    pub async fn ingest_incident(&self, alert: &Value) -> String {
        self.ingest(alert).await["incident_id"].as_str().unwrap().to_owned()
    }

    pub async fn holds(&self, account_id: &str) -> Value {
        let response = self
            .signed(reqwest::Method::GET, &format!("/v1/accounts/{account_id}/holds"), b"")
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(prefix) = self.settings.get("HOLDFAST_REDIS_PREFIX") {
            forget_redis_keys(prefix);
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Every message kept, as one table to count in: those waiting or given up
/// on (the outbox) and those delivered.
pub const MESSAGES: &str = "(SELECT idempotency_key, destination, body, status, response FROM outbox
     UNION ALL SELECT idempotency_key, destination, body, 'delivered', response FROM outbox_delivered) AS messages";

/// Polls `check` until it returns `Some`, failing the test after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts a problem+json response and returns its body.
pub async fn assert_problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    for member in ["type", "title", "status", "detail"] {
        assert!(body.get(member).is_some(), "problem without `{member}`: {body}");
    }
    assert_eq!(body["status"], status.as_u16());
    body
}

/// The alert of SPEC §4's first example, for `account` (to a destination of its own).
pub fn p1_withdrawal(alert_id: &str, account: &str) -> Value {
    serde_json::json!({
        "alert_id": alert_id,
        "kind": "large_withdrawal",
        "account_id": account,
        "occurred_at": "2026-11-23T04:00:00Z",
        "withdrawal": {"withdrawal_id": "w-91", "asset": "BTC", "amount": "2.5", "usd_value": "250000",
                       "destination": format!("bc1q{account}"), "new_destination": true}
    })
}

/// A P3 login alert (new device, new country).
pub fn p3_login(alert_id: &str, account: &str) -> Value {
    serde_json::json!({
        "alert_id": alert_id,
        "kind": "suspicious_login",
        "account_id": account,
        "occurred_at": "2026-11-23T04:00:00Z",
        "login": {"ip": ip_of(account), "country": "BR", "device_id": format!("d-{account}"), "new_device": true, "new_country": true}
    })
}

/// A sign-in address of `account` alone, so that fixtures of different
/// accounts never share an attacker signal (and form no campaign).
pub fn ip_of(account: &str) -> String {
    let hash = account
        .bytes()
        .fold(2_166_136_261u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16_777_619));
    let [a, b, c, _] = hash.to_be_bytes();
    format!("10.{a}.{b}.{c}")
}

/// A P4 withdrawal (small, known destination, low risk).
pub fn p4_withdrawal(alert_id: &str, account: &str) -> Value {
    serde_json::json!({
        "alert_id": alert_id,
        "kind": "large_withdrawal",
        "account_id": account,
        "occurred_at": "2026-11-23T04:00:00Z",
        "risk_score": 0.1,
        "withdrawal": {"usd_value": "1200", "new_destination": false}
    })
}

/// An agent created for a test, signed in.
#[derive(Clone, Debug)]
pub struct TestAgent {
    pub password: String,
    /// The raw TOTP seed.
    pub secret: Vec<u8>,
    pub token: String,
}

impl TestApp {
    /// Creates an agent the way `holdfast agent add` does.
    pub async fn create_agent(
        &self,
        username: &str,
        role: holdfast::domain::agent::Role,
    ) -> holdfast::agents::Credentials {
        holdfast::agents::add(
            self.state.db(),
            self.state.secrets(),
            username,
            role,
            "test",
            self.clock.now(),
        )
        .await
        .expect("create the agent")
    }

    /// Moves the clock to the next TOTP step and returns the code for it, so
    /// no code a test sends has been used before.
    pub fn fresh_code(&self, secret: &[u8]) -> String {
        self.clock.advance(Duration::from_secs(30));
        holdfast::auth::totp::code_at(secret, self.clock.now())
    }

    pub async fn login(&self, username: &str, password: &str, otp: &str) -> Response {
        self.login_from(&self.client, username, password, otp).await
    }

    /// Signs in through `client` (one bound to another source address, say).
    pub async fn login_from(&self, client: &reqwest::Client, username: &str, password: &str, otp: &str) -> Response {
        client
            .post(self.url("/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": password, "otp": otp}))
            .send()
            .await
            .unwrap()
    }

    /// Creates an agent with `role` and signs it in.
    pub async fn agent(&self, username: &str, role: holdfast::domain::agent::Role) -> TestAgent {
        let credentials = self.create_agent(username, role).await;
        let secret = totp_rs::Secret::try_from_base32(&credentials.totp_secret)
            .unwrap()
            .as_ref()
            .to_vec();
        let response = self
            .login(username, &credentials.password, &self.fresh_code(&secret))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "login of {username}");
        let body: Value = response.json().await.unwrap();
        TestAgent {
            password: credentials.password,
            secret,
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn step_up(&self, agent: &TestAgent) -> Response {
        let code = self.fresh_code(&agent.secret);
        self.client
            .post(self.url("/v1/auth/step-up"))
            .bearer_auth(&agent.token)
            .json(&serde_json::json!({"otp": code}))
            .send()
            .await
            .unwrap()
    }

    pub fn get_as(&self, agent: &TestAgent, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(&agent.token)
    }

    /// `GET path` as `agent`, its body as JSON.
    pub async fn get_json_as(&self, agent: &TestAgent, path: &str) -> Value {
        self.get_as(agent, path).send().await.unwrap().json().await.unwrap()
    }

    pub fn post_as(&self, agent: &TestAgent, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(&agent.token)
    }

    /// An incident as `GET /v1/incidents/{id}` shows it.
    pub async fn incident(&self, agent: &TestAgent, id: &str) -> Value {
        let response = self.get_as(agent, &format!("/v1/incidents/{id}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Starts a playbook run with a fresh inline step-up.
    pub async fn start_run(&self, agent: &TestAgent, incident_id: &str, playbook_id: &str) -> Response {
        let code = self.fresh_code(&agent.secret);
        self.post_as(agent, &format!("/v1/incidents/{incident_id}/runs"))
            .header("x-holdfast-otp", code)
            .json(&serde_json::json!({"playbook_id": playbook_id}))
            .send()
            .await
            .unwrap()
    }

    /// Waits until the run reaches `status`; returns it.
    pub async fn wait_for_run(&self, agent: &TestAgent, run_id: &str, status: &str) -> Value {
        self.wait_for_run_until(agent, run_id, &format!("run {run_id} to be {status}"), |run| {
            run["status"] == status
        })
        .await
    }

    /// Waits until `check` holds for the run (`GET /v1/runs/{id}`); returns it.
    pub async fn wait_for_run_until(
        &self,
        agent: &TestAgent,
        run_id: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(what, Duration::from_secs(15), || async {
            let run = self.get_json_as(agent, &format!("/v1/runs/{run_id}")).await;
            check(&run).then_some(run)
        })
        .await
    }
}

impl TestApp {
    /// Waits until nothing is left in flight: every message delivered (or
    /// failed) and no run still confirming an effect.
    pub async fn settle(&self) {
        eventually("background work to settle", Duration::from_secs(15), || async {
            let pending = self
                .db
                .count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
                .await;
            let running = self
                .db
                .count("SELECT COUNT(*) FROM runs WHERE status = 'running'")
                .await;
            (pending == 0 && running == 0).then_some(())
        })
        .await;
    }
}

impl TestApp {
    /// Asks for an unfreeze link as the holder would.
    pub async fn request_unfreeze(&self, account_id: &str) -> Response {
        self.request_unfreeze_from(&self.client, account_id).await
    }

    /// Asks for an unfreeze link through `client`.
    pub async fn request_unfreeze_from(&self, client: &reqwest::Client, account_id: &str) -> Response {
        client
            .post(self.url("/v1/unfreeze"))
            .json(&serde_json::json!({"account_id": account_id}))
            .send()
            .await
            .unwrap()
    }

    /// The flow token of the newest link sent to the holder of `account_id`.
    pub async fn unfreeze_token(&self, account_id: &str) -> String {
        let link = self.exchange.wait_for_notification(account_id, "unfreeze_link").await;
        link.body["data"]["flow_token"].as_str().unwrap().to_owned()
    }

    /// The newest one-time code sent to the holder of `account_id`.
    pub async fn unfreeze_code(&self, account_id: &str) -> String {
        let message = self.exchange.wait_for_notification(account_id, "unfreeze_code").await;
        message.body["data"]["code"].as_str().unwrap().to_owned()
    }

    pub async fn flow_post(&self, token: &str, step: &str, body: Value) -> Response {
        self.client
            .post(self.url(&format!("/v1/unfreeze/{token}/{step}")))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn flow_status(&self, token: &str) -> Value {
        let response = self
            .client
            .get(self.url(&format!("/v1/unfreeze/{token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

/// Deletes every Redis key under a test's prefix.
fn forget_redis_keys(prefix: &str) {
    let pattern = format!("{prefix}*");
    let _ = std::thread::spawn(move || {
        let Ok(client) = redis::Client::open(redis_url()) else {
            return;
        };
        let Ok(mut connection) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query(&mut connection)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut connection);
        }
    })
    .join();
}

impl TestApp {
    /// The id of the live incident of `account`.
    pub async fn incident_of(&self, agent: &TestAgent, account: &str) -> String {
        let page = self
            .get_json_as(agent, &format!("/v1/incidents?account_id={account}"))
            .await;
        page["incidents"][0]["id"].as_str().unwrap().to_owned()
    }

    /// Contains `account`'s incident as an analyst would, running the
    /// containment playbook to the end: a P3 account is then frozen.
    pub async fn contain_as_analyst(&self, account: &str) {
        let analyst = self
            .agent(&format!("contain-{account}"), holdfast::domain::agent::Role::Analyst)
            .await;
        let incident = self.incident_of(&analyst, account).await;
        let run: Value = self
            .start_run(&analyst, &incident, "contain-suspicious-login")
            .await
            .json()
            .await
            .unwrap();
        self.wait_for_run(&analyst, run["run_id"].as_str().unwrap(), "succeeded")
            .await;
    }
}
