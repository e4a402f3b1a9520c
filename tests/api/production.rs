//! What `HOLDFAST_ENV=production` adds at the edge (SPEC §1), on the real
//! server: it refuses to start without what keeps it safe (naming the
//! variable), keeps `/metrics` off the public listener, sends HSTS and
//! `nosniff` on every response, and continues a caller's trace only when
//! the request is signed or came through a trusted proxy. Production needs
//! PostgreSQL and Redis, so these run there; what holds in every
//! environment runs on every backend.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::helpers::{
    Backend, TestApp, TestSettings, eventually, on_both_backends, p1_withdrawal, random_base64, spawn_app,
    spawn_app_with, unique_name,
};

on_both_backends!(every_response_says_nosniff_and_only_production_sends_hsts_over_plain_http,);

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// The shipped playbooks, signed with a key made for the test (production
/// runs signed playbooks only); removed when dropped.
struct SignedPlaybooks {
    dir: PathBuf,
    trusted: String,
}

impl SignedPlaybooks {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("holdfast-signed-playbooks-{}", unique_name()));
        std::fs::create_dir_all(&dir).unwrap();
        let (private, public) = holdfast::playbooks::generate_key().unwrap();
        for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks")).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let target = dir.join(path.file_name().unwrap());
            std::fs::write(&target, &bytes).unwrap();
            let signature = holdfast::playbooks::sign(&private, "team", &bytes).unwrap();
            std::fs::write(format!("{}.sig", target.display()), signature).unwrap();
        }
        Self {
            dir,
            trusted: format!("team={public}"),
        }
    }
}

