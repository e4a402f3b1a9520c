//! Span export over OTLP (SPEC §11): the real binary, started with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a small OTLP/gRPC receiver
//! (the global subscriber is per process, so not the in-process test app).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};

use crate::fake_exchange::FakeExchange;
use crate::helpers::{Backend, TestDatabase, eventually, p1_withdrawal, random_base64};

/// Every span received, as (name, trace id in hex).
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<(String, String)>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.push((span.name, hex::encode(span.trace_id)));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Stops the binary when the test ends, whatever its outcome.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_an_otlp_endpoint_intake_containment_and_the_push_are_exported_in_the_callers_trace() {
    exported_in_the_callers_trace("01").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_callers_not_sampled_flag_does_not_stop_the_spans_being_exported() {
    exported_in_the_callers_trace("00").await;
}

/// Posts a P1 alert in a caller's trace (its `traceparent` flags as given)
/// and waits for the request, intake, containment and push spans to be
/// exported in that trace.
async fn exported_in_the_callers_trace(flags: &str) {
    let receiver = Receiver::default();
    let otlp_port = free_port();
    let serving = receiver.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(serving))
            .serve(([127, 0, 0, 1], otlp_port).into())
            .await
    });

    let db = TestDatabase::create(Backend::Sqlite).await;
    let clock = holdfast::platform::clock::Clock::system();
    let exchange = FakeExchange::start(clock.clone()).await;
    let ingest_secret = random_base64(32);
    let port = free_port();
    let manifest = env!("CARGO_MANIFEST_DIR");
    let _holdfast = Running(
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
            .env("HOLDFAST_LOG", "warn,holdfast=info")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{otlp_port}"))
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
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

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let body = p1_withdrawal("re-1", "acct-1").to_string();
    let key = holdfast::platform::signing::SigningKey::parse(&format!("risk-engine={ingest_secret}")).unwrap();
    let mut request = client
        .post(format!("{base}/v1/alerts"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-{flags}"))
        .body(body.clone());
    for (name, value) in key.headers(clock.now(), body.as_bytes()) {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let pushes = exchange.wait_for_actions("acct-1", "place_hold", 1).await;
    assert_eq!(pushes[0].trace_id(), Some(trace_id));

    let names = ["request", "intake", "containment", "exchange.send"];
    eventually("the spans to be exported", Duration::from_secs(20), || async {
        let spans = receiver.0.lock().unwrap().clone();
        names
            .iter()
            .all(|name| spans.iter().any(|(n, t)| n == name && t == trace_id))
            .then_some(())
    })
    .await;
    let spans = receiver.0.lock().unwrap().clone();
    let pushed_in_trace = spans
        .iter()
        .filter(|(name, trace)| name == "exchange.send" && trace == trace_id)
        .count();
    assert!(pushed_in_trace >= 1, "{spans:?}");
}
