//! Retention (SPEC §15): the tables that grow with traffic, by month, and
//! incidents past their own limit.
//!
//! On PostgreSQL `alerts`, `campaign_signals`, `sign_in_failures`,
//! `case_messages`, `outbox_delivered` and `audit_log` are range-partitioned by month
//! (`<table>_pYYYYMM`, bounds at UTC month starts, and a `<table>_default`
//! for a month not created yet). The audit log's months are only ever
//! dropped by its archive (`storage::audit::checkpoints`). Another month is
//! expired by dropping its partition once its end is past its table's class
//! limit; first, in the same transaction, what must outlive the raw values
//! is written (alert summaries) and the rows of protected incidents (live,
//! under legal hold, or released from one less than [`RELEASE_GRACE`] ago)
//! are carried forward into the current month.
//! On SQLite the same limits are applied by deleting rows in batches.
//! Incidents themselves go whole, on both backends (`incidents`).
//!
//! Partition names and bounds are built from this file's constants and
//! whole months, never from input, so the DDL is formatted, not bound.
//!
//! Only one instance applies retention at a time: every transaction here
//! first takes a transaction-scoped advisory lock and gives up without it.

use std::time::Duration;

use sqlx::AssertSqlSafe;

use super::{Database, Pools};
use crate::domain::time::Timestamp;
use crate::platform::config::Retention;

mod creation;
mod months;

pub(super) use creation::partitions_in;
pub use months::{History, Month};

/// How long an incident's data stays after its legal hold is released.
pub const RELEASE_GRACE: Duration = Duration::from_secs(30 * 86_400);

/// The advisory lock of retention work (PostgreSQL's two-key form, so it
/// never meets a one-key lock such as the migrations').
const RETENTION_LOCK: (i32, i32) = (0x4846_0c02, 1);

/// Rows per delete on SQLite, so the one writer is never held for long.
const DELETE_BATCH: i64 = 1000;

/// The incidents under legal hold, or released from one after `$2`.
macro_rules! held_incidents {
    () => {
        "SELECT incident_id FROM legal_holds WHERE released_at IS NULL OR released_at > $2"
    };
}

/// The incidents nothing of which expires: live ones and the held ones.
macro_rules! protected_incidents {
    () => {
        concat!(
            "SELECT id FROM incidents WHERE ",
            $crate::storage::live_incident!(),
            " UNION ",
            held_incidents!()
        )
    };
}

// After the macros above, which it uses.
mod incidents;
mod masking;

use masking::summaries_of;

/// What one retention pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expiry {
    /// The partitions dropped, by table.
    pub partitions_dropped: Vec<(History, String)>,
    /// Rows expired by data class (`alerts`, `sightings`,
    /// `sign_in_failures`, `messages`, `deliveries`; `incidents` counts the incidents
    /// removed, not their rows); carried-forward rows not counted.
    pub rows_expired: Vec<(&'static str, u64)>,
    /// Rows of protected incidents carried into the current month.
    pub rows_carried_forward: u64,
}

impl Expiry {
    fn count(&mut self, class: &'static str, rows: u64) {
        match self.rows_expired.iter_mut().find(|(c, _)| *c == class) {
            Some((_, n)) => *n += rows,
            None => self.rows_expired.push((class, rows)),
        }
    }
}