impl Drop for SignedPlaybooks {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Production settings on top of a test's: everything production requires,
/// the exchange (the fake, on this machine) and Redis on loopback.
fn production(settings: &mut TestSettings, playbooks: &SignedPlaybooks) {
    let ingest = settings.vars["HOLDFAST_INGEST_KEYS"].replacen("risk-engine=", "risk-engine:alerts+holds=", 1);
    settings
        .set("HOLDFAST_ENV", "production")
        .set("HOLDFAST_ADMIN_LISTEN", "127.0.0.1:0")
        .set("HOLDFAST_PUBLIC_URL", "https://holdfast.example")
        .set("HOLDFAST_INGEST_KEYS", ingest)
        .set("HOLDFAST_PLAYBOOKS", playbooks.dir.display().to_string())
        .set("HOLDFAST_PLAYBOOK_KEYS", playbooks.trusted.clone());
}

async fn spawn_production(playbooks: &SignedPlaybooks, customise: impl FnOnce(&mut TestSettings)) -> TestApp {
    spawn_app_with(Backend::PostgresWithRedis, |settings| {
        production(settings, playbooks);
        customise(settings);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn production_refuses_to_start_without_an_admin_listener_or_over_plain_connections_to_other_machines() {
    let db = crate::helpers::TestDatabase::create(Backend::Postgres).await;
    let playbooks = SignedPlaybooks::new();
    let secret = random_base64(32);
    let complete: Vec<(&str, String)> = vec![
        ("HOLDFAST_ENV", "production".into()),
        ("HOLDFAST_LISTEN", "127.0.0.1:0".into()),
        ("HOLDFAST_ADMIN_LISTEN", "127.0.0.1:0".into()),
        ("HOLDFAST_DATABASE_URL", db.url.clone()),
        ("HOLDFAST_REDIS_URL", crate::helpers::redis_url()),
        ("HOLDFAST_MASTER_KEY", random_base64(32)),
        ("HOLDFAST_INGEST_KEYS", format!("engine:alerts+holds={secret}")),
        (
            "HOLDFAST_ACCOUNT_CONTROL_URL",
            "https://exchange.example/control".into(),
        ),
        ("HOLDFAST_NOTIFY_URL", "https://exchange.example/notify".into()),
        ("HOLDFAST_OUTBOUND_KEY", format!("holdfast={secret}")),
        ("HOLDFAST_PUBLIC_URL", "https://holdfast.example".into()),
        ("HOLDFAST_PLAYBOOKS", playbooks.dir.display().to_string()),
        ("HOLDFAST_PLAYBOOK_KEYS", playbooks.trusted.clone()),
    ];
    for (variable, value) in [
        ("HOLDFAST_ADMIN_LISTEN", None),
        ("HOLDFAST_REDIS_URL", Some("redis://redis.example:6379")),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", Some("http://collector.example:4317")),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", Some("http://10.1.2.3:4317")),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_holdfast"));
        command.env_clear().stdout(Stdio::null()).stderr(Stdio::piped());
        for (name, setting) in &complete {
            if *name != variable {
                command.env(name, setting);
            }
        }
        if let Some(value) = value {
            command.env(variable, value);
        }
        let mut running = Running(command.spawn().expect("the binary starts"));
        let exited = eventually(
            &format!("the binary to refuse {variable}"),
            Duration::from_secs(20),
            || {
                let status = running.0.try_wait().unwrap();
                async move { status }
            },
        )
        .await;
        let mut stderr = String::new();
        std::io::Read::read_to_string(running.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert!(!exited.success(), "{variable}: {stderr}");
        assert!(stderr.contains(variable), "the refusal names {variable}: {stderr}");
        if let Some(value) = value {
            assert!(!stderr.contains(value), "the refused value is not repeated: {stderr}");
        }
    }
}

/// Stops the binary when the test ends, whatever its outcome.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_production_metrics_are_never_on_the_public_listener() {
    let playbooks = SignedPlaybooks::new();
    let app = spawn_production(&playbooks, |_| {}).await;

    let public = app.client.get(app.url("/metrics")).send().await.unwrap();
    let admin = app.admin_address.clone().expect("an admin listener");
    let scraped = app.client.get(format!("{admin}/metrics")).send().await.unwrap();

    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(scraped.text().await.unwrap().contains("holdfast_holds_feed_current"));
}

fn assert_edge_headers(what: &str, headers: &HeaderMap, hsts: bool) {
    assert_eq!(
        headers.get("x-content-type-options").map(|v| v.to_str().unwrap()),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        headers.get_all("x-content-type-options").iter().count(),
        1,
        "{what}: once"
    );
    let sent = headers
        .get("strict-transport-security")
        .map(|v| v.to_str().unwrap().to_owned());
    match hsts {
        true => assert!(
            sent.as_deref().is_some_and(|value| value.contains("max-age=31536000")),
            "{what}: {sent:?}"
        ),
        false => assert_eq!(sent, None, "{what}"),
    }
}

/// Responses of every kind: a health check, a page, the API description,
/// a problem 404, a refused signature, a bad request, and the metrics.
async fn responses_of_every_kind(app: &TestApp) -> Vec<(String, HeaderMap)> {
    let mut responses = Vec::new();
    for path in [
        "/healthz",
        "/unfreeze",
        "/console/login",
        "/openapi.json",
        "/no/such/page",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        responses.push((
            format!("GET {path} ({})", response.status()),
            response.headers().clone(),
        ));
    }
    let refused = app
        .client
        .post(app.url("/v1/alerts"))
        .header("x-holdfast-key-id", "nobody")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    responses.push(("an unsigned alert".into(), refused.headers().clone()));
    let malformed = app.signed(reqwest::Method::POST, "/v1/alerts", b"{not json").await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    responses.push(("malformed JSON".into(), malformed.headers().clone()));
    let metrics_url = match &app.admin_address {
        Some(admin) => format!("{admin}/metrics"),
        None => app.url("/metrics"),
    };
    let metrics = app.client.get(metrics_url).send().await.unwrap();
    responses.push(("the metrics".into(), metrics.headers().clone()));
    responses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_production_every_response_carries_hsts_and_nosniff() {
    let playbooks = SignedPlaybooks::new();
    let app = spawn_production(&playbooks, |_| {}).await;

    let responses = responses_of_every_kind(&app).await;

    assert!(responses.iter().any(|(what, _)| what.contains("404")), "{responses:?}");
    for (what, headers) in &responses {
        assert_edge_headers(what, headers, true);
    }
}

async fn every_response_says_nosniff_and_only_production_sends_hsts_over_plain_http(backend: Backend) {
    let app = spawn_app(backend).await;

    let responses = responses_of_every_kind(&app).await;

    let not_found = responses.iter().find(|(what, _)| what.contains("404")).unwrap();
    assert_eq!(not_found.1["content-type"], "application/problem+json");
    for (what, headers) in &responses {
        assert_edge_headers(what, headers, false);
    }
}

impl TestApp {
    /// Posts a signed alert with a `traceparent`.
    async fn post_alert_in_trace(&self, alert: &Value, traceparent: &str) -> reqwest::Response {
        let body = alert.to_string();
        let mut request = self
            .client
            .post(self.url("/v1/alerts"))
            .header("traceparent", traceparent)
            .body(body.clone());
        for (name, value) in self.ingest_key.headers(self.clock.now(), body.as_bytes()) {
            request = request.header(name, value);
        }
        request.send().await.unwrap()
    }

    /// Asks for an unfreeze link (an unsigned request) with a `traceparent`;
    /// returns the trace id of the link's notification.
    async fn unfreeze_link_trace(&self, account: &str, traceparent: &str) -> String {
        let response = self
            .client
            .post(self.url("/v1/unfreeze"))
            .header("traceparent", traceparent)
            .json(&serde_json::json!({"account_id": account}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let link = self.exchange.wait_for_notification(account, "unfreeze_link").await;
        link.trace_id().expect("a traceparent").to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_production_only_a_signed_request_continues_its_callers_trace_and_never_unsampled() {
    let playbooks = SignedPlaybooks::new();
    let app = spawn_production(&playbooks, |_| {}).await;

    // Signed, asking not to be sampled.
    let response = app
        .post_alert_in_trace(
            &p1_withdrawal("re-1", "acct-1"),
            &format!("00-{TRACE_ID}-00f067aa0ba902b7-00"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let pushes = app.exchange.wait_for_actions("acct-1", "place_hold", 1).await;
    let traceparent = pushes[0].traceparent.clone().unwrap();
    assert_eq!(
        pushes[0].trace_id(),
        Some(TRACE_ID),
        "a signed request continues the trace"
    );
    assert!(
        traceparent.ends_with("-01"),
        "the caller's 'not sampled' does not switch sampling off: {traceparent}"
    );
    app.settle().await;

    // Unsigned: a new trace starts, whatever the caller sent.
    let other = "0af7651916cd43dd8448eb211c80319c";
    let trace = app
        .unfreeze_link_trace("acct-1", &format!("00-{other}-b7ad6b7169203331-01"))
        .await;
    assert_ne!(trace, other, "an anonymous caller does not choose the trace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_production_a_request_through_a_trusted_proxy_continues_its_trace() {
    let playbooks = SignedPlaybooks::new();
    let app = spawn_production(&playbooks, |settings| {
        settings.set("HOLDFAST_TRUSTED_PROXIES", "127.0.0.1/32");
    })
    .await;
    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    app.settle().await;

    let proxied = "0af7651916cd43dd8448eb211c80319c";
    let trace = app
        .unfreeze_link_trace("acct-1", &format!("00-{proxied}-b7ad6b7169203331-01"))
        .await;

    assert_eq!(trace, proxied, "the load balancer's trace is continued");
}
