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
        error::ProblemExtra::default(),
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
                    error::ProblemExtra::default(),
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
mod tests;
