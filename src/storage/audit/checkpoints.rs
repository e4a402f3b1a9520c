//! Archiving the log: the statements `holdfast audit archive` runs in its
//! one transaction, and reading the checkpoints it leaves.
//!
//! The archive locks every chain's head first, in chain order as appends do,
//! so appends wait for it rather than fork a chain; it reads the entries
//! before the cut, chains the checkpoint's entry into every chain, records
//! the checkpoint and removes the archived entries, all before one commit.
//! On PostgreSQL a month of the log wholly before the cut whose every entry
//! the checkpoints cover goes as one partition; what is left of the
//! archived entries (the cut's own month, and SQLite's log) is deleted by
//! chain and sequence number, which `audit_log`'s delete trigger allows
//! only for entries a recorded checkpoint covers.

use std::collections::BTreeMap;

use sqlx::AssertSqlSafe;

use super::super::retention::{History, Month, partitions_in};
use super::super::{Backend, Database, WriteTx, on_backend, on_backend_sql};
use super::{AUDIT_PAGE, AuditRow, ChainHeadRow, chain_on_postgres, chain_on_sqlite};
use crate::domain::audit::Chain;
use crate::domain::audit::checkpoint::{Checkpoint, CheckpointChain};
use crate::domain::time::Timestamp;

/// A checkpoint's own row.
type CheckpointRow = (i64, Timestamp, Timestamp, String, String, String);

/// A row of what a checkpoint archived of one chain.
type CheckpointChainRow = (i64, i16, i64, String, i64, String, i64, i64);

fn assemble(rows: Vec<CheckpointRow>, chains: Vec<CheckpointChainRow>) -> Result<Vec<Checkpoint>, sqlx::Error> {
    let mut by_number: BTreeMap<i64, Vec<CheckpointChain>> = BTreeMap::new();
    for (number, chain, from_seq, from_mac, through_seq, through_mac, entries, marker_seq) in chains {
        let chain = super::chain_number(chain)?;
        by_number.entry(number).or_default().push(CheckpointChain {
            chain,
            from_seq,
            from_mac,
            through_seq,
            through_mac,
            entries,
            marker_seq,
        });
    }
    Ok(rows
        .into_iter()
        .map(|(number, cut, created_at, sha256, key_id, mac)| Checkpoint {
            number,
            cut,
            created_at,
            sha256,
            chains: by_number.remove(&number).unwrap_or_default(),
            key_id,
            mac,
        })
        .collect())
}

const CHECKPOINTS: &str = "SELECT number, cut, created_at, sha256, key_id, mac FROM audit_checkpoints ORDER BY number";
const CHECKPOINT_CHAINS: &str =
    "SELECT number, chain, from_seq, from_mac, through_seq, through_mac, entries, marker_seq
     FROM audit_checkpoint_chains ORDER BY number, chain";

impl WriteTx {
    /// Locks the head of every chain, in chain order (the order appends take
    /// them in), and reads them.
    pub async fn lock_audit_heads(&mut self) -> Result<Vec<ChainHeadRow>, sqlx::Error> {
        on_backend_sql!(self.conn(), c, sql = (
            "SELECT chain, seq, hash, legacy_until FROM audit_chains ORDER BY chain FOR UPDATE",
            "SELECT chain, seq, hash, legacy_until FROM audit_chains ORDER BY chain"
        ) => sqlx::query_as(sql).fetch_all(c).await)
    }

    /// Every checkpoint recorded so far, oldest first, as this transaction sees them.
    pub async fn audit_checkpoints(&mut self) -> Result<Vec<Checkpoint>, sqlx::Error> {
        let rows: Vec<CheckpointRow> = on_backend!(self.conn(), c => sqlx::query_as(CHECKPOINTS).fetch_all(c).await)?;
        let chains: Vec<CheckpointChainRow> =
            on_backend!(self.conn(), c => sqlx::query_as(CHECKPOINT_CHAINS).fetch_all(c).await)?;
        assemble(rows, chains)
    }

