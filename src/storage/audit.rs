//! The hash-chained audit log, which also serves as every incident's timeline.

use super::{Backend, Database, Pools, SQLITE_ROWS_PER_INSERT, WriteTx, on_backend};
use crate::crypto::AuditKeys;
use crate::domain::audit::{AuditRecord, StoredEntry, chain, pending_mac};
use crate::domain::ids::IncidentId;
use crate::domain::time::Timestamp;

/// An audit entry as stored.
#[derive(Clone, Debug)]
pub struct AuditRow {
    pub seq: i64,
    pub record: AuditRecord,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub key_id: Option<String>,
}

impl From<AuditRow> for StoredEntry {
    fn from(row: AuditRow) -> Self {
        StoredEntry {
            seq: row.seq,
            record: row.record,
            prev_hash: row.prev_hash,
            hash: row.hash,
            key_id: row.key_id,
        }
    }
}

super::from_row!(AuditRecord, |row| Ok(AuditRecord {
    at: row.try_get("at")?,
    actor: row.try_get("actor")?,
    action: row.try_get("action")?,
    incident_id: row.try_get("incident_id")?,
    account_id: row.try_get("account_id")?,
    detail: row.try_get("detail")?,
}));

super::from_row!(AuditRow, |row| Ok(AuditRow {
    seq: row.try_get("seq")?,
    record: sqlx::FromRow::from_row(row)?,
    prev_hash: row.try_get("prev_hash")?,
    hash: row.try_get("hash")?,
    key_id: row.try_get("key_id")?,
}));

/// Writes `records` inside `tx`. Called by [`WriteTx::commit`] as its last
/// statement.
///
/// On PostgreSQL the entries wait in `audit_pending`, each under its own MAC,
/// for [`Database::seal_pending_audit`] to chain them: a change never waits
/// for another change's commit to record what it did, and every sealing
/// transaction chains thousands of entries under the head at once. On SQLite,
/// whose single writer already serialises every change, they are chained at
/// once, in this transaction.
pub(super) async fn append(tx: &mut WriteTx, records: Vec<AuditRecord>) -> Result<(), sqlx::Error> {
    if records.is_empty() {
        return Ok(());
    }
    let keys = tx
        .audit_keys
        .clone()
        .ok_or_else(|| sqlx::Error::Protocol("the audit chain's key is not configured".into()))?;
    match tx.conn() {
        Backend::Postgres(c) => queue(c, &keys, records).await,
        Backend::Sqlite(c) => chain_on_sqlite(c, &keys, records).await,
    }
}

/// Leaves `records` waiting to be chained, each with its MAC.
async fn queue(c: &mut sqlx::PgConnection, keys: &AuditKeys, records: Vec<AuditRecord>) -> Result<(), sqlx::Error> {
    let (key_id, key) = keys.current();
    let macs: Vec<Vec<u8>> = records.iter().map(|record| pending_mac(key, record).to_vec()).collect();
    let columns = RecordColumns::from(records);
    // In the order given: entries of one change keep their order on the timeline.
    columns
        .bind(sqlx::query(
            "INSERT INTO audit_pending (at, actor, action, incident_id, account_id, detail, mac, key_id)
         SELECT at, actor, action, incident_id, account_id, detail, mac, $8
         FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[])
              WITH ORDINALITY AS entry (at, actor, action, incident_id, account_id, detail, mac, n)
         ORDER BY n",
        ))
        .bind(macs)
        .bind(key_id)
        .execute(c)
        .await?;
    Ok(())
}