impl Database {
    /// Applies `limits` at `now`: drops (PostgreSQL) or deletes (SQLite)
    /// what is past its class's limit, except what protected incidents
    /// hold, then removes the incidents past theirs. `None` when another
    /// instance is doing this work.
    pub async fn expire_history(&self, now: Timestamp, limits: &Retention) -> Result<Option<Expiry>, sqlx::Error> {
        let released_before = now.minus(RELEASE_GRACE);
        let mut expiry = Expiry::default();
        match &self.pools {
            Pools::Postgres(_) => {
                for history in History::EXPIRING {
                    for month in self.partitions(history).await? {
                        if month.next().start().plus(history.limit(limits)) > now {
                            continue;
                        }
                        match self.drop_partition(history, month, now, released_before).await? {
                            None => return Ok(None),
                            Some((expired, carried)) => {
                                expiry.partitions_dropped.push((history, month.partition(history)));
                                expiry.count(history.class(), expired);
                                expiry.rows_carried_forward += carried;
                            }
                        }
                    }
                }
            }
            Pools::Sqlite { .. } => {
                self.write_missing_summaries(now.minus(limits.alerts)).await?;
                for history in History::EXPIRING {
                    let sql = match history {
                        History::Alerts => concat!(
                            "DELETE FROM alerts WHERE rowid IN (SELECT rowid FROM alerts WHERE retained_from < $1
                             AND incident_id NOT IN (",
                            protected_incidents!(),
                            ") LIMIT $3)"
                        ),
                        History::Sightings => concat!(
                            "DELETE FROM campaign_signals WHERE rowid IN (SELECT rowid FROM campaign_signals
                             WHERE recorded_at < $1 AND incident_id NOT IN (",
                            protected_incidents!(),
                            ") LIMIT $3)"
                        ),
                        History::SignInFailures => {
                            "DELETE FROM sign_in_failures WHERE rowid IN (SELECT rowid FROM sign_in_failures
                             WHERE at < $1 AND $2 = $2 LIMIT $3)"
                        }
                        History::Messages => concat!(
                            "DELETE FROM case_messages WHERE rowid IN (SELECT rowid FROM case_messages
                             WHERE retained_from < $1 AND incident_id NOT IN (",
                            protected_incidents!(),
                            ") LIMIT $3)"
                        ),
                        History::Deliveries => concat!(
                            "DELETE FROM outbox_delivered WHERE rowid IN (SELECT rowid FROM outbox_delivered
                             WHERE retained_from < $1 AND (incident_id IS NULL OR incident_id NOT IN (",
                            protected_incidents!(),
                            ")) LIMIT $3)"
                        ),
                        // Not expiring: only `holdfast audit archive` removes entries.
                        History::AuditLog => continue,
                    };
                    let rows = self
                        .delete_in_batches(sql, now.minus(history.limit(limits)), released_before)
                        .await?;
                    expiry.count(history.class(), rows);
                }
            }
        }
        self.mask_campaigns(now.minus(limits.alerts), released_before).await?;
        let incidents = self
            .expire_incidents(now.minus(limits.incidents), released_before, now)
            .await?;
        expiry.count("incidents", incidents);
        Ok(Some(expiry))
    }

    /// Drops one month of `history` after carrying the rows of protected
    /// incidents forward to `now`, in one transaction. Returns the rows
    /// expired and carried; `None` without the lock.
    async fn drop_partition(
        &self,
        history: History,
        month: Month,
        now: Timestamp,
        released_before: Timestamp,
    ) -> Result<Option<(u64, u64)>, sqlx::Error> {
        let Pools::Postgres(pool) = &self.pools else {
            return Ok(Some((0, 0)));
        };
        let Some((mut tx, name, present)) = locked_partition(pool, history, month).await? else {
            return Ok(None);
        };
        if !present {
            return Ok(Some((0, 0)));
        }
        // Dropping a partition locks its table whole; taken first, so no
        // lock of this transaction is ever upgraded behind a writer's.
        sqlx::query(AssertSqlSafe(format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            history.table()
        )))
        .execute(&mut *tx)
        .await?;
        let rows: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {name}")))
            .fetch_one(&mut *tx)
            .await?;
        let carry = match history {
            History::Alerts => {
                // Summaries first: the records of alerts stored before
                // summaries were kept get theirs from the body now.
                let missing: Vec<(String, String)> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT a.alert_id, a.body FROM {name} a JOIN alert_records r USING (alert_id) WHERE r.summary IS NULL"
                )))
                .fetch_all(&mut *tx)
                .await?;
                let (ids, summaries) = summaries_of(missing)?;
                sqlx::query(
                    "UPDATE alert_records r SET summary = s.summary
                     FROM UNNEST($1::text[], $2::text[]) AS s(alert_id, summary) WHERE r.alert_id = s.alert_id",
                )
                .bind(&ids)
                .bind(&summaries)
                .execute(&mut *tx)
                .await?;
                format!(
                    "INSERT INTO alerts (alert_id, account_id, kind, occurred_at, received_at, incident_id, body, retained_from)
                     SELECT alert_id, account_id, kind, occurred_at, received_at, incident_id, body, $1 FROM {name}
                     WHERE incident_id IN ({})",
                    protected_incidents!()
                )
            }
            History::Sightings => format!(
                "INSERT INTO campaign_signals (kind, value, account_id, incident_id, alert_id, seen_at, recorded_at)
                 SELECT kind, value, account_id, incident_id, alert_id, seen_at, $1 FROM {name}
                 WHERE incident_id IN ({})",
                protected_incidents!()
            ),
            History::Deliveries => format!(
                "INSERT INTO outbox_delivered (id, idempotency_key, destination, body, created_at, attempts, delivered_at,
                                               response, run_id, traceparent, incident_id, retained_from)
                 SELECT id, idempotency_key, destination, body, created_at, attempts, delivered_at,
                        response, run_id, traceparent, incident_id, $1 FROM {name}
                 WHERE incident_id IN ({})",
                protected_incidents!()
            ),
            // Nothing of an incident in them; the audit log is never dropped here.
            History::SignInFailures | History::AuditLog => String::new(),
            History::Messages => format!(
                "INSERT INTO case_messages (id, incident_id, author, agent, body, key_id, created_at, retained_from)
                 SELECT id, incident_id, author, agent, body, key_id, created_at, $1 FROM {name}
                 WHERE incident_id IN ({})",
                protected_incidents!()
            ),
        };
        let carried = if carry.is_empty() {
            0
        } else {
            sqlx::query(AssertSqlSafe(carry))
                .bind(now)
                .bind(released_before)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        };
        sqlx::query(AssertSqlSafe(format!("DROP TABLE {name}")))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let expired = u64::try_from(rows).unwrap_or_default().saturating_sub(carried);
        Ok(Some((expired, carried)))
    }

    /// Runs `sql` (a delete of at most `$3` rows older than `$1`, sparing
    /// incidents released after `$2`) until it deletes nothing; each batch
    /// its own transaction. Returns the rows deleted.
    async fn delete_in_batches(
        &self,
        sql: &'static str,
        before: Timestamp,
        released_before: Timestamp,
    ) -> Result<u64, sqlx::Error> {
        let mut deleted = 0;
        loop {
            let mut tx = self.begin().await?;
            if let super::Backend::Postgres(c) = tx.conn()
                && !locked(c).await?
            {
                return Ok(deleted);
            }
            let rows = super::on_backend!(tx.conn(), c => sqlx::query(sql)
                .bind(before)
                .bind(released_before)
                .bind(DELETE_BATCH)
                .execute(c)
                .await
                .map(|done| done.rows_affected()))?;
            tx.commit().await?.no_follow_up();
            deleted += rows;
            if rows < u64::try_from(DELETE_BATCH).unwrap_or(u64::MAX) {
                return Ok(deleted);
            }
        }
    }
}

/// A transaction holding the retention lock, the name of `month`'s
/// partition of `history` and whether it exists; `None` while another
/// instance holds the lock.
async fn locked_partition(
    pool: &sqlx::PgPool,
    history: History,
    month: Month,
) -> Result<Option<(sqlx::Transaction<'static, sqlx::Postgres>, String, bool)>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if !locked(&mut tx).await? {
        return Ok(None);
    }
    let name = month.partition(history);
    let present: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(&name)
        .fetch_one(&mut *tx)
        .await?;
    Ok(Some((tx, name, present.is_some())))
}

/// Takes the retention lock for the transaction; `false` when another
/// instance holds it.
async fn locked(c: &mut sqlx::PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, $2)")
        .bind(RETENTION_LOCK.0)
        .bind(RETENTION_LOCK.1)
        .fetch_one(c)
        .await
}