    /// Up to `limit` entries of `chain` after `after_seq`, in order.
    pub async fn audit_page_in_tx(
        &mut self,
        chain: u16,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>, sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query_as::<_, AuditRow>(AUDIT_PAGE)
        .bind(chain as i16)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(c)
        .await)
    }

    /// Chains `checkpoint`'s entry into each of its chains, then records it
    /// and removes the entries it archived.
    pub async fn record_audit_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), sqlx::Error> {
        let of = self.audit_chain_count().await?;
        let keys = self
            .audit_keys
            .clone()
            .ok_or_else(|| sqlx::Error::Protocol("the audit chain's key is not configured".into()))?;
        let by_chain = checkpoint
            .chains
            .iter()
            .map(|archived| {
                (
                    Chain {
                        number: archived.chain,
                        of,
                    },
                    vec![checkpoint.marker(archived)],
                )
            })
            .collect();
        match self.conn() {
            Backend::Postgres(c) => chain_on_postgres(c, &keys, by_chain).await?,
            Backend::Sqlite(c) => chain_on_sqlite(c, &keys, by_chain).await?,
        }
        on_backend!(self.conn(), c => sqlx::query(
            "INSERT INTO audit_checkpoints (number, cut, created_at, sha256, key_id, mac) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(checkpoint.number)
        .bind(checkpoint.cut)
        .bind(checkpoint.created_at)
        .bind(&checkpoint.sha256)
        .bind(&checkpoint.key_id)
        .bind(&checkpoint.mac)
        .execute(c)
        .await
        .map(drop))?;
        for archived in &checkpoint.chains {
            on_backend!(self.conn(), c => sqlx::query(
                "INSERT INTO audit_checkpoint_chains
                     (number, chain, from_seq, from_mac, through_seq, through_mac, entries, marker_seq)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(checkpoint.number)
            .bind(archived.chain as i16)
            .bind(archived.from_seq)
            .bind(&archived.from_mac)
            .bind(archived.through_seq)
            .bind(&archived.through_mac)
            .bind(archived.entries)
            .bind(archived.marker_seq)
            .execute(c)
            .await
            .map(drop))?;
        }
        if let Backend::Postgres(c) = self.conn() {
            drop_archived_months(c, checkpoint.cut).await?;
        }
        for archived in &checkpoint.chains {
            // What no dropped month took, by chain and sequence number.
            on_backend!(self.conn(), c => sqlx::query(
                "DELETE FROM audit_log WHERE chain = $1 AND seq > $2 AND seq <= $3",
            )
            .bind(archived.chain as i16)
            .bind(archived.from_seq)
            .bind(archived.through_seq)
            .execute(c)
            .await
            .map(drop))?;
        }
        Ok(())
    }
}

/// Drops each month of the log that ends by `cut` and holds only entries
/// the recorded checkpoints cover (a month the cut falls in, or one with an
/// entry a checkpoint does not reach, keeps its partition).
async fn drop_archived_months(c: &mut sqlx::PgConnection, cut: Timestamp) -> Result<(), sqlx::Error> {
    let months: Vec<Month> = partitions_in(c, History::AuditLog)
        .await?
        .into_iter()
        .filter(|month| month.next().start() <= cut)
        .collect();
    if months.is_empty() {
        return Ok(());
    }
    // Dropping a partition locks the log whole; taken once, first. Appends
    // wait on the chains' heads, which this transaction already holds, and
    // lock the log only after them, so nothing holding it waits for us.
    sqlx::query("LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *c)
        .await?;
    for month in months {
        let name = month.partition(History::AuditLog);
        let uncovered: bool = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM {name} a
                 LEFT JOIN (SELECT chain, MAX(through_seq) AS through_seq FROM audit_checkpoint_chains GROUP BY chain) c
                     USING (chain)
                 WHERE a.seq > COALESCE(c.through_seq, 0))"
        )))
        .fetch_one(&mut *c)
        .await?;
        if !uncovered {
            sqlx::query(AssertSqlSafe(format!("DROP TABLE {name}")))
                .execute(&mut *c)
                .await?;
        }
    }
    Ok(())
}

impl Database {
    /// Every checkpoint recorded, oldest first.
    pub async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, sqlx::Error> {
        let rows: Vec<CheckpointRow> =
            on_backend!(self.reader(), pool => sqlx::query_as(CHECKPOINTS).fetch_all(pool).await)?;
        let chains: Vec<CheckpointChainRow> =
            on_backend!(self.reader(), pool => sqlx::query_as(CHECKPOINT_CHAINS).fetch_all(pool).await)?;
        assemble(rows, chains)
    }
}