/// Chains `records` after the head and moves the head, in the caller's
/// transaction (which holds SQLite's write lock, so nothing appends between).
async fn chain_on_sqlite(
    c: &mut sqlx::SqliteConnection,
    keys: &AuditKeys,
    records: Vec<AuditRecord>,
) -> Result<(), sqlx::Error> {
    let (head_seq, head_hash) = sqlx::query_as::<_, (i64, Vec<u8>)>("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *c)
        .await?;
    let (key_id, key) = keys.current();
    let (links, seq, hash) = chain(key, head_seq, head_hash_of(head_hash)?, &records);
    // Multi-row inserts: each statement is a hand-off to the connection's
    // thread. 10 values a row stays far below SQLite's limit on bound values.
    let mut rows = links.iter().zip(records).peekable();
    while rows.peek().is_some() {
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO audit_log (seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id) ",
        );
        query.push_values(
            rows.by_ref().take(SQLITE_ROWS_PER_INSERT),
            |mut row, ((seq, prev, hash), record)| {
                row.push_bind(*seq)
                    .push_bind(record.at)
                    .push_bind(record.actor)
                    .push_bind(record.action)
                    .push_bind(record.incident_id)
                    .push_bind(record.account_id)
                    .push_bind(record.detail)
                    .push_bind(prev.to_vec())
                    .push_bind(hash.to_vec())
                    .push_bind(key_id);
            },
        );
        query.build().execute(&mut *c).await?;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(hash.as_slice())
        .execute(&mut *c)
        .await?;
    Ok(())
}

fn head_hash_of(bytes: Vec<u8>) -> Result<[u8; 32], sqlx::Error> {
    bytes
        .try_into()
        .map_err(|_| sqlx::Error::Protocol("the audit head hash is not 32 bytes".into()))
}

/// An entry waiting in `audit_pending`.
struct PendingRow {
    id: i64,
    record: AuditRecord,
    key_id: String,
    mac: Vec<u8>,
}

super::from_row!(PendingRow, |row| Ok(PendingRow {
    id: row.try_get("id")?,
    record: sqlx::FromRow::from_row(row)?,
    key_id: row.try_get("key_id")?,
    mac: row.try_get("mac")?,
}));

impl PendingRow {
    /// The record to chain: this entry's, or, if its MAC does not match
    /// (forged or changed while it waited), one that says so in its place.
    fn into_sealable(self, keys: &AuditKeys) -> AuditRecord {
        let genuine = keys
            .find(&self.key_id)
            .is_some_and(|key| pending_mac(key, &self.record).as_slice() == self.mac.as_slice());
        if genuine {
            return self.record;
        }
        tracing::error!(
            waiting_id = self.id,
            action = %self.record.action,
            "an audit entry waiting to be chained does not match its MAC; chaining a refusal in its place"
        );
        AuditRecord::new(self.record.at, "system", "audit.entry_refused").detail(serde_json::json!({
            "waiting_id": self.id,
            "claimed_action": self.record.action,
            "claimed_actor": self.record.actor,
            "reason": "its MAC does not match: it was forged or changed while it waited to be chained",
        }))
    }
}

/// Column arrays of audit records for PostgreSQL's `UNNEST` batch inserts.
struct RecordColumns {
    at: Vec<Timestamp>,
    actor: Vec<String>,
    action: Vec<String>,
    incident_id: Vec<Option<String>>,
    account_id: Vec<Option<String>>,
    detail: Vec<String>,
}

impl RecordColumns {
    /// Binds the columns, in this order, as the query's first six parameters:
    /// `at`, `actor`, `action`, `incident_id`, `account_id`, `detail`.
    fn bind(self, query: PgQuery<'_>) -> PgQuery<'_> {
        query
            .bind(self.at)
            .bind(self.actor)
            .bind(self.action)
            .bind(self.incident_id)
            .bind(self.account_id)
            .bind(self.detail)
    }
}

/// A PostgreSQL statement with its arguments.
type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

impl From<Vec<AuditRecord>> for RecordColumns {
    fn from(records: Vec<AuditRecord>) -> Self {
        let mut columns = RecordColumns {
            at: Vec::with_capacity(records.len()),
            actor: Vec::with_capacity(records.len()),
            action: Vec::with_capacity(records.len()),
            incident_id: Vec::with_capacity(records.len()),
            account_id: Vec::with_capacity(records.len()),
            detail: Vec::with_capacity(records.len()),
        };
        for record in records {
            columns.at.push(record.at);
            columns.actor.push(record.actor);
            columns.action.push(record.action);
            columns.incident_id.push(record.incident_id);
            columns.account_id.push(record.account_id);
            columns.detail.push(record.detail);
        }
        columns
    }
}

impl Database {
    /// An incident's timeline: its audit entries, oldest first (those
    /// chained, then those still waiting to be).
    pub async fn timeline(&self, incident_id: &IncidentId) -> Result<Vec<AuditRecord>, sqlx::Error> {
        match self.reader() {
            Backend::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT at, actor, action, incident_id, account_id, detail FROM (
                         SELECT 0 AS part, seq AS n, at, actor, action, incident_id, account_id, detail
                         FROM audit_log WHERE incident_id = $1
                         UNION ALL
                         SELECT 1, id, at, actor, action, incident_id, account_id, detail
                         FROM audit_pending WHERE incident_id = $1
                     ) AS entries ORDER BY part, n",
                )
                .bind(incident_id)
                .fetch_all(pool)
                .await
            }
            Backend::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT at, actor, action, incident_id, account_id, detail
                     FROM audit_log WHERE incident_id = $1 ORDER BY seq",
                )
                .bind(incident_id)
                .fetch_all(pool)
                .await
            }
        }
    }

    /// Chains up to `limit` of the entries waiting in `audit_pending`, oldest
    /// first, in one transaction under the head's lock; returns how many it
    /// chained. Sealers of several instances take turns at the head, and each
    /// entry is chained exactly once: it leaves the waiting table in the
    /// transaction that chains it. SQLite chains every entry at its commit:
    /// nothing ever waits there.
    pub async fn seal_pending_audit(&self, limit: i64) -> Result<usize, sqlx::Error> {
        let Pools::Postgres(pool) = &self.pools else {
            return Ok(0);
        };
        let keys = self
            .audit_keys
            .clone()
            .ok_or_else(|| sqlx::Error::Protocol("the audit chain's key is not configured".into()))?;
        let mut tx = pool.begin().await?;
        let (head_seq, head_hash) =
            sqlx::query_as::<_, (i64, Vec<u8>)>("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
                .fetch_one(&mut *tx)
                .await?;
        let mut waiting: Vec<PendingRow> = sqlx::query_as(
            // The ids are gathered first (an InitPlan, run once), then
            // deleted through the primary key. Written as `id IN (SELECT …)`
            // the planner may run the sub-select once per waiting row, which
            // took seconds once statistics taken while the table was nearly
            // empty met a backlog (load/REPORT.md).
            "DELETE FROM audit_pending WHERE id = ANY(ARRAY(SELECT id FROM audit_pending ORDER BY id LIMIT $1))
             RETURNING id, at, actor, action, incident_id, account_id, detail, key_id, mac",
        )
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        waiting.sort_unstable_by_key(|row| row.id);
        let count = waiting.len();
        let records: Vec<AuditRecord> = waiting.into_iter().map(|row| row.into_sealable(&keys)).collect();
        let (key_id, key) = keys.current();
        let (links, seq, hash) = chain(key, head_seq, head_hash_of(head_hash)?, &records);
        let mut seqs = Vec::with_capacity(count);
        let mut prevs = Vec::with_capacity(count);
        let mut hashes = Vec::with_capacity(count);
        for (seq, prev, hash) in &links {
            seqs.push(*seq);
            prevs.push(prev.to_vec());
            hashes.push(hash.to_vec());
        }
        let columns = RecordColumns::from(records);
        let append = sqlx::query(
            "WITH appended AS (
                 INSERT INTO audit_log (at, actor, action, incident_id, account_id, detail, seq, prev_hash, hash, key_id)
                 SELECT *, $10 FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::bytea[], $9::bytea[])
             )
             UPDATE audit_head SET seq = $11, hash = $12 WHERE id = 1",
        );
        columns
            .bind(append)
            .bind(seqs)
            .bind(prevs)
            .bind(hashes)
            .bind(key_id)
            .bind(seq)
            .bind(hash.as_slice())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(count)
    }

    /// How many entries wait to be chained (always 0 on SQLite).
    pub async fn audit_entries_waiting(&self) -> Result<i64, sqlx::Error> {
        match self.reader() {
            Backend::Postgres(pool) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM audit_pending")
                    .fetch_one(pool)
                    .await
            }
            Backend::Sqlite(_) => Ok(0),
        }
    }

    /// Up to `limit` entries after `after_seq`, in order, for walking the chain.
    pub async fn audit_page(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as::<_, AuditRow>(
            "SELECT seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(pool)
        .await)
    }

    /// The sequence number and hash of the last entry written.
    pub async fn audit_head(&self) -> Result<(i64, Vec<u8>), sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(pool)
            .await)
    }
}
