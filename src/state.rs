//! What every handler and background task shares at run time, above
//! storage and below the edge and the features.
//!
//! [`AppState`] holds the configuration and the services the features use
//! (the database, the clock, the exchange), the handles they give each
//! other ([`handles`]), the state every instance must agree on
//! ([`shared`], over Redis or in-process, with its [`cache`] and
//! [`ratelimit`]) and the [`hold_index`]. It imports no feature and no part
//! of the edge; the router in `app` sits on top and merges the features'
//! routes.

pub mod cache;
pub mod handles;
pub mod hold_index;
pub mod ratelimit;
pub mod shared;

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::domain::ids::AccountId;
use crate::platform::clock::Clock;
use crate::platform::config::Config;
use crate::platform::crypto::SecretBox;
use crate::platform::exchange::Exchange;
use crate::state::handles::{BeforeCommit, FinishedRuns, Intake, Links, OutboxSignal, Playbooks, RunEvents, RunWaker};
use crate::state::hold_index::HoldIndex;
use crate::state::shared::Shared;
use crate::storage::{Committed, Database, Effect, WriteTx};

/// Everything a request handler or background task needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The parts of the state, assembled once by [`crate::app::Application::build`].
pub struct Inner {
    pub config: Config,
    pub db: Database,
    pub clock: Clock,
    pub intake: Intake,
    pub shared: Shared,
    /// The accounts that may have holds (the holds check's shortcut).
    pub hold_index: HoldIndex,
    pub outbox_signal: OutboxSignal,
    pub run_waker: RunWaker,
    pub run_events: RunEvents,
    pub exchange: Exchange,
    pub metrics: PrometheusHandle,
    pub secrets: SecretBox,
    pub playbooks: Playbooks,
    /// The base URL links to Holdfast are built from.
    pub public_url: String,
    /// Done last in every transaction (the holder's notices), registered at start.
    pub before_commit: Arc<dyn BeforeCommit>,
    /// Who handles a finished run of each playbook kind, registered at start.
    pub finished_runs: FinishedRuns<AppState>,
    /// When the gauges were last read from the database (`crate::gauges`).
    pub gauges_read_at: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

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

    pub fn hold_index(&self) -> &HoldIndex {
        &self.0.hold_index
    }

    pub fn outbox_signal(&self) -> &OutboxSignal {
        &self.0.outbox_signal
    }

    /// Tells the runner that something a run waits for has happened.
    pub fn run_waker(&self) -> &RunWaker {
        &self.0.run_waker
    }

    /// News of finished runs, for whoever waits on one.
    pub fn run_events(&self) -> &RunEvents {
        &self.0.run_events
    }

    pub fn exchange(&self) -> &Exchange {
        &self.0.exchange
    }

    /// When the gauges were last read from the database, held while they are read.
    pub fn gauges_read_at(&self) -> &tokio::sync::Mutex<Option<tokio::time::Instant>> {
        &self.0.gauges_read_at
    }

    pub fn metrics(&self) -> &PrometheusHandle {
        &self.0.metrics
    }

    pub fn secrets(&self) -> &SecretBox {
        &self.0.secrets
    }

    /// Who handles a finished run of each playbook kind.
    pub fn finished_runs(&self) -> &FinishedRuns<AppState> {
        &self.0.finished_runs
    }

    pub fn playbooks(&self) -> &Playbooks {
        &self.0.playbooks
    }

    /// The base URL links to Holdfast are built from.
    pub fn public_url(&self) -> &str {
        &self.0.public_url
    }

    /// Whether Holdfast is reached over HTTPS, so its cookies are `Secure`
    /// and its pages send HSTS.
    pub fn https(&self) -> bool {
        self.0.public_url.starts_with("https://")
    }

    /// What case links are built and sealed with.
    pub fn links(&self) -> Links<'_> {
        Links {
            secrets: &self.0.secrets,
            public_url: &self.0.public_url,
        }
    }

    /// Commits `tx` and brings in-memory state in line with it: the one way
    /// a change is committed, so the after-commit work cannot be forgotten.
    ///
    /// Last before the commit, the work registered at start runs in the same
    /// transaction: the holders of the incidents the change froze, raised or
    /// ended are told (`notices::TellHolders`, SPEC §13).
    pub async fn commit(&self, mut tx: WriteTx) -> Result<(), sqlx::Error> {
        let links = self.links();
        self.0
            .before_commit
            .before_commit(&mut tx, &links, self.clock().now())
            .await?;
        let committed = tx.commit().await?;
        self.after_commit(committed).await;
        Ok(())
    }

    /// Tells this instance's hold index and the shared hold cache that the
    /// holds of `accounts` changed (a committed change, here or in the
    /// database behind Holdfast's back).
    pub async fn holds_changed(&self, accounts: &[AccountId]) {
        for account in accounts {
            self.0.hold_index.announce(account);
        }
        self.0.shared.invalidate_holds(accounts).await;
    }

    /// Brings cached state in line with a committed change.
    async fn after_commit(&self, committed: Committed) {
        self.holds_changed(&committed.accounts_with_changed_holds()).await;
        if committed
            .effects
            .iter()
            .any(|effect| matches!(effect, Effect::MessageQueued))
        {
            self.0.outbox_signal.wake();
        }
        let mut steps_failed = 0;
        for effect in committed.effects {
            match effect {
                // Followed up above, all accounts at once.
                Effect::HoldsChanged { .. } => {}
                // Followed up above: one wake for any number of messages.
                Effect::MessageQueued => {}
                // Announced at commit to every instance's sweeper (PostgreSQL);
                // this instance's own runner is driven by whoever started it.
                Effect::RunStarted => {}
                Effect::RunFinished(run_id) => self.0.run_events.publish(run_id),
                Effect::ResponseTimeReached(reached) => {
                    metrics::histogram!(reached.milestone.metric(), "priority" => reached.priority.as_str())
                        .record(reached.duration.as_secs_f64());
                }
                Effect::StepFailed => steps_failed += 1,
                // Read before the commit (`notices`); never left in `Committed`.
                Effect::IncidentWritten(_) | Effect::FreezeAdded(_) | Effect::FlowDecided(_) => {}
            }
        }
        if steps_failed > 0 {
            metrics::counter!("holdfast_run_steps_failed_total").increment(steps_failed);
        }
    }
}
