//! The one layer stack every response passes, the same on every listener.
//!
//! Outermost first:
//!
//! 1. the headers every response carries: `X-Content-Type-Options: nosniff`,
//!    and in production `Strict-Transport-Security`;
//! 2. the request span (method and route, never the query string), in the
//!    caller's trace when the caller may choose it ([`TraceTrust`]); inside
//!    it, the request's trace context ([`crate::platform::trace_context`]) is made
//!    current for the handler's task;
//! 3. the latency histogram `holdfast_http_request_duration_seconds`
//!    (method, route, status);
//! 4. problem bodies for errors that did not come from an `ApiError`;
//! 5. the request time limit (`408`);
//! 6. the body size limit;
//! 7. logging the cause of every 5xx once;
//! 8. catching a panicking handler, which becomes an opaque problem `500`.
//!
//! Layers 2 to 5 and 7 are one function, [`around`]: every request passes
//! through them, and as separate layers each took a boxed future and a
//! clone of the router of its own. The latency histogram's series are
//! registered once each ([`LatencySeries`]), not looked up by labels built
//! as strings for every request.
//!
//! Catching panics innermost means a panic is answered like any other server
//! error: inside the request span, measured, and with a problem body. The
//! panic itself is logged once, by the hook [`crate::edge::telemetry`] installs, on
//! the panicking thread while the request span is entered.
//!
//! [`stack`] applies them to any router, so the main and admin listeners (and
//! tests) get the same behaviour.

use std::any::Any;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::Map;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Instrument;

use crate::edge::error::{self, ApiError, ProblemKind};
use crate::edge::http::{self, MAX_BODY_BYTES};
use crate::platform::client_address::TrustedProxies;
use crate::platform::clock::Clock;
use crate::platform::config::{Config, Environment};
use crate::platform::signing::{KEY_ID_HEADER, KeyRing, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::platform::trace_context::{self, TraceContext};

/// `Strict-Transport-Security` as Holdfast sends it: a year, subdomains included.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// What the layers take from the configuration.
#[derive(Clone)]
pub struct Edge {
    pub request_timeout: Duration,
    /// Whose `traceparent` a request may continue.
    pub trace: TraceTrust,
    /// Whether every response carries `Strict-Transport-Security`.
    pub hsts: bool,
    /// The latency histogram's series met so far.
    pub latency: Arc<LatencySeries>,
}

/// Whose trace context an inbound `traceparent` is continued from. A
/// caller's "not sampled" flag is never taken: Holdfast records every
/// request's spans whoever asks otherwise.
#[derive(Clone)]
pub enum TraceTrust {
    /// Anyone's (development: any tool can follow a request through).
    Anyone,
    /// Only a request whose signature verifies (SPEC §2: the risk engine,
    /// the exchange) or one that came through a trusted proxy (production:
    /// SPEC §1). Any other request starts a new trace, so nobody else can
    /// choose the trace ids Holdfast's work is recorded under.
    SignedOrProxied {
        keys: KeyRing,
        proxies: TrustedProxies,
        clock: Clock,
    },
}

impl Edge {
    /// The layers' settings for `config`; `clock` judges signature timestamps.
    pub fn of(config: &Config, clock: &Clock) -> Self {
        let production = config.environment == Environment::Production;
        Self {
            request_timeout: config.request_timeout,
            trace: if production {
                TraceTrust::SignedOrProxied {
                    keys: config.ingest_keys.clone(),
                    proxies: config.trusted_proxies.clone(),
                    clock: clock.clone(),
                }
            } else {
                TraceTrust::Anyone
            },
            hsts: production,
            latency: Arc::default(),
        }
    }

    /// Development settings with `request_timeout` (for tests of the layers).
    pub fn development(request_timeout: Duration) -> Self {
        Self {
            request_timeout,
            trace: TraceTrust::Anyone,
            hsts: false,
            latency: Arc::default(),
        }
    }
}

/// Wraps `router` in Holdfast's layers (see the module documentation).
pub fn stack<S: Clone + Send + Sync + 'static>(router: Router<S>, edge: &Edge) -> Router<S> {
    let hsts = edge.hsts.then(|| HeaderValue::from_static(HSTS));
    router
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(edge.clone(), around))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            move |_: &Response| hsts.clone(),
        ))
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

