//! Storage: the one place SQL lives.
//!
//! Holdfast runs on PostgreSQL (production, several instances) or on an
//! embedded SQLite file (development, one instance). Both backends store the
//! same tables (see `migrations/`), so most statements are written once and
//! compiled for each backend by [`on_backend!`]; where the dialects differ
//! (row locks, batch inserts) each backend gets its own statement side by side.
//!
//! Every change goes through a [`WriteTx`], which buffers the audit entries the
//! change produces and chains them just before commit, in the same
//! transaction (see `audit::append`), so a change and its chained audit
//! entries land together or not at all. Both backends store the same tables.
//!
//! SQLite allows one writer at a time; rather than let concurrent writers
//! fail with `SQLITE_BUSY`, all writes go through a pool of one connection and
//! queue for it, while reads use a separate pool of read-only connections that
//! see the last committed state (WAL mode).
//!
//! This file holds what every storage file builds on (the backend macros,
//! `Database`, the write transaction and its commit); opening a database is
//! `pools`, hearing other instances `announcements`, and each table's SQL
//! its own file.

use std::sync::{Arc, OnceLock};

use crate::domain::audit::AuditRecord;
use crate::domain::ids::{AccountId, RunId};
use crate::platform::crypto::AuditKeys;
use crate::platform::trace_context::TraceContext;

mod agents;
mod alerts;
mod announcements;
mod audit;
mod campaigns;
mod cases;
mod dispositions;
mod drills;
mod effects;
mod flows;
mod holds;
mod incidents;
mod intake;
mod legal_holds;
mod lock_links;
mod outbox;
mod overview;
mod pools;
mod replay;
mod retention;
mod rule_quality;
mod runs;
mod types;

pub use agents::{AgentRecord, SessionRecord};
pub use alerts::AlertRow;
pub use announcements::{Announcement, Work};
use announcements::{HOLDS_CHANGED_CHANNEL, RUNS_FINISHED_CHANNEL, WORK_CHANNEL};
pub use audit::{AuditRow, ChainHeadRow};
pub use campaigns::{CampaignMember, CampaignRecord};
pub use cases::{CaseMessageRow, CaseTokenRow, HolderCaseRow};
pub use effects::{Committed, Effect, HolderNews, NotedIncident};
pub use incidents::{Claimed, IncidentFilter, LiveIncident, QueueFilter, QueuePosition, QueueRow};
pub use intake::CorrelationWindow;
pub use legal_holds::LegalHoldRow;
pub use lock_links::LockLinkRow;
pub use outbox::{Confirmed, OutboxMessage, OutboxStatus, Queued};
pub use overview::WindowTimes;
use pools::Pools;
pub use replay::ReplayRow;
pub use retention::{Expiry, History, Month, RELEASE_GRACE};

/// SQL for "the incident is live": not resolved or dismissed. The partial
/// unique index `incidents_one_live_per_account` says the same, and
/// `ON CONFLICT` must name it in these exact words.
macro_rules! live_incident {
    () => {
        "status NOT IN ('resolved', 'dismissed')"
    };
}
pub(crate) use live_incident;

/// SQL for "the flow is live": still waiting for the holder or an agent.
/// SQL for "not a drill's incident" (SPEC §14): drills count in no figure.
/// `domain::drill::ACCOUNT_PREFIX` in SQL.
macro_rules! not_drill {
    () => {
        "account_id NOT LIKE 'drill-%'"
    };
}
pub(crate) use not_drill;

macro_rules! live_flow {
    () => {
        "state IN ('awaiting_code', 'awaiting_second_factor', 'awaiting_activity_review', 'in_review')"
    };
}
pub(crate) use live_flow;

/// SQL for "the run is unfinished": not succeeded or failed. Said this way
/// rather than as the partial index `runs_unfinished` says it, so the
/// planner looks runs up by id or incident instead of walking every
/// unfinished run (load/REPORT.md).
macro_rules! unfinished_run {
    () => {
        "status NOT IN ('succeeded', 'failed')"
    };
}
pub(crate) use unfinished_run;

