//! Creating each month's partitions ahead of time, and reading which exist.

use sqlx::AssertSqlSafe;

use super::super::{Database, Pools};
use super::{History, Month, locked_partition};
use crate::domain::time::Timestamp;

impl Database {
    /// The monthly partitions of `history` (PostgreSQL; none on SQLite).
    pub async fn partitions(&self, history: History) -> Result<Vec<Month>, sqlx::Error> {
        let Pools::Postgres(pool) = &self.pools else {
            return Ok(Vec::new());
        };
        partitions_in(&mut *pool.acquire().await?, history).await
    }

    /// Creates the partitions of `now`'s month and the `ahead` months
    /// after it, and of every month with rows waiting in a default
    /// partition (which move into it). Returns the partitions created;
    /// `None` when another instance is doing this work.
    pub async fn create_partitions(&self, now: Timestamp, ahead: u32) -> Result<Option<Vec<String>>, sqlx::Error> {
        let Pools::Postgres(pool) = &self.pools else {
            return Ok(Some(Vec::new()));
        };
        let mut created = Vec::new();
        for history in History::ALL {
            let mut wanted = vec![Month::of(now)];
            for _ in 0..ahead {
                let last = *wanted.last().expect("starts with one month");
                wanted.push(last.next());
            }
            let waiting: Vec<Timestamp> = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT DISTINCT date_trunc('month', {key}, 'UTC') FROM {table}_default",
                key = history.key(),
                table = history.table()
            )))
            .fetch_all(pool)
            .await?;
            wanted.extend(waiting.into_iter().map(Month::of));
            wanted.sort();
            wanted.dedup();
            let existing = self.partitions(history).await?;
            for month in wanted.into_iter().filter(|m| !existing.contains(m)) {
                let Some((mut tx, name, present)) = locked_partition(pool, history, month).await? else {
                    return Ok(None);
                };
                if present {
                    continue;
                }
                let (table, key) = (history.table(), history.key());
                let (from, to) = (month.literal(), month.next().literal());
                // Created detached, filled from the default partition, then
                // attached: attaching checks the default holds no row of
                // the month any more, and indexes follow the parent's. The
                // table is locked first: a write routed to the default
                // partition meanwhile would fail the attach (or itself,
                // routed by the partitions it saw before). The audit log's
                // guard lets entries leave its default partition only in a
                // transaction that says it is moving them.
                for sql in [
                    format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"),
                    format!("SELECT set_config('holdfast.moving', '{table}_default', true)"),
                    format!("CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"),
                    format!(
                        "WITH moved AS (DELETE FROM {table}_default WHERE {key} >= {from} AND {key} < {to} RETURNING *)
                         INSERT INTO {name} SELECT * FROM moved"
                    ),
                    format!("ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({from}) TO ({to})"),
                ] {
                    sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                created.push(name);
            }
        }
        Ok(Some(created))
    }
}

/// The monthly partitions of `history`, oldest first, as `c` sees them.
pub(in crate::storage) async fn partitions_in(
    c: &mut sqlx::PgConnection,
    history: History,
) -> Result<Vec<Month>, sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
         WHERE p.relname = $1 AND p.relnamespace = c.relnamespace
           AND p.relnamespace = to_regnamespace(current_schema())::oid",
    )
    .bind(history.table())
    .fetch_all(c)
    .await?;
    let mut months: Vec<Month> = names.iter().filter_map(|n| Month::of_partition(history, n)).collect();
    months.sort();
    Ok(months)
}
