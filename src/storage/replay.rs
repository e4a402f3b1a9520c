//! What `holdfast rules replay` reads: every stored alert of a window with
//! its incident's outcome, streamed (a million alerts are never held as
//! rows at once), in one read-only transaction on PostgreSQL and over the
//! read-only pool on SQLite. Drills are left out.

use futures_util::TryStreamExt;

use super::{Backend, Database, not_drill};
use crate::domain::time::Timestamp;

/// One stored alert and what became of its incident.
#[derive(Clone, Debug)]
pub struct ReplayRow {
    pub incident_id: String,
    /// The alert as stored (JSON), or what retention left of it.
    pub body: String,
    pub status: String,
    pub resolution: Option<String>,
}

super::from_row!(ReplayRow, |row| Ok(ReplayRow {
    incident_id: row.try_get("incident_id")?,
    body: row.try_get("body")?,
    status: row.try_get("status")?,
    resolution: row.try_get("resolution")?,
}));

macro_rules! replay_select {
    () => {
        concat!(
            "SELECT a.incident_id, a.body, i.status, i.resolution
             FROM alerts a JOIN incidents i ON i.id = a.incident_id
             WHERE a.occurred_at >= $1 AND a.occurred_at < $2 AND a.",
            not_drill!(),
            " ORDER BY a.incident_id, a.occurred_at, a.alert_id"
        )
    };
}

impl Database {
    /// Passes every alert that occurred in `[since, until)` to `each`, an
    /// incident's alerts one after another in the order they occurred.
    pub async fn for_each_replay_row(
        &self,
        since: Timestamp,
        until: Timestamp,
        mut each: impl FnMut(ReplayRow),
    ) -> Result<(), sqlx::Error> {
        match self.reader() {
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // Nothing the replay runs may write, whatever it is pointed at.
                sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await?;
                {
                    let mut rows = sqlx::query_as::<_, ReplayRow>(replay_select!())
                        .bind(since)
                        .bind(until)
                        .fetch(&mut *tx);
                    while let Some(row) = rows.try_next().await? {
                        each(row);
                    }
                }
                tx.rollback().await
            }
            Backend::Sqlite(pool) => {
                let mut rows = sqlx::query_as::<_, ReplayRow>(replay_select!())
                    .bind(since)
                    .bind(until)
                    .fetch(pool);
                while let Some(row) = rows.try_next().await? {
                    each(row);
                }
                Ok(())
            }
        }
    }

    /// How many alerts [`Self::for_each_replay_row`] will pass on: the
    /// progress bar's total.
    pub async fn count_replay_alerts(&self, since: Timestamp, until: Timestamp) -> Result<i64, sqlx::Error> {
        super::on_backend!(self.reader(), pool => sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM alerts a WHERE a.occurred_at >= $1 AND a.occurred_at < $2 AND a.",
            not_drill!()
        ))
        .bind(since)
        .bind(until)
        .fetch_one(pool)
        .await)
    }

    /// When the oldest alert still stored occurred, if any is.
    pub async fn oldest_alert(&self) -> Result<Option<Timestamp>, sqlx::Error> {
        super::on_backend!(self.reader(), pool => sqlx::query_scalar("SELECT MIN(occurred_at) FROM alerts")
            .fetch_one(pool)
            .await)
    }
}
