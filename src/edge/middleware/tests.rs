use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusBuilder;
use serde_json::Value;
use tower::ServiceExt;

use super::*;

/// Log lines written by a test's own subscriber.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    fn events(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

async fn explode() -> &'static str {
    panic!("the ledger of account acct-1 is inconsistent");
}

// A current-thread runtime: the handler runs, and panics, on this thread,
// where the test's subscriber and metrics recorder are installed.
#[tokio::test(flavor = "current_thread")]
async fn a_panicking_handler_answers_an_opaque_problem_logged_once_in_its_span_and_measured() {
    crate::edge::telemetry::log_panics();
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_writer(move || writer.clone())
        .finish();
    let logging = tracing::subscriber::set_default(subscriber);
    let recorder = PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let app = stack(
        Router::new().route("/explode", get(explode)),
        &Edge::development(Duration::from_secs(5)),
    );

    let response = app
        .oneshot(Request::get("/explode").body(Body::empty()).unwrap())
        .await
        .unwrap();
    // From here on a failed assertion is printed, not captured.
    drop(logging);

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()["content-type"], error::PROBLEM_CONTENT_TYPE);
    let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["type"], "/problems/internal-error");
    assert_eq!(problem["status"], 500);
    assert!(!String::from_utf8_lossy(&body).contains("ledger"), "opaque: {problem}");

    let errors: Vec<Value> = logs
        .events()
        .into_iter()
        .filter(|event| event["level"] == "ERROR")
        .collect();
    assert_eq!(errors.len(), 1, "logged once: {errors:?}");
    let logged = errors[0].to_string();
    assert!(
        logged.contains("the ledger of account acct-1 is inconsistent"),
        "{logged}"
    );
    assert_eq!(errors[0]["span"]["name"], "request", "{logged}");
    assert_eq!(errors[0]["span"]["route"], "/explode", "{logged}");

    let rendered = metrics.render();
    let measured = rendered.lines().any(|line| {
        line.starts_with("holdfast_http_request_duration_seconds_count{")
            && line.contains(r#"route="/explode""#)
            && line.contains(r#"status="500""#)
            && line.ends_with(" 1")
    });
    assert!(measured, "the 500 is in the latency histogram:\n{rendered}");
}

#[test]
fn each_latency_series_is_registered_once_and_counts_every_request() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let series = LatencySeries::default();

    series.record(&Method::GET, "/a", StatusCode::OK, 0.001);
    series.record(&Method::GET, "/a", StatusCode::OK, 0.002);
    series.record(&Method::GET, "/a", StatusCode::NOT_FOUND, 0.001);
    series.record(&Method::POST, "/a", StatusCode::OK, 0.001);
    series.record(&Method::GET, "/b", StatusCode::OK, 0.001);

    let rendered = metrics.render();
    let count = |labels: &str| {
        rendered
            .lines()
            .find(|line| line.starts_with("holdfast_http_request_duration_seconds_count{") && line.contains(labels))
            .and_then(|line| line.rsplit(' ').next())
            .map(str::to_owned)
    };
    for (labels, requests) in [
        (r#"method="GET",route="/a",status="200""#, "2"),
        (r#"method="GET",route="/a",status="404""#, "1"),
        (r#"method="POST",route="/a",status="200""#, "1"),
        (r#"method="GET",route="/b",status="200""#, "1"),
    ] {
        assert_eq!(count(labels).as_deref(), Some(requests), "{labels}: {rendered}");
    }
    assert_eq!(series.by_route.read().unwrap().values().map(Vec::len).sum::<usize>(), 4);
}

#[tokio::test(flavor = "current_thread")]
async fn an_unknown_route_is_a_problem_404() {
    let app = stack(
        Router::new().route("/here", get(|| async { "here" })),
        &Edge::development(Duration::from_secs(5)),
    );

    let response = app
        .oneshot(Request::get("/elsewhere").body(Body::empty()).unwrap())
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()["content-type"], error::PROBLEM_CONTENT_TYPE);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(
        !response.headers().contains_key("strict-transport-security"),
        "not in development"
    );
}

/// The trace the handler ran in, whether it is sampled, and the body it got.
async fn echo_trace(body: String) -> String {
    let context = trace_context::current().expect("a trace context");
    format!("{} {} {body}", hex::encode(context.trace_id), context.sampled)
}

#[tokio::test(flavor = "current_thread")]
async fn in_production_only_a_verified_signature_or_a_trusted_proxy_continues_a_trace() {
    let key = crate::platform::signing::SigningKey::new("engine", &[7u8; 32]);
    let clock = Clock::system();
    let edge = Edge {
        request_timeout: Duration::from_secs(5),
        trace: TraceTrust::SignedOrProxied {
            keys: KeyRing::from_keys([key.clone()]),
            proxies: TrustedProxies::parse("10.0.0.0/8").unwrap(),
            clock: clock.clone(),
        },
        hsts: true,
        latency: Arc::default(),
    };
    let app = stack(Router::new().route("/echo", axum::routing::post(echo_trace)), &edge);
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace}-00f067aa0ba902b7-00");
    let request = |signed_with: Option<&crate::platform::signing::SigningKey>, peer: [u8; 4]| {
        let body = "{\"alert_id\":\"re-1\"}";
        let mut request = Request::post("/echo").header("traceparent", &traceparent);
        if let Some(key) = signed_with {
            for (name, value) in key.headers(clock.now(), body.as_bytes()) {
                request = request.header(name, value);
            }
        }
        let mut request = request.body(Body::from(body)).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((peer, 40000))));
        request
    };
    let answer = |request: Request| {
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.headers()["strict-transport-security"], HSTS);
            let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
            String::from_utf8(body.to_vec()).unwrap()
        }
    };
    let forger = crate::platform::signing::SigningKey::new("engine", &[8u8; 32]);

    let signed = answer(request(Some(&key), [192, 0, 2, 1])).await;
    let forged = answer(request(Some(&forger), [192, 0, 2, 1])).await;
    let anonymous = answer(request(None, [192, 0, 2, 1])).await;
    let proxied = answer(request(None, [10, 1, 2, 3])).await;

    assert_eq!(
        signed,
        format!("{trace} true {{\"alert_id\":\"re-1\"}}"),
        "continued, sampled, body intact"
    );
    assert_eq!(proxied.split(' ').next(), Some(trace));
    for refused in [forged, anonymous] {
        assert_ne!(refused.split(' ').next(), Some(trace), "{refused}");
        assert!(refused.ends_with("true {\"alert_id\":\"re-1\"}"), "{refused}");
    }
}
