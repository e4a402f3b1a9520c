//! The figures of the leads' overview, each one statement over an index
//! (migrations 0005, 0010 and 0017). See `crate::overview` for what they cost.

use super::{Backend, Database, live_incident, not_drill, on_backend};
use crate::domain::incident::Milestone;
use crate::domain::time::Timestamp;

/// The statements of [`Database::response_time_percentiles`] for a milestone
/// reached at column `$at` after `$micros`: PostgreSQL's one statement (both
/// windows, `$1` and `$2`, read from `$3`, the earlier of the two; each
/// window's durations sorted once into an array, its ranks read from it),
/// then SQLite's count and rank.
macro_rules! response_times {
    ($at:literal, $micros:literal) => {
        (
            concat!(
                "SELECT n1, a1[GREATEST((n1 * 50 + 99) / 100, 1)], a1[GREATEST((n1 * 90 + 99) / 100, 1)],
                        n2, a2[GREATEST((n2 * 50 + 99) / 100, 1)], a2[GREATEST((n2 * 90 + 99) / 100, 1)]
                 FROM (SELECT COUNT(*) FILTER (WHERE ",
                $at,
                " >= $1) AS n1,
                              array_agg(",
                $micros,
                " ORDER BY ",
                $micros,
                ") FILTER (WHERE ",
                $at,
                " >= $1) AS a1,
                              COUNT(*) FILTER (WHERE ",
                $at,
                " >= $2) AS n2,
                              array_agg(",
                $micros,
                " ORDER BY ",
                $micros,
                ") FILTER (WHERE ",
                $at,
                " >= $2) AS a2
                       FROM incidents WHERE ",
                $at,
                " >= $3 AND ",
                $micros,
                " IS NOT NULL) AS windows"
            ),
            concat!(
                "SELECT COUNT(*) FROM incidents WHERE ",
                $at,
                " >= $1 AND ",
                $micros,
                " IS NOT NULL"
            ),
            concat!(
                "SELECT ",
                $micros,
                " FROM incidents WHERE ",
                $at,
                " >= $1 AND ",
                $micros,
                " IS NOT NULL
                 ORDER BY ",
                $micros,
                " LIMIT 1 OFFSET $2"
            ),
        )
    };
}

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

    /// Response times to `milestone` over each window in `since` (the
    /// incidents that reached it at or after that instant): how many, and
    /// their nearest-rank median and 90th percentile in microseconds (`None`
    /// when there were none).
    ///
    /// On PostgreSQL one statement reads the index on (reached at, duration)
    /// for the widest window only, once, planned with its parameters, and
    /// takes every window's count and ranks from it (`array_agg` in order,
    /// indexed at rank `ceil(count * percent / 100)`, as `crate::overview`
    /// defines it): three index reads per milestone were six before, each
    /// sorting its window again. SQLite counts each window and reads each
    /// rank with `ORDER BY duration LIMIT 1 OFFSET k`.
    pub async fn response_time_percentiles(
        &self,
        milestone: Milestone,
        since: [Timestamp; 2],
    ) -> Result<[WindowTimes; 2], sqlx::Error> {
        let (pg_sql, count_sql, nth_sql) = match milestone {
            Milestone::Acknowledge => response_times!("acknowledged_at", "acknowledge_micros"),
            Milestone::Contain => response_times!("contained_at", "contain_micros"),
            Milestone::Resolve => response_times!("closed_at", "resolve_micros"),
        };
        match self.reader() {
            Backend::Postgres(pool) => {
                let row: (i64, Option<i64>, Option<i64>, i64, Option<i64>, Option<i64>) = sqlx::query_as(pg_sql)
                    .persistent(false)
                    .bind(since[0])
                    .bind(since[1])
                    .bind(since[0].min(since[1]))
                    .fetch_one(pool)
                    .await?;
                Ok([
                    WindowTimes {
                        count: row.0,
                        median_micros: row.1,
                        p90_micros: row.2,
                    },
                    WindowTimes {
                        count: row.3,
                        median_micros: row.4,
                        p90_micros: row.5,
                    },
                ])
            }
            Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                let mut windows = [WindowTimes::default(); 2];
                for (window, since) in windows.iter_mut().zip(since) {
                    window.count = sqlx::query_scalar(count_sql).bind(since).fetch_one(&mut *conn).await?;
                    if window.count == 0 {
                        continue;
                    }
                    for (percent, value) in [(50, &mut window.median_micros), (90, &mut window.p90_micros)] {
                        let rank = nearest_rank(window.count, percent);
                        *value = sqlx::query_scalar(nth_sql)
                            .bind(since)
                            .bind(rank)
                            .fetch_optional(&mut *conn)
                            .await?;
                    }
                }
                Ok(windows)
            }
        }
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

/// The 0-based rank of the nearest-rank `percent`th percentile of `count`
/// values: the `ceil(count × percent / 100)`th smallest. PostgreSQL's
/// statement (`response_times!`) indexes its sorted array at this rank + 1.
fn nearest_rank(count: i64, percent: i64) -> i64 {
    ((count * percent + 99) / 100).max(1) - 1
}

/// Response times in one window (see [`Database::response_time_percentiles`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowTimes {
    pub count: i64,
    pub median_micros: Option<i64>,
    pub p90_micros: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::nearest_rank;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(1, 50), 0);
        assert_eq!(nearest_rank(1, 90), 0);
        assert_eq!(nearest_rank(4, 50), 1);
        assert_eq!(nearest_rank(10, 90), 8);
        assert_eq!(nearest_rank(11, 90), 9);
        assert_eq!(nearest_rank(5, 50), 2);
    }
}
