//! The application: shared state, the router, and the server with its
//! background tasks.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::agents;
use crate::alerts::{self, Intake, intake::IntakeQueue};
use crate::auth;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::SecretBox;
use crate::error::{self, ApiError};
use crate::exchange::Exchange;
use crate::holds;
use crate::http::{MAX_BODY_BYTES, Routes};
use crate::incidents;
use crate::openapi;
use crate::outbox::{self, OutboxSignal};
use crate::pages;
use crate::playbooks::{self, Playbooks};
use crate::ratelimit::SWEEP_INTERVAL;
use crate::runs;
use crate::shared::Shared;
use crate::sla;
use crate::storage::{Committed, Database, DatabaseKind};
use crate::unfreeze;

/// How long shutdown waits for background work to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Everything a request handler or background task needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    config: Config,
    db: Database,
    clock: Clock,
    intake: Intake,
    shared: Shared,
    outbox_signal: OutboxSignal,
    exchange: Exchange,
    metrics: PrometheusHandle,
    secrets: SecretBox,
    playbooks: Playbooks,
    public_url: String,
}

impl AppState {
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn db(&self) -> &Database {
        &self.0.db
    }

    pub fn clock(&self) -> &Clock {
        &self.0.clock
    }

    pub fn intake(&self) -> &Intake {
        &self.0.intake
    }

    /// State shared by every instance (Redis), or this instance's own.
    pub fn shared(&self) -> &Shared {
        &self.0.shared
    }

    pub fn outbox_signal(&self) -> &OutboxSignal {
        &self.0.outbox_signal
    }

    pub fn exchange(&self) -> &Exchange {
        &self.0.exchange
    }

    pub fn secrets(&self) -> &SecretBox {
        &self.0.secrets
    }

    pub fn playbooks(&self) -> &Playbooks {
        &self.0.playbooks
    }

    /// The base URL links to Holdfast are built from.
    pub fn public_url(&self) -> &str {
        &self.0.public_url
    }

    /// Brings cached state in line with a committed change.
    pub async fn after_commit(&self, committed: Committed) {
        self.0.shared.invalidate_holds(&committed.holds_changed).await;
        if committed.outbox_enqueued {
            self.0.outbox_signal.wake();
        }
    }
}

/// Every route Holdfast serves: its own and each feature's.
pub fn routes(state: &AppState) -> Routes {
    Routes::new()
        .get("/healthz", healthz)
        .get("/readyz", readyz)
        .get("/metrics", metrics)
        .merge(openapi::routes())
        .merge(alerts::routes())
        .merge(holds::routes())
        .merge(auth::routes())
        .merge(agents::routes())
        .merge(incidents::routes())
        .merge(playbooks::routes())
        .merge(runs::routes())
        .merge(unfreeze::routes(state.clone()))
        .merge(pages::routes(state.clone()))
}

/// The router, with every route and the middleware stack.
pub fn router(state: AppState) -> Router {
    let timeout = state.config().request_timeout;
    routes(&state)
        .into_router()
        .layer(middleware::from_fn(error::log_server_errors))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(middleware::from_fn(error::problem_for_bare_errors))
        .layer(middleware::from_fn(record_latency))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(CatchPanicLayer::new())
        .with_state(state)
}

/// The request span: method and route, never the query string (it may carry tokens).
fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str());
    tracing::info_span!("request", method = %request.method(), route = %route)
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

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    state
        .db()
        .ping()
        .await
        .map_err(|_| ApiError::Unavailable("the database does not answer".into()))?;
    state.shared().ping().await?;
    Ok(axum::Json(serde_json::json!({"status": "ready"})))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        state.0.metrics.render(),
    )
}

/// The process-wide metrics recorder, installed on first use.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                    ],
                )
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full("holdfast_intake_batch_size".into()),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0],
                    )
                })
                .expect("the buckets are not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed")
        })
        .clone()
}

/// A built application, bound to its port and ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    intake_queue: IntakeQueue,
}

impl Application {
    /// Connects and migrates the database, binds the listener.
    pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let db = Database::connect(&config.database_url, config.database_max_connections).await?;
        db.migrate().await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("Failed to listen on {}", config.listen))?;
        let public_url = match &config.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", listener.local_addr()?),
        };
        let exchange = Exchange::new(config.exchange.clone(), config.outbound_retry.timeout)?;
        let (intake, intake_queue) = Intake::new();
        let secrets = SecretBox::new(&config.master_key, &config.previous_master_keys);
        let playbooks = Playbooks::load(&config.playbooks_dir, &config.playbook_keys)?;
        let shared = Shared::connect(config.redis_url.as_deref(), &config.redis_prefix).await?;
        let state = AppState(Arc::new(Inner {
            config,
            db,
            clock,
            intake,
            shared,
            outbox_signal: OutboxSignal::default(),
            exchange,
            metrics: metrics_handle(),
            secrets,
            playbooks,
            public_url,
        }));
        Ok(Self {
            listener,
            state,
            intake_queue,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then stops taking requests, finishes
    /// those in flight, and stops the background tasks.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Application {
            listener,
            state,
            intake_queue,
        } = self;
        let cancel = CancellationToken::new();
        let workers = match state.db().kind() {
            DatabaseKind::Postgres => 4,
            DatabaseKind::Sqlite => 1,
        };
        let mut background = tokio::task::JoinSet::new();
        background.spawn(alerts::intake::run_workers(
            state.clone(),
            intake_queue,
            workers,
            cancel.clone(),
        ));
        background.spawn(outbox::deliver_until_cancelled(state.clone(), cancel.clone()));
        background.spawn(sla::watch_until_cancelled(state.clone(), cancel.clone()));
        background.spawn(forget_idle_limits(state.clone(), cancel.clone()));
        background.spawn(runs::sweep_until_cancelled(state.clone(), cancel.clone()));
        background.spawn(unfreeze::expire_until_cancelled(state.clone(), cancel.clone()));

        let app = router(state.clone());
        let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;

        cancel.cancel();
        let stopped = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while background.join_next().await.is_some() {}
        })
        .await;
        if stopped.is_err() {
            tracing::warn!("background tasks did not stop in time");
        }
        state.db().close().await;
        served.context("the HTTP server failed")
    }
}

async fn forget_idle_limits(state: AppState, cancel: CancellationToken) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = interval.tick() => state.shared().forget_idle(),
        }
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