/// Layers 2 to 5 and 7: runs the request in its span, method and route
/// (never the query string: it may carry tokens), with its trace context
/// current for the handler (the caller's when [`TraceTrust`] allows it,
/// otherwise a new trace), within the request time limit; logs the cause of
/// a 5xx, gives a bare error a problem body, and records the latency.
async fn around(State(edge): State<Edge>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let span = tracing::info_span!("request", method = %method, route = %route);
    let (request, inbound) = match edge.trace.inbound(request, edge.request_timeout).await {
        Ok(read) => read,
        // The body could not be read in time or was too large: answered
        // as the time and body limits would.
        Err(refused) => return refused,
    };
    let context = match inbound {
        Some(inbound) => {
            inbound.adopt(&span);
            inbound.within(&span)
        }
        None => TraceContext::of_span(&span).unwrap_or_else(TraceContext::start),
    };
    let started = Instant::now();
    let limit = edge.request_timeout;
    let response = trace_context::scope(context, async move {
        match tokio::time::timeout(limit, next.run(request)).await {
            Ok(response) => {
                error::log_server_error(&response);
                error::problem_for_bare_error(response)
            }
            Err(_) => error::problem_for_bare_error(StatusCode::REQUEST_TIMEOUT.into_response()),
        }
    })
    .instrument(span)
    .await;
    edge.latency
        .record(&method, route, response.status(), started.elapsed().as_secs_f64());
    response
}

/// The series of `holdfast_http_request_duration_seconds` met so far, by
/// route, then method and status; each registered with the recorder when
/// first met.
#[derive(Default)]
pub struct LatencySeries {
    by_route: RwLock<HashMap<Box<str>, Vec<Series>>>,
}

/// One series: its method, its status, its histogram.
type Series = (Method, StatusCode, metrics::Histogram);

impl LatencySeries {
    fn record(&self, method: &Method, route: &str, status: StatusCode, seconds: f64) {
        let met = |series: &[Series]| {
            series
                .iter()
                .find(|(m, s, _)| m == method && *s == status)
                .map(|(_, _, histogram)| histogram.record(seconds))
                .is_some()
        };
        if self
            .by_route
            .read()
            .expect("latency series lock")
            .get(route)
            .is_some_and(|series| met(series))
        {
            return;
        }
        let mut by_route = self.by_route.write().expect("latency series lock");
        let series = by_route.entry(route.into()).or_default();
        if met(series) {
            return;
        }
        let histogram = metrics::histogram!(
            "holdfast_http_request_duration_seconds",
            "method" => method.to_string(),
            "route" => route.to_owned(),
            "status" => status.as_u16().to_string(),
        );
        histogram.record(seconds);
        series.push((method.clone(), status, histogram));
    }
}

impl TraceTrust {
    /// The trace context `request` may continue, if any, with the request
    /// to pass on (its body read within `timeout`, when the signature had
    /// to be checked).
    async fn inbound(&self, request: Request, timeout: Duration) -> Result<(Request, Option<TraceContext>), Response> {
        let Some(inbound) = request
            .headers()
            .get(trace_context::TRACEPARENT)
            .and_then(|value| value.to_str().ok())
            .and_then(TraceContext::parse)
        else {
            return Ok((request, None));
        };
        // A remote "not sampled" never switches sampling off.
        let inbound = TraceContext {
            sampled: true,
            ..inbound
        };
        let TraceTrust::SignedOrProxied { keys, proxies, clock } = self else {
            return Ok((request, Some(inbound)));
        };
        let proxied = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|ConnectInfo(peer)| proxies.contains(peer.ip()));
        if proxied {
            return Ok((request, Some(inbound)));
        }
        if !request.headers().contains_key(SIGNATURE_HEADER) {
            return Ok((request, None));
        }
        // The signature covers the body: read it (the handler reads it again).
        let (parts, body) = request.into_parts();
        let body = match tokio::time::timeout(timeout, http::read_body(&parts.headers, body)).await {
            Ok(read) => read.map_err(ApiError::into_response)?,
            Err(_) => {
                return Err(error::problem(
                    StatusCode::REQUEST_TIMEOUT,
                    ProblemKind::Timeout,
                    "the request took too long",
                    Map::new(),
                ));
            }
        };
        let header = |name: &str| parts.headers.get(name).and_then(|value| value.to_str().ok());
        let signed = keys
            .verify(
                header(KEY_ID_HEADER),
                header(TIMESTAMP_HEADER),
                header(SIGNATURE_HEADER),
                &body,
                clock.now(),
            )
            .is_ok();
        Ok((Request::from_parts(parts, Body::from(body)), signed.then_some(inbound)))
    }
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
        assert_eq!(
            count(r#"method="GET",route="/a",status="200""#).as_deref(),
            Some("2"),
            "{rendered}"
        );
        assert_eq!(
            count(r#"method="GET",route="/a",status="404""#).as_deref(),
            Some("1"),
            "{rendered}"
        );
        assert_eq!(
            count(r#"method="POST",route="/a",status="200""#).as_deref(),
            Some("1"),
            "{rendered}"
        );
        assert_eq!(
            count(r#"method="GET",route="/b",status="200""#).as_deref(),
            Some("1"),
            "{rendered}"
        );
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
}
