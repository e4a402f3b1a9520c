//! The audit log's chains, which also serve as every incident's timeline.
//!
//! A change's entries are chained by [`append`], the last statements of its
//! transaction: the heads of the chains they go to are locked and read (in
//! ascending chain order, so two transactions never wait for each other's
//! heads in a cycle), the entries' MACs computed, and the entries inserted
//! and the heads moved in one more statement. Each head stays locked until
//! the commit, so appends to one chain are serialised and appends to
//! different chains are not.

use std::collections::{BTreeMap, HashMap};

use super::{Backend, Database, SQLITE_ROWS_PER_INSERT, WriteTx, on_backend};
use crate::domain::audit::{AuditRecord, Chain, Link, chain, chain_of};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::time::Timestamp;
use crate::platform::crypto::AuditKeys;

mod checkpoints;
mod left_waiting;

/// An audit entry as stored: what the chain's verifier reads.
pub use crate::domain::audit::verify::StoredEntry as AuditRow;

/// Up to `$3` entries of chain `$1` after seq `$2`, in order: one page of a
/// walk along the chain, outside a transaction or inside one.
const AUDIT_PAGE: &str =
    "SELECT chain, seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id
     FROM audit_log WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3";

/// A chain's head as stored.
#[derive(Clone, Debug)]
pub struct ChainHeadRow {
    pub chain: u16,
    /// The last entry's sequence number (0 while the chain is empty) and MAC.
    pub seq: i64,
    pub hash: Vec<u8>,
    /// Entries `1..=legacy_until` were MACed before the log had chains.
    pub legacy_until: i64,
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
    chain: chain_number(row.try_get("chain")?)?,
    seq: row.try_get("seq")?,
    record: sqlx::FromRow::from_row(row)?,
    prev_hash: row.try_get("prev_hash")?,
    hash: row.try_get("hash")?,
    key_id: row.try_get("key_id")?,
}));

super::from_row!(ChainHeadRow, |row| Ok(ChainHeadRow {
    chain: chain_number(row.try_get("chain")?)?,
    seq: row.try_get("seq")?,
    hash: row.try_get("hash")?,
    legacy_until: row.try_get("legacy_until")?,
}));

fn chain_number(stored: i16) -> Result<u16, sqlx::Error> {
    u16::try_from(stored).map_err(|_| sqlx::Error::Decode(format!("audit chain {stored} is negative").into()))
}

/// Chains `records` inside `tx`. Called by [`WriteTx::commit`] as its last
/// statements: the heads stay locked for as short a time as the commit allows.
pub(super) async fn append(tx: &mut WriteTx, records: Vec<AuditRecord>) -> Result<(), sqlx::Error> {
    if records.is_empty() {
        return Ok(());
    }
    let keys = tx
        .audit_keys
        .clone()
        .ok_or_else(|| sqlx::Error::Protocol("the audit chain's key is not configured".into()))?;
    let chains = tx.audit_chain_count().await?;
    let mut by_chain: BTreeMap<Chain, Vec<AuditRecord>> = BTreeMap::new();
    for record in records {
        by_chain.entry(chain_of(&record, chains)).or_default().push(record);
    }
    match tx.conn() {
        Backend::Postgres(c) => chain_on_postgres(c, &keys, by_chain).await,
        Backend::Sqlite(c) => chain_on_sqlite(c, &keys, by_chain).await,
    }
}

/// Entries chained in memory, ready to be written, and the heads they move to.
struct Chained {
    entries: Vec<(u16, Link, AuditRecord)>,
    heads: Vec<(u16, i64, [u8; 32])>,
}

/// Chains each chain's records after its head in `heads` (chain, seq, hash).
fn link(
    keys: &AuditKeys,
    heads: Vec<(i16, i64, Vec<u8>)>,
    by_chain: BTreeMap<Chain, Vec<AuditRecord>>,
) -> Result<Chained, sqlx::Error> {
    let heads: HashMap<i16, (i64, Vec<u8>)> = heads.into_iter().map(|(c, seq, hash)| (c, (seq, hash))).collect();
    let (_, key) = keys.current();
    let mut chained = Chained {
        entries: Vec::new(),
        heads: Vec::with_capacity(by_chain.len()),
    };
    for (of_log, records) in by_chain {
        let chain_id = of_log.number;
        let (head_seq, head_hash) = heads
            .get(&(chain_id as i16))
            .ok_or_else(|| sqlx::Error::Protocol(format!("audit chain {chain_id} has no head")))?;
        let head_hash: [u8; 32] = head_hash
            .as_slice()
            .try_into()
            .map_err(|_| sqlx::Error::Protocol(format!("the head of audit chain {chain_id} is not 32 bytes")))?;
        let (links, seq, hash) = chain(key, of_log, *head_seq, head_hash, &records);
        chained.heads.push((chain_id, seq, hash));
        chained.entries.extend(
            links
                .into_iter()
                .zip(records)
                .map(|(link, record)| (chain_id, link, record)),
        );
    }
    Ok(chained)
}

