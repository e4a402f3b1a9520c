//! Sightings of attacker signals: the per-signal locks that serialise
//! recognition, recording and reading sightings, and forgetting signal
//! values once their retention period has passed.

use super::*;
use crate::domain::alert::MAX_FUTURE_OCCURRED_AT;

/// The first key of the advisory locks on signals (PostgreSQL's two-key
/// form, so they never meet a one-key lock such as the migrations').
const SIGNAL_LOCK_CLASS: i32 = 0x4846_0c01;

/// The second key of a signal's advisory lock: the first four bytes of the
/// SHA-256 of its kind and value, the same on every instance and version.
fn signal_lock_key(signal: &Signal) -> i32 {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(signal.kind.as_str().as_bytes());
    context.update(&[0]);
    context.update(signal.value.as_bytes());
    let digest = context.finish();
    let (key, _) = digest.as_ref().split_first_chunk::<4>().expect("SHA-256 has 32 bytes");
    i32::from_be_bytes(*key)
}

/// The most sightings of one signal read to decide whether it forms a
/// campaign: a window with more than this is a campaign long before.
const SIGHTINGS_LIMIT: i64 = 2000;

struct SightingRow(Signal, Sighting);

from_row!(SightingRow, |row| Ok(SightingRow(
    Signal {
        kind: parsed("kind", row.try_get("kind")?, SignalKind::parse)?,
        value: row.try_get("value")?,
    },
    Sighting {
        account_id: row.try_get("account_id")?,
        incident_id: row.try_get("incident_id")?,
        alert_id: parsed("alert_id", row.try_get("alert_id")?, |t| AlertId::parse(t).ok())?,
        seen_at: row.try_get("seen_at")?,
    }
)));

impl WriteTx {
    /// Serialises recognition per signal until the transaction ends. On
    /// PostgreSQL: a transaction-scoped advisory lock per signal, keyed by a
    /// hash of it and taken in key order, so two batches never deadlock on
    /// each other (two signals sharing a key only wait for each other).
    /// Nothing is written, so a signal no campaign needs costs no row. On
    /// SQLite the single writer already runs one batch at a time.
    pub async fn lock_signals(&mut self, signals: &[Signal]) -> Result<(), sqlx::Error> {
        let Backend::Postgres(c) = self.conn() else {
            return Ok(());
        };
        let mut keys: Vec<i32> = signals.iter().map(signal_lock_key).collect();
        keys.sort_unstable();
        keys.dedup();
        // A function scan yields the array in order, so the locks are taken in it.
        sqlx::query("SELECT pg_advisory_xact_lock($1, k) FROM UNNEST($2::int4[]) AS k")
            .bind(SIGNAL_LOCK_CLASS)
            .bind(keys)
            .execute(c)
            .await
            .map(drop)
    }

