//! The figures of the leads' overview, each one statement over an index
//! (migrations 0005, 0010 and 0017). See `crate::overview` for what they cost.

use super::{Database, live_incident, not_drill, on_backend};
use crate::domain::incident::Milestone;
use crate::domain::time::Timestamp;

impl Database {
    /// Live incidents counted by priority and status, from the partial index
    /// `incidents_live_by_status`; drills' left out (their account ids are
    /// read for the live rows only). Drills' response times are never
    /// stored (`Incident::counted_time_to_acknowledge`), so the ranks below
    /// leave them out by themselves.
    pub async fn live_incidents_by_priority_and_status(&self) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(concat!(
            "SELECT priority, status, COUNT(*) FROM incidents WHERE ", live_incident!(), " AND ", not_drill!(),
            " GROUP BY priority, status"
        ))
        .fetch_all(pool)
        .await)
    }

    /// Acknowledge and contain deadlines found missed in `[from, to)`.
    pub async fn breaches_between(&self, from: Timestamp, to: Timestamp) -> Result<(i64, i64), sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(concat!(
            "SELECT (SELECT COUNT(*) FROM incidents WHERE acknowledge_breached_at >= $1 AND acknowledge_breached_at < $2
                     AND ", not_drill!(), "),
                    (SELECT COUNT(*) FROM incidents WHERE contain_breached_at >= $1 AND contain_breached_at < $2
                     AND ", not_drill!(), ")",
        ))
        .bind(from)
        .bind(to)
        .fetch_one(pool)
        .await)
    }

    /// How many incidents reached `milestone` (acknowledge or contain) since
    /// `since`, and the durations (microseconds) of rank `ranks` (0-based)
    /// among them, shortest first: the index on (reached at, duration) is
    /// read for the window only, and only that window is sorted.
    pub async fn response_time_ranks(
        &self,
        milestone: Milestone,
        since: Timestamp,
        ranks: impl Fn(i64) -> Vec<i64>,
    ) -> Result<(i64, Vec<i64>), sqlx::Error> {
        let (count_sql, nth_sql) = match milestone {
            Milestone::Acknowledge => (
                "SELECT COUNT(*) FROM incidents WHERE acknowledged_at >= $1 AND acknowledge_micros IS NOT NULL",
                "SELECT acknowledge_micros FROM incidents WHERE acknowledged_at >= $1 AND acknowledge_micros IS NOT NULL
                 ORDER BY acknowledge_micros LIMIT 1 OFFSET $2",
            ),
            Milestone::Resolve => (
                "SELECT COUNT(*) FROM incidents WHERE closed_at >= $1 AND resolve_micros IS NOT NULL",
                "SELECT resolve_micros FROM incidents WHERE closed_at >= $1 AND resolve_micros IS NOT NULL
                 ORDER BY resolve_micros LIMIT 1 OFFSET $2",
            ),
            Milestone::Contain => (
                "SELECT COUNT(*) FROM incidents WHERE contained_at >= $1 AND contain_micros IS NOT NULL",
                "SELECT contain_micros FROM incidents WHERE contained_at >= $1 AND contain_micros IS NOT NULL
                 ORDER BY contain_micros LIMIT 1 OFFSET $2",
            ),
        };
        let mut conn = self.reader_connection().await?;
        let count: i64 =
            on_backend!(conn.as_conn(), c => sqlx::query_scalar(count_sql).bind(since).fetch_one(c).await)?;
        let mut values = Vec::new();
        for rank in ranks(count) {
            let value: i64 = on_backend!(conn.as_conn(), c => sqlx::query_scalar(nth_sql)
                .bind(since)
                .bind(rank)
                .fetch_one(c)
                .await)?;
            values.push(value);
        }
        Ok((count, values))
    }

    /// How many holders' flows wait for an agent's review.
    pub async fn flows_in_review_count(&self) -> Result<i64, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM unfreeze_flows WHERE state = 'in_review'",
        )
        .fetch_one(pool)
        .await)
    }
}