/// Locks the heads of the chains `by_chain` goes to, in ascending order, and
/// reads them (one statement); then inserts the entries and moves the heads
/// (one statement).
async fn chain_on_postgres(
    c: &mut sqlx::PgConnection,
    keys: &AuditKeys,
    by_chain: BTreeMap<Chain, Vec<AuditRecord>>,
) -> Result<(), sqlx::Error> {
    let wanted: Vec<i16> = by_chain.keys().map(|chain| chain.number as i16).collect();
    // The rows are locked as the sort returns them: in chain order.
    let heads: Vec<(i16, i64, Vec<u8>)> =
        sqlx::query_as("SELECT chain, seq, hash FROM audit_chains WHERE chain = ANY($1) ORDER BY chain FOR UPDATE")
            .bind(&wanted)
            .fetch_all(&mut *c)
            .await?;
    let chained = link(keys, heads, by_chain)?;
    let (key_id, _) = keys.current();
    let mut columns = EntryColumns::with_capacity(chained.entries.len());
    for (chain_id, (seq, prev, hash), record) in chained.entries {
        columns.push(chain_id, seq, prev, hash, record);
    }
    let (mut head_chains, mut head_seqs, mut head_hashes) = (Vec::new(), Vec::new(), Vec::new());
    for (chain_id, seq, hash) in chained.heads {
        head_chains.push(chain_id as i16);
        head_seqs.push(seq);
        head_hashes.push(hash.to_vec());
    }
    columns
        .bind(sqlx::query(
            "WITH appended AS (
                 INSERT INTO audit_log (chain, seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id)
                 SELECT *, $11 FROM UNNEST($1::int2[], $2::int8[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],
                                           $7::text[], $8::text[], $9::bytea[], $10::bytea[])
             )
             UPDATE audit_chains SET seq = head.seq, hash = head.hash
             FROM UNNEST($12::int2[], $13::int8[], $14::bytea[]) AS head (chain, seq, hash)
             WHERE audit_chains.chain = head.chain",
        ))
        .bind(key_id)
        .bind(head_chains)
        .bind(head_seqs)
        .bind(head_hashes)
        .execute(c)
        .await?;
    Ok(())
}

