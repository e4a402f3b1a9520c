//! The running service: its state built from the configuration, its listeners
//! (public, exchange, admin), its background tasks, and a graceful stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{admin_router, exchange_router, router};
use crate::alerts::intake;
use crate::campaigns;
use crate::domain::agent::FAILURE_MEMORY;
use crate::domain::playbook::PlaybookKind;
use crate::edge::server;
use crate::edge::telemetry;
use crate::notices;
use crate::outbox;
use crate::platform::clock::Clock;
use crate::platform::config::Config;
use crate::platform::config::DatabaseKind;
use crate::platform::crypto::{AuditKeys, SecretBox};
use crate::platform::exchange::Exchange;
use crate::runs;
use crate::sla;
use crate::state::handles::{
    FinishedRuns, Intake, IntakeQueue, OutboxSignal, Playbooks, RunEvents, RunWaker, RunWakeups,
};
use crate::state::hold_index::HoldIndex;
use crate::state::ratelimit::SWEEP_INTERVAL;
use crate::state::shared::Shared;
use crate::state::{AppState, Inner};
use crate::storage::{Announcement, Database, Work};
use crate::unfreeze;

/// How often stored data that only matters for a while is deleted: what it
/// deletes is ignored by every read once it is old, so deleting it later
/// only keeps rows longer, and an idle instance spends two statements on
/// it every ten minutes.
const FORGET_STORED_EVERY: Duration = Duration::from_secs(600);

/// How long shutdown waits for background work to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How much longer than the request time limit shutdown lets requests in
/// flight take to finish and send their answers.
const RESPONSE_GRACE: Duration = Duration::from_secs(2);

/// The process-wide metrics recorder, installed on first use.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                    ],
                )
                .and_then(|builder| {
                    // Response times: from seconds (automatic containment) to days.
                    builder.set_buckets_for_metric(
                        Matcher::Prefix("holdfast_time_to_".into()),
                        &[
                            1.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0,
                            259200.0, 604800.0,
                        ],
                    )
                })
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full("holdfast_intake_batch_size".into()),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0],
                    )
                })
                .expect("the buckets are not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            telemetry::catalog::describe();
            handle
        })
        .clone()
}

/// A built application, bound to its port(s) and ready to run.
pub struct Application {
    listener: TcpListener,
    /// Bound when `HOLDFAST_ADMIN_LISTEN` is set: `/metrics` is served there only.
    admin_listener: Option<TcpListener>,
    /// Bound when `HOLDFAST_EXCHANGE_LISTEN` is set: the signed routes with
    /// connection slots of their own.
    exchange_listener: Option<TcpListener>,
    state: AppState,
    intake_queue: IntakeQueue,
    run_wakeups: RunWakeups,
}