    /// Records sightings. Only alerts stored in this transaction have
    /// sightings recorded, so none is recorded twice (and the table has no
    /// key to check it: migration 0013).
    pub async fn record_sightings(
        &mut self,
        sightings: &[(Signal, Sighting)],
        recorded_at: Timestamp,
    ) -> Result<(), sqlx::Error> {
        match self.conn() {
            Backend::Postgres(c) => {
                let mut columns: [Vec<String>; 5] = Default::default();
                let mut seen = Vec::with_capacity(sightings.len());
                for (signal, s) in sightings {
                    columns[0].push(signal.kind.as_str().to_owned());
                    columns[1].push(signal.value.clone());
                    columns[2].push(s.account_id.to_string());
                    columns[3].push(s.incident_id.to_string());
                    columns[4].push(s.alert_id.to_string());
                    seen.push(s.seen_at);
                }
                let [kinds, values, accounts, incidents, alerts] = columns;
                sqlx::query(
                    "INSERT INTO campaign_signals (kind, value, account_id, incident_id, alert_id, seen_at, recorded_at)
                     SELECT *, $7 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])",
                )
                .bind(kinds)
                .bind(values)
                .bind(accounts)
                .bind(incidents)
                .bind(alerts)
                .bind(seen)
                .bind(recorded_at)
                .execute(c)
                .await?;
            }
            Backend::Sqlite(c) => {
                // Multi-row inserts, as for the audit entries: each statement
                // is a hand-off to the connection's thread.
                for chunk in sightings.chunks(SQLITE_ROWS_PER_INSERT) {
                    let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                        "INSERT INTO campaign_signals (kind, value, account_id, incident_id, alert_id, seen_at, recorded_at) ",
                    );
                    query.push_values(chunk, |mut row, (signal, s)| {
                        row.push_bind(signal.kind.as_str())
                            .push_bind(&signal.value)
                            .push_bind(&s.account_id)
                            .push_bind(&s.incident_id)
                            .push_bind(s.alert_id.as_str())
                            .push_bind(s.seen_at)
                            .push_bind(recorded_at);
                    });
                    query.build().execute(&mut *c).await?;
                }
            }
        }
        Ok(())
    }

    /// The sightings of each signal between its two times, newest first, at
    /// most [`SIGHTINGS_LIMIT`] each.
    pub async fn sightings_between(
        &mut self,
        ranges: &[(Signal, Timestamp, Timestamp)],
    ) -> Result<Vec<(Signal, Sighting)>, sqlx::Error> {
        let rows: Vec<SightingRow> = match self.conn() {
            Backend::Postgres(c) => {
                let kinds: Vec<&str> = ranges.iter().map(|(s, _, _)| s.kind.as_str()).collect();
                let values: Vec<&str> = ranges.iter().map(|(s, _, _)| s.value.as_str()).collect();
                let from: Vec<Timestamp> = ranges.iter().map(|(_, from, _)| *from).collect();
                let until: Vec<Timestamp> = ranges.iter().map(|(_, _, until)| *until).collect();
                // A sighting is recorded at its alert's arrival or later, at
                // most MAX_FUTURE_OCCURRED_AT before it was seen: `kept_from`
                // lets each range read only the months it can be in.
                let kept_from: Vec<Timestamp> = from.iter().map(|at| at.minus(MAX_FUTURE_OCCURRED_AT)).collect();
                sqlx::query_as(
                    "SELECT s.kind, s.value, s.account_id, s.incident_id, s.alert_id, s.seen_at
                     FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $6::timestamptz[])
                         AS q(kind, value, lo, hi, kept_from)
                     CROSS JOIN LATERAL (
                         SELECT * FROM campaign_signals s
                         WHERE s.kind = q.kind AND s.value = q.value AND s.seen_at BETWEEN q.lo AND q.hi
                           AND s.recorded_at >= q.kept_from
                         ORDER BY s.seen_at DESC LIMIT $5
                     ) s",
                )
                .bind(kinds)
                .bind(values)
                .bind(from)
                .bind(until)
                .bind(SIGHTINGS_LIMIT)
                .bind(kept_from)
                .fetch_all(c)
                .await?
            }
            Backend::Sqlite(c) => {
                let mut rows = Vec::new();
                for (signal, from, until) in ranges {
                    let found: Vec<SightingRow> = sqlx::query_as(
                        "SELECT kind, value, account_id, incident_id, alert_id, seen_at FROM campaign_signals
                         WHERE kind = $1 AND value = $2 AND seen_at BETWEEN $3 AND $4
                         ORDER BY seen_at DESC LIMIT $5",
                    )
                    .bind(signal.kind.as_str())
                    .bind(&signal.value)
                    .bind(*from)
                    .bind(*until)
                    .bind(SIGHTINGS_LIMIT)
                    .fetch_all(&mut *c)
                    .await?;
                    rows.extend(found);
                }
                rows
            }
        };
        Ok(rows.into_iter().map(|SightingRow(signal, s)| (signal, s)).collect())
    }
}

impl Database {
    /// Forgets signal values recorded before `before`: their sightings and
    /// heads go, and campaigns no incident joined since keep only the masked
    /// value.
    /// Returns how many rows changed.
    pub async fn forget_campaign_signals(
        &self,
        before: Timestamp,
        released_before: Timestamp,
    ) -> Result<u64, sqlx::Error> {
        let mut tx = self.begin().await?;
        let mut changed = 0;
        // A legally held incident's sightings stay (SPEC §15), as do they
        // for `RELEASE_GRACE` after its release (`released_before`).
        for sql in [
            "DELETE FROM campaign_signals WHERE recorded_at < $1 AND incident_id NOT IN
                 (SELECT incident_id FROM legal_holds WHERE released_at IS NULL OR released_at > $2)",
            "DELETE FROM campaign_heads WHERE touched_at < $1 AND $2 = $2",
            "UPDATE campaigns SET value = NULL WHERE value IS NOT NULL AND updated_at < $1 AND $2 = $2",
        ] {
            changed += on_backend!(tx.conn(), c => sqlx::query(sql)
                .bind(before)
                .bind(released_before)
                .execute(c)
                .await
                .map(|done| done.rows_affected()))?;
        }
        tx.commit().await?.no_follow_up();
        Ok(changed)
    }
}