/// Reads the heads, inserts the entries and moves the heads, in the caller's
/// transaction (which holds SQLite's write lock, so nothing appends between).
async fn chain_on_sqlite(
    c: &mut sqlx::SqliteConnection,
    keys: &AuditKeys,
    by_chain: BTreeMap<Chain, Vec<AuditRecord>>,
) -> Result<(), sqlx::Error> {
    let heads: Vec<(i16, i64, Vec<u8>)> = sqlx::query_as("SELECT chain, seq, hash FROM audit_chains")
        .fetch_all(&mut *c)
        .await?;
    let chained = link(keys, heads, by_chain)?;
    let (key_id, _) = keys.current();
    // Multi-row inserts: each statement is a hand-off to the connection's
    // thread. 11 values a row stays far below SQLite's limit on bound values.
    let mut rows = chained.entries.into_iter().peekable();
    while rows.peek().is_some() {
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO audit_log (chain, seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id) ",
        );
        query.push_values(
            rows.by_ref().take(SQLITE_ROWS_PER_INSERT),
            |mut row, (chain_id, (seq, prev, hash), record)| {
                row.push_bind(chain_id as i16)
                    .push_bind(seq)
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
    let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "UPDATE audit_chains SET seq = head.column2, hash = head.column3 FROM (",
    );
    query.push_values(chained.heads, |mut row, (chain_id, seq, hash)| {
        row.push_bind(chain_id as i16).push_bind(seq).push_bind(hash.to_vec());
    });
    query.push(") AS head WHERE audit_chains.chain = head.column1");
    query.build().execute(&mut *c).await?;
    Ok(())
}

/// Column arrays of chained entries for PostgreSQL's `UNNEST` batch insert.
struct EntryColumns {
    chain: Vec<i16>,
    seq: Vec<i64>,
    at: Vec<Timestamp>,
    actor: Vec<String>,
    action: Vec<String>,
    incident_id: Vec<Option<String>>,
    account_id: Vec<Option<AccountId>>,
    detail: Vec<String>,
    prev_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
}

impl EntryColumns {
    fn with_capacity(n: usize) -> Self {
        Self {
            chain: Vec::with_capacity(n),
            seq: Vec::with_capacity(n),
            at: Vec::with_capacity(n),
            actor: Vec::with_capacity(n),
            action: Vec::with_capacity(n),
            incident_id: Vec::with_capacity(n),
            account_id: Vec::with_capacity(n),
            detail: Vec::with_capacity(n),
            prev_hash: Vec::with_capacity(n),
            hash: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, chain: u16, seq: i64, prev_hash: [u8; 32], hash: [u8; 32], record: AuditRecord) {
        self.chain.push(chain as i16);
        self.seq.push(seq);
        self.at.push(record.at);
        self.actor.push(record.actor);
        self.action.push(record.action);
        self.incident_id.push(record.incident_id);
        self.account_id.push(record.account_id);
        self.detail.push(record.detail);
        self.prev_hash.push(prev_hash.to_vec());
        self.hash.push(hash.to_vec());
    }

    /// Binds the columns, in the order of the fields, as the query's first ten parameters.
    fn bind(self, query: PgQuery<'_>) -> PgQuery<'_> {
        query
            .bind(self.chain)
            .bind(self.seq)
            .bind(self.at)
            .bind(self.actor)
            .bind(self.action)
            .bind(self.incident_id)
            .bind(self.account_id)
            .bind(self.detail)
            .bind(self.prev_hash)
            .bind(self.hash)
    }
}

/// A PostgreSQL statement with its arguments.
type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

impl WriteTx {
    /// How many chains the log has: fixed by the migration that made them
    /// and stored there (one head row each, numbered from 0), read once per
    /// process. Heads numbered otherwise were tampered with: nothing is
    /// chained then, rather than chained where `audit verify` cannot check it.
    async fn audit_chain_count(&mut self) -> Result<u16, sqlx::Error> {
        if let Some(count) = self.audit_chains.get() {
            return Ok(*count);
        }
        let (count, last): (i64, Option<i64>) = on_backend!(self.conn(), c => sqlx::query_as(
            "SELECT COUNT(*), CAST(MAX(chain) AS BIGINT) FROM audit_chains",
        )
        .fetch_one(c)
        .await)?;
        let count = u16::try_from(count)
            .ok()
            .filter(|count| (1..=i16::MAX as u16).contains(count) && last == Some(i64::from(*count) - 1))
            .ok_or_else(|| {
                sqlx::Error::Protocol(format!(
                    "the audit log's {count} chain heads are not numbered 0 to {}",
                    count - 1
                ))
            })?;
        Ok(*self.audit_chains.get_or_init(|| count))
    }
}

impl Database {
    /// An incident's timeline: its audit entries, oldest first. They are all
    /// in its account's chain (those written before the log had chains, in
    /// chain 0, before them), so chain and sequence order is commit order.
    pub async fn timeline(&self, incident_id: &IncidentId) -> Result<Vec<AuditRecord>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            "SELECT at, actor, action, incident_id, account_id, detail
             FROM audit_log WHERE incident_id = $1 ORDER BY chain, seq",
        )
        .bind(incident_id)
        .fetch_all(pool)
        .await)
    }

    /// The head of every chain, in chain order.
    pub async fn audit_heads(&self) -> Result<Vec<ChainHeadRow>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            "SELECT chain, seq, hash, legacy_until FROM audit_chains ORDER BY chain",
        )
        .fetch_all(pool)
        .await)
    }

    /// Up to `limit` entries of `chain` after `after_seq`, in order, for walking it.
    pub async fn audit_page(&self, chain: u16, after_seq: i64, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as::<_, AuditRow>(AUDIT_PAGE)
        .bind(chain as i16)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(pool)
        .await)
    }

    /// The first entry (chain, seq) of a chain numbered below 0 or above
    /// `last_chain`: one no head accounts for.
    pub async fn audit_entry_beyond_chains(&self, last_chain: u16) -> Result<Option<(i64, i64)>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            "SELECT CAST(chain AS BIGINT), seq FROM audit_log WHERE chain < 0 OR chain > $1 ORDER BY chain, seq LIMIT 1",
        )
        .bind(last_chain as i16)
        .fetch_optional(pool)
        .await)
    }
}