/// Runs `$body` with `$conn` bound to the backend's executor. The body is
/// compiled once per backend, so it may use any type both backends encode.
macro_rules! on_backend {
    ($target:expr, $conn:ident => $body:expr) => {
        match $target {
            $crate::storage::Backend::Postgres($conn) => $body,
            $crate::storage::Backend::Sqlite($conn) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Runs one statement on either backend with `$value`s bound to `$1`, `$2`,
/// … in order; answers how many rows it changed.
macro_rules! execute {
    ($target:expr, $sql:expr $(, $value:expr)* $(,)?) => {
        $crate::storage::on_backend!($target, c => sqlx::query($sql)
            $(.bind($value))*
            .execute(c)
            .await
            .map(|done| done.rows_affected()))
    };
}
pub(crate) use execute;

/// Something that is one of the two backends: a pool, a connection, a transaction.
pub enum Backend<P, S> {
    Postgres(P),
    Sqlite(S),
}

/// Connection pools for one database. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pools: Pools,
    /// The keys audit entries are sealed with; a database opened without
    /// them (for maintenance) can read, but a change that audits fails.
    audit_keys: Option<Arc<AuditKeys>>,
    /// How many chains the audit log has, once read (it never changes
    /// while a process runs: only a migration could change it).
    audit_chains: Arc<OnceLock<u16>>,
}

/// Rows per multi-row insert on SQLite where a transaction may write many
/// (audit entries, sightings): at ten values a row, far below SQLite's limit
/// on bound values in one statement.
const SQLITE_ROWS_PER_INSERT: usize = 500;

type PgTx = sqlx::Transaction<'static, sqlx::Postgres>;
type SqliteTx = sqlx::Transaction<'static, sqlx::Sqlite>;

/// A write transaction and what it will record in the audit log.
///
/// Dropping it without [`WriteTx::commit`] rolls everything back.
pub struct WriteTx {
    tx: Backend<PgTx, SqliteTx>,
    /// The keys the audit entries of this change are sealed with.
    audit_keys: Option<Arc<AuditKeys>>,
    /// Audit entries of this change, chained at commit.
    audit: Vec<AuditRecord>,
    /// The database's number of audit chains, once read.
    audit_chains: Arc<OnceLock<u16>>,
    /// What the change did that must be followed up: the holder's news
    /// before the commit, the rest after it (see [`Effect`]).
    effects: Vec<Effect>,
    /// The trace the change belongs to: messages and runs it writes keep it.
    /// Begun in a request's task, the request's trace.
    trace: Option<TraceContext>,
}

impl WriteTx {
    /// Takes what the change did that holders may have to be told of.
    pub fn take_holder_news(&mut self) -> HolderNews {
        HolderNews::take_from(&mut self.effects)
    }

    /// Records what the change did, to follow up around its commit.
    pub(crate) fn record(&mut self, effect: Effect) {
        self.effects.push(effect);
    }

    /// Notes an incident the change wrote (see [`HolderNews`]).
    pub(crate) fn note_incident(&mut self, incident: &crate::domain::incident::Incident) {
        self.record(Effect::IncidentWritten(NotedIncident {
            id: incident.id.clone(),
            account_id: incident.account_id.clone(),
            priority: incident.priority,
            closed: incident.status.is_closed(),
        }));
    }

    /// The transaction's connection, for one statement.
    pub(crate) fn conn(&mut self) -> Backend<&mut sqlx::PgConnection, &mut sqlx::SqliteConnection> {
        match &mut self.tx {
            Backend::Postgres(tx) => Backend::Postgres(&mut **tx),
            Backend::Sqlite(tx) => Backend::Sqlite(&mut **tx),
        }
    }

    /// Announces, once this transaction commits, that `run_id` finished: on
    /// PostgreSQL with `NOTIFY` to every instance, on SQLite through
    /// [`Effect::RunFinished`].
    pub async fn announce_run_finished(&mut self, run_id: &RunId) -> Result<(), sqlx::Error> {
        match self.conn() {
            Backend::Postgres(c) => {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(RUNS_FINISHED_CHANNEL)
                    .bind(run_id)
                    .execute(c)
                    .await?;
            }
            Backend::Sqlite(_) => self.record(Effect::RunFinished(run_id.clone())),
        }
        Ok(())
    }

    /// Sets the trace the messages and runs written from now on belong to.
    pub fn set_trace(&mut self, trace: Option<TraceContext>) {
        self.trace = trace;
    }

    /// The trace of this change, if it has one.
    pub fn trace(&self) -> Option<TraceContext> {
        self.trace
    }

    /// The trace as stored beside a message or a run (a `traceparent` value).
    pub(crate) fn stored_trace(&self) -> Option<String> {
        self.trace.map(|trace| trace.to_string())
    }

    /// Counts a run step this transaction fails, once it commits.
    pub fn count_failed_step(&mut self) {
        self.record(Effect::StepFailed);
    }

    /// Records an audit entry, appended to the chain when the transaction commits.
    pub fn audit(&mut self, record: AuditRecord) {
        self.audit.push(record);
    }

    /// Chains the buffered audit entries in this transaction and commits.
    /// Chaining is the last thing before the commit: the heads of the chains
    /// the entries go to stay locked from then until the commit.
    pub async fn commit(mut self) -> Result<Committed, sqlx::Error> {
        let holds_changed = effects::accounts_with_changed_holds(&self.effects);
        let mut channels = vec![HOLDS_CHANGED_CHANNEL; holds_changed.len()];
        let mut payloads: Vec<&str> = holds_changed.iter().map(AccountId::as_str).collect();
        let queued = self.effects.iter().any(|e| matches!(e, Effect::MessageQueued));
        let started = self.effects.iter().any(|e| matches!(e, Effect::RunStarted));
        for (work, left) in [(Work::Outbox, queued), (Work::Runs, started)] {
            if left {
                channels.push(WORK_CHANNEL);
                payloads.push(work.as_str());
            }
        }
        if let (Backend::Postgres(c), false) = (self.conn(), channels.is_empty()) {
            // Delivered to every instance (its hold index, its background
            // tasks) when (and only if) the change commits.
            sqlx::query(
                "SELECT pg_notify(channel, payload) FROM UNNEST($1::text[], $2::text[]) AS n(channel, payload)",
            )
            .bind(&channels)
            .bind(&payloads)
            .execute(c)
            .await?;
        }
        let records = std::mem::take(&mut self.audit);
        audit::append(&mut self, records).await?;
        match self.tx {
            Backend::Postgres(tx) => tx.commit().await?,
            Backend::Sqlite(tx) => tx.commit().await?,
        }
        Ok(Committed::new(self.effects))
    }
}

/// Whether an error is a unique-constraint violation (a lost race on an insert).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Like [`on_backend!`], with `$sql` bound to the statement text of the
/// backend in use: `$pg` on PostgreSQL, `$sqlite` on SQLite. For statements
/// that differ only in a clause one dialect lacks (row locks).
macro_rules! on_backend_sql {
    ($target:expr, $conn:ident, $sql:ident = ($pg:expr, $sqlite:expr) => $body:expr) => {
        match $target {
            $crate::storage::Backend::Postgres($conn) => {
                let $sql = $pg;
                $body
            }
            $crate::storage::Backend::Sqlite($conn) => {
                let $sql = $sqlite;
                $body
            }
        }
    };
}
pub(crate) use on_backend_sql;

/// Runs a `SELECT` (built from the bracketed `concat!` parts) that locks its
/// rows on PostgreSQL with `$lock` (`FOR UPDATE` or `FOR UPDATE SKIP LOCKED`).
/// On SQLite the same `SELECT` runs bare: its single write connection already
/// serialises every writer, so the transaction itself is the lock.
macro_rules! select_locked {
    ($tx:expr, [$($sql:tt)+], $lock:literal, |$query:ident| $bind:expr, $fetch:ident) => {
        $crate::storage::on_backend_sql!($tx.conn(), c, sql = (concat!($($sql)+, " ", $lock), concat!($($sql)+)) => {
            let $query = sqlx::query_as(sql);
            $bind.$fetch(c).await
        })
    };
}
pub(crate) use select_locked;

/// Implements `FromRow` for both backends' rows with one body, in which
/// `$row` is the row and `sqlx::Row` is in scope.
macro_rules! from_row {
    ($ty:ty, |$row:ident| $body:expr) => {
        impl sqlx::FromRow<'_, sqlx::postgres::PgRow> for $ty {
            fn from_row($row: &sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
                #[allow(unused_imports)]
                use sqlx::Row;
                $body
            }
        }
        impl sqlx::FromRow<'_, sqlx::sqlite::SqliteRow> for $ty {
            fn from_row($row: &sqlx::sqlite::SqliteRow) -> Result<Self, sqlx::Error> {
                #[allow(unused_imports)]
                use sqlx::Row;
                $body
            }
        }
    };
}
pub(crate) use from_row;