impl Application {
    /// Connects and migrates the database, binds the listener.
    pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Self> {
        // First: whatever is recorded from here on (the feed's gauge, the
        // series registered at start) must reach the recorder.
        let metrics = metrics_handle();
        crate::edge::l10n::load()?;
        let db = Database::connect(&config.database_url, config.database_max_connections)
            .await?
            .with_audit_keys(AuditKeys::new(&config.master_key, &config.previous_master_keys));
        db.migrate().await?;
        let chained = db
            .chain_entries_left_waiting()
            .await
            .context("Failed to chain the audit entries an older version left waiting")?;
        if chained > 0 {
            tracing::info!(
                entries = chained,
                "chained the audit entries an older version left waiting"
            );
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("Failed to listen on {}", config.listen))?;
        let admin_listener = bind_optional(config.admin_listen, "HOLDFAST_ADMIN_LISTEN").await?;
        let exchange_listener = bind_optional(config.exchange_listen, "HOLDFAST_EXCHANGE_LISTEN").await?;
        let public_url = match &config.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", listener.local_addr()?),
        };
        let exchange = Exchange::new(
            config.exchange.clone(),
            config.risk_feedback.clone(),
            config.outbound_retry.timeout,
        )?;
        // Intake workers, each with its own shard of accounts: four batches
        // in flight on PostgreSQL; SQLite has one writer.
        let workers = match db.kind() {
            DatabaseKind::Postgres => 4,
            DatabaseKind::Sqlite => 1,
        };
        let (intake, intake_queue) = Intake::new(workers);
        let secrets = SecretBox::new(&config.master_key, &config.previous_master_keys);
        let playbooks = Playbooks::load(&config.playbooks_dir, &config.playbook_keys)?;
        let shared = Shared::connect(config.redis_url.as_deref(), &config.redis_prefix).await?;
        let hold_index = HoldIndex::new(shared.is_redis());
        telemetry::catalog::register_at_start(&telemetry::catalog::Start {
            holds_feed: if shared.is_redis() { "redis" } else { "database" },
        });
        let (run_waker, run_wakeups) = RunWaker::new();
        let state = AppState::new(Inner {
            config,
            db,
            clock,
            intake,
            shared,
            outbox_signal: OutboxSignal::default(),
            run_waker,
            run_events: RunEvents::default(),
            exchange,
            metrics,
            secrets,
            playbooks,
            public_url,
            hold_index,
            before_commit: std::sync::Arc::new(notices::TellHolders),
            finished_runs: FinishedRuns::default().register(PlaybookKind::Unfreeze, unfreeze::outcome::OnFinished),
            gauges_read_at: Default::default(),
        });
        Ok(Self {
            listener,
            admin_listener,
            exchange_listener,
            state,
            intake_queue,
            run_wakeups,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Where `/metrics` is served, when `HOLDFAST_ADMIN_LISTEN` is set.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_listener
            .as_ref()
            .map(|listener| listener.local_addr().expect("a bound listener has an address"))
    }

    /// Where the exchange's routes are served apart, when `HOLDFAST_EXCHANGE_LISTEN` is set.
    pub fn exchange_addr(&self) -> Option<SocketAddr> {
        self.exchange_listener
            .as_ref()
            .map(|listener| listener.local_addr().expect("a bound listener has an address"))
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then stops taking requests, finishes
    /// those in flight, and stops the background tasks.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Application {
            listener,
            admin_listener,
            exchange_listener,
            state,
            intake_queue,
            run_wakeups,
        } = self;
        let cancel = CancellationToken::new();
        let mut background = tokio::task::JoinSet::new();
        background.spawn(intake::run_workers(state.clone(), intake_queue, cancel.clone()));
        background.spawn(outbox::deliver::deliver_until_cancelled(state.clone(), cancel.clone()));
        background.spawn(sla::watch_until_cancelled(state.clone(), cancel.clone()));
        background.spawn(forget_idle_limits(state.clone(), cancel.clone()));
        background.spawn(crate::retention::maintain(state.clone(), cancel.clone()));
        background.spawn(runs::sweeper::run_until_cancelled(
            state.clone(),
            run_wakeups,
            cancel.clone(),
        ));
        background.spawn(unfreeze::expiry::expire_until_cancelled(state.clone(), cancel.clone()));
        background.spawn(crate::drills::sweep::close_due_until_cancelled(
            state.clone(),
            cancel.clone(),
        ));
        let indexed = state.clone();
        let maintaining = cancel.clone();
        background.spawn(async move {
            let (index, db, shared) = (indexed.hold_index(), indexed.db(), indexed.shared());
            let (events, outbox, runs) = (indexed.run_events(), indexed.outbox_signal(), indexed.run_waker());
            // Work another instance announced, and after (re)connecting
            // whatever may have gone by unheard, is looked for at once.
            let heard = |announcement: Announcement| match announcement {
                Announcement::RunFinished(run_id) => events.publish(run_id),
                Announcement::Work(Work::Outbox) => outbox.wake(),
                Announcement::Work(Work::Runs) => runs.sweep_soon(),
                Announcement::HoldsChanged(_) => {}
            };
            let relistened = || {
                outbox.wake();
                runs.sweep_soon();
            };
            index.maintain(db, shared, heard, relistened, maintaining).await
        });

        let stop_serving = CancellationToken::new();
        let stop_on_signal = stop_serving.clone();
        tokio::spawn(async move {
            shutdown.await;
            stop_on_signal.cancel();
        });
        let serving = server::Serving {
            limits: state.config().server,
            trusted_proxies: state.config().trusted_proxies.clone(),
            shutdown: stop_serving,
            grace: state.config().request_timeout + RESPONSE_GRACE,
        };
        let public = server::serve("public", listener, router(state.clone()), serving.clone());
        let exchange = serve_optional("exchange", exchange_listener, exchange_router(state.clone()), &serving);
        let admin = serve_optional("admin", admin_listener, admin_router(state.clone()), &serving);
        tokio::join!(public, exchange, admin);

        cancel.cancel();
        let stopped = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while background.join_next().await.is_some() {}
        })
        .await;
        if stopped.is_err() {
            tracing::warn!("background tasks did not stop in time");
        }
        state.db().close().await;
        Ok(())
    }
}

/// Binds `address` when it is set; `variable` names it in the error.
async fn bind_optional(address: Option<SocketAddr>, variable: &str) -> anyhow::Result<Option<TcpListener>> {
    let Some(address) = address else { return Ok(None) };
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("Failed to listen on {address} ({variable})"))?;
    Ok(Some(listener))
}

/// Serves `router` on `listener` when there is one.
async fn serve_optional(name: &'static str, listener: Option<TcpListener>, router: Router, serving: &server::Serving) {
    if let Some(listener) = listener {
        server::serve(name, listener, router, serving.clone()).await;
    }
}

/// Forgets what only matters for a while: idle rate-limit buckets (in
/// memory, every `SWEEP_INTERVAL`), and every [`FORGET_STORED_EVERY`] failed
/// sign-ins older than any lock they could still hold and campaign signal
/// values past their retention period.
async fn forget_idle_limits(state: AppState, cancel: CancellationToken) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    let mut stored_forgotten_at: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = interval.tick() => {
                state.shared().forget_idle();
                if stored_forgotten_at.is_some_and(|at| at.elapsed() < FORGET_STORED_EVERY) {
                    continue;
                }
                stored_forgotten_at = Some(tokio::time::Instant::now());
                let before = state.clock().now().minus(FAILURE_MEMORY);
                if let Err(error) = state.db().forget_sign_in_failures(before).await {
                    tracing::warn!(error = %error, "forgetting old sign-in failures failed");
                }
                if let Err(error) = campaigns::forget_expired(&state).await {
                    tracing::warn!(error = %error, "forgetting expired campaign signals failed");
                }
            }
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
