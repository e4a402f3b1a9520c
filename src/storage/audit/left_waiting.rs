//! The upgrade to chains: entries an older version left waiting in
//! `audit_pending` (PostgreSQL) are chained once, at the first start, and the
//! table dropped with them. Nothing else reads or writes it.

use super::super::{Backend, Database, Pools};
use crate::domain::audit::{AuditAction, AuditRecord, legacy_waiting_mac};
use crate::platform::crypto::AuditKeys;

/// An entry an older version left waiting in `audit_pending`.
struct WaitingRow {
    id: i64,
    record: AuditRecord,
    key_id: String,
    mac: Vec<u8>,
}

super::super::from_row!(WaitingRow, |row| Ok(WaitingRow {
    id: row.try_get("id")?,
    record: sqlx::FromRow::from_row(row)?,
    key_id: row.try_get("key_id")?,
    mac: row.try_get("mac")?,
}));

impl WaitingRow {
    /// The record to chain: this entry's, or, if its MAC does not match
    /// (forged or changed while it waited), one that says so in its place.
    fn into_chainable(self, keys: &AuditKeys) -> AuditRecord {
        let genuine = keys
            .find(&self.key_id)
            .is_some_and(|key| legacy_waiting_mac(key, &self.record).as_slice() == self.mac.as_slice());
        if genuine {
            return self.record;
        }
        tracing::error!(
            waiting_id = self.id,
            action = %self.record.action,
            "an audit entry left waiting by an older version does not match its MAC; chaining a refusal in its place"
        );
        AuditRecord::new(self.record.at, "system", AuditAction::AuditEntryRefused).detail(serde_json::json!({
            "waiting_id": self.id,
            "claimed_action": self.record.action,
            "claimed_actor": self.record.actor,
            "reason": "its MAC does not match: it was forged or changed while it waited to be chained",
        }))
    }
}

impl Database {
    /// Chains the entries an older version left waiting in `audit_pending`
    /// (PostgreSQL, once, at the first start after the upgrade), each in the
    /// chain it would have gone to had it been written now, and drops the
    /// table in the same transaction; returns how many it chained. An entry
    /// whose MAC does not match is refused: an `audit.entry_refused` entry
    /// takes its place, which `holdfast audit verify` reports. Instances
    /// starting together take turns; the first chains, the others find
    /// nothing.
    pub async fn chain_entries_left_waiting(&self) -> Result<usize, sqlx::Error> {
        let Pools::Postgres(pool) = &self.pools else {
            return Ok(0);
        };
        let left: bool = sqlx::query_scalar("SELECT to_regclass('audit_pending') IS NOT NULL")
            .fetch_one(pool)
            .await?;
        if !left {
            return Ok(0);
        }
        let keys = self
            .audit_keys
            .clone()
            .ok_or_else(|| sqlx::Error::Protocol("the audit chain's key is not configured".into()))?;
        let mut tx = self.begin().await?;
        let Backend::Postgres(c) = tx.conn() else {
            unreachable!("a PostgreSQL pool begins PostgreSQL transactions")
        };
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('holdfast.audit_pending'))")
            .execute(&mut *c)
            .await?;
        let still_there: bool = sqlx::query_scalar("SELECT to_regclass('audit_pending') IS NOT NULL")
            .fetch_one(&mut *c)
            .await?;
        if !still_there {
            return Ok(0);
        }
        // An instance of the older version still running could add an entry
        // between the read and the drop: it waits instead, then fails.
        sqlx::query("LOCK TABLE audit_pending IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *c)
            .await?;
        let waiting: Vec<WaitingRow> = sqlx::query_as(
            "SELECT id, at, actor, action, incident_id, account_id, detail, key_id, mac FROM audit_pending ORDER BY id",
        )
        .fetch_all(&mut *c)
        .await?;
        sqlx::query("DROP TABLE audit_pending").execute(&mut *c).await?;
        let count = waiting.len();
        for row in waiting {
            tx.audit(row.into_chainable(&keys));
        }
        tx.commit().await?.no_follow_up();
        Ok(count)
    }
}