/// Decodes a column stored as text into a domain value, naming the column when it does not parse.
pub(crate) fn parsed<T>(column: &str, text: String, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, sqlx::Error> {
    parse(&text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("unexpected value `{text}`").into(),
    })
}

/// Decodes a column stored as JSON text.
pub(crate) fn json<T: serde::de::DeserializeOwned>(column: &str, text: String) -> Result<T, sqlx::Error> {
    serde_json::from_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: e.into(),
    })
}

#[cfg(test)]
mod tests {
    use crate::domain::incident::IncidentStatus;
    use crate::domain::run::RunStatus;
    use crate::domain::unfreeze::FlowState;

    fn quoted(list: &str) -> Vec<&str> {
        list.split('\'').skip(1).step_by(2).collect()
    }

    #[test]
    fn the_sql_status_lists_match_the_domain() {
        let closed = quoted(live_incident!());
        for status in IncidentStatus::ALL {
            assert_eq!(closed.contains(&status.as_str()), status.is_closed(), "{status}");
        }
        let live = quoted(live_flow!());
        for state in FlowState::ALL {
            assert_eq!(live.contains(&state.as_str()), state.is_live(), "{state:?}");
        }
        let finished = quoted(unfinished_run!());
        for status in RunStatus::ALL {
            assert_eq!(finished.contains(&status.as_str()), status.is_finished(), "{status}");
        }
    }
}
