//! The layers every request passes through, outermost first:
//!
//! 1. the request span (method and route, never the query string), continuing
//!    the caller's trace when the request carries a `traceparent`;
//!    inside it, the request's trace context ([`crate::trace_context`]) is
//!    made current for the handler's task;
//! 2. the latency histogram `holdfast_http_request_duration_seconds`
//!    (method, route, status);
//! 3. problem bodies for errors that did not come from an `ApiError`;
//! 4. the request time limit (`408`);
//! 5. the body size limit;
//! 6. logging the cause of every 5xx once;
//! 7. catching a panicking handler, which becomes an opaque problem `500`.
//!
//! Catching panics innermost means a panic is answered like any other server
//! error: inside the request span, measured, and with a problem body. The
//! panic itself is logged once, by the hook [`crate::telemetry`] installs, on
//! the panicking thread while the request span is entered.
//!
//! [`stack`] applies them to any router, so the main and admin listeners (and
//! tests) get the same behaviour.

use std::any::Any;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use serde_json::Map;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::{self, ProblemKind};
use crate::http::MAX_BODY_BYTES;
use crate::trace_context::{self, TraceContext};

/// Wraps `router` in Holdfast's layers (see the module documentation).
pub fn stack<S: Clone + Send + Sync + 'static>(router: Router<S>, request_timeout: Duration) -> Router<S> {
    router
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(error::log_server_errors))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(middleware::from_fn(error::problem_for_bare_errors))
        .layer(middleware::from_fn(record_latency))
        .layer(middleware::from_fn(continue_trace))
        // The span only: a failure is logged once, by `log_server_errors` or
        // the panic hook, not again by the trace layer's own `on_failure`.
        .layer(TraceLayer::new_for_http().make_span_with(request_span).on_failure(()))
}

/// The answer to a request whose handler panicked: the same opaque problem
/// as any other internal error. The panic was already logged by the hook.
fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    error::problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        ProblemKind::InternalError,
        error::INTERNAL_ERROR_DETAIL,
        Map::new(),
    )
}

/// The request span: method and route, never the query string (it may carry tokens).
fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str());
    let span = tracing::info_span!("request", method = %request.method(), route = %route);
    if let Some(inbound) = inbound_trace(request) {
        inbound.adopt(&span);
    }
    span
}

fn inbound_trace(request: &Request) -> Option<TraceContext> {
    let header = request.headers().get(trace_context::TRACEPARENT)?.to_str().ok()?;
    TraceContext::parse(header)
}

/// Makes the request's trace context current for its handler: the caller's
/// (from `traceparent`) or a new trace.
async fn continue_trace(request: Request, next: Next) -> Response {
    let span = tracing::Span::current();
    let context = match inbound_trace(&request) {
        Some(inbound) => inbound.within(&span),
        None => TraceContext::of_span(&span).unwrap_or_else(TraceContext::start),
    };
    trace_context::scope(context, next.run(request)).await
}

async fn record_latency(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    metrics::histogram!(
        "holdfast_http_request_duration_seconds",
        "method" => method,
        "route" => route,
        "status" => response.status().as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
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
        crate::telemetry::log_panics();
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
        let app = stack(Router::new().route("/explode", get(explode)), Duration::from_secs(5));

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

    #[tokio::test(flavor = "current_thread")]
    async fn an_unknown_route_is_a_problem_404() {
        let app = stack(
            Router::new().route("/here", get(|| async { "here" })),
            Duration::from_secs(5),
        );

        let response = app
            .oneshot(Request::get("/elsewhere").body(Body::empty()).unwrap())
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()["content-type"], error::PROBLEM_CONTENT_TYPE);
    }
}
