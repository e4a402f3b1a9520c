//! The hash-chained audit log, which also serves as every incident's timeline.

use super::{Backend, Database, SQLITE_ROWS_PER_INSERT, WriteTx, on_backend, select_locked};
use crate::domain::audit::{AuditRecord, StoredEntry, chain};
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

super::from_row!(AuditRow, |row| Ok(AuditRow {
    seq: row.try_get("seq")?,
    record: AuditRecord {
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        incident_id: row.try_get("incident_id")?,
        account_id: row.try_get("account_id")?,
        detail: row.try_get("detail")?,
    },
    prev_hash: row.try_get("prev_hash")?,
    hash: row.try_get("hash")?,
    key_id: row.try_get("key_id")?,
}));

/// Appends `records` to the chain inside `tx`. Called by [`WriteTx::commit`]
/// as its last statement: the head stays locked from here to the commit.
pub(super) async fn append(tx: &mut WriteTx, records: Vec<AuditRecord>) -> Result<(), sqlx::Error> {
    if records.is_empty() {
        return Ok(());
    }
    // The head row serialises appends: a second transaction waits here until
    // the first commits, then reads the head the first one wrote.
    let (head_seq, head_hash): (i64, Vec<u8>) = select_locked!(
        tx,
        ["SELECT seq, hash FROM audit_head WHERE id = 1"],
        "FOR UPDATE",
        |query| query,
        fetch_one
    )?;
    let head_hash: [u8; 32] = head_hash
        .try_into()
        .map_err(|_| sqlx::Error::Protocol("the audit head hash is not 32 bytes".into()))?;
    let keys = tx
        .audit_keys
        .clone()
        .ok_or_else(|| sqlx::Error::Protocol("the audit chain's key is not configured".into()))?;
    let (key_id, key) = keys.current();
    let (links, seq, hash) = chain(key, head_seq, head_hash, &records);

    match tx.conn() {
        Backend::Postgres(c) => {
            let mut columns = PgColumns::default();
            for ((seq, prev, hash), record) in links.iter().zip(records) {
                columns.push(*seq, record, prev, hash);
            }
            // The entries and the new head in one statement: the head's lock
            // is held from the read above to the commit, and every round
            // trip in between is a wait for the next writer.
            sqlx::query(
                "WITH appended AS (
                     INSERT INTO audit_log (seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id)
                     SELECT *, $10 FROM UNNEST($1::int8[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::bytea[])
                 )
                 UPDATE audit_head SET seq = $11, hash = $12 WHERE id = 1",
            )
            .bind(columns.seq)
            .bind(columns.at)
            .bind(columns.actor)
            .bind(columns.action)
            .bind(columns.incident_id)
            .bind(columns.account_id)
            .bind(columns.detail)
            .bind(columns.prev_hash)
            .bind(columns.hash)
            .bind(key_id)
            .bind(seq)
            .bind(hash.as_slice())
            .execute(&mut *c)
            .await?;
        }
        Backend::Sqlite(c) => {
            // Multi-row inserts: each statement is a hand-off to the
            // connection's thread. 10 values a row stays far below SQLite's
            // limit on bound values.
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
        }
    }
    Ok(())
}

/// Column arrays for PostgreSQL's `UNNEST` batch insert.
#[derive(Default)]
struct PgColumns {
    seq: Vec<i64>,
    at: Vec<Timestamp>,
    actor: Vec<String>,
    action: Vec<String>,
    incident_id: Vec<Option<String>>,
    account_id: Vec<Option<String>>,
    detail: Vec<String>,
    prev_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
}

impl PgColumns {
    fn push(&mut self, seq: i64, record: AuditRecord, prev: &[u8; 32], hash: &[u8; 32]) {
        self.seq.push(seq);
        self.at.push(record.at);
        self.actor.push(record.actor);
        self.action.push(record.action);
        self.incident_id.push(record.incident_id);
        self.account_id.push(record.account_id);
        self.detail.push(record.detail);
        self.prev_hash.push(prev.to_vec());
        self.hash.push(hash.to_vec());
    }
}

impl Database {
    /// An incident's timeline: its audit entries, oldest first.
    pub async fn timeline(&self, incident_id: &IncidentId) -> Result<Vec<AuditRow>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as::<_, AuditRow>(
            "SELECT seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id
             FROM audit_log WHERE incident_id = $1 ORDER BY seq",
        )
        .bind(incident_id)
        .fetch_all(pool)
        .await)
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
