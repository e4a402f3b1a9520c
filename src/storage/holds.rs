//! Holds. A hold in force is one not lifted and not past its expiry; at most
//! one unlifted hold exists per incident and scope.

use super::{Database, WriteTx, execute, on_backend, parsed};
use crate::domain::hold::{Hold, HoldRecord, HoldScope, NewHold};
use crate::domain::ids::{AccountId, HoldId, IncidentId};
use crate::domain::time::Timestamp;

super::from_row!(HoldRecord, |row| Ok(HoldRecord {
    id: row.try_get("id")?,
    account_id: row.try_get("account_id")?,
    incident_id: row.try_get("incident_id")?,
    scope: parsed("scope", row.try_get("scope")?, HoldScope::parse)?,
    reason: row.try_get("reason")?,
    placed_by: row.try_get("placed_by")?,
    placed_at: row.try_get("placed_at")?,
    expires_at: row.try_get("expires_at")?,
    lifted_at: row.try_get("lifted_at")?,
    lifted_by: row.try_get("lifted_by")?,
}));

super::from_row!(Hold, |row| Ok(Hold {
    scope: parsed("scope", row.try_get("scope")?, HoldScope::parse)?,
    incident_id: row.try_get("incident_id")?,
    reason: row.try_get("reason")?,
    placed_at: row.try_get("placed_at")?,
    expires_at: row.try_get("expires_at")?,
}));

impl WriteTx {
    /// Places `hold` and returns its id, or `None` when the incident already
    /// freezes that scope. A freeze and a cool-off of one scope may stand side
    /// by side; a new cool-off replaces an earlier one (it restarts the clock).
    pub async fn place_hold(
        &mut self,
        id: &HoldId,
        hold: &NewHold,
        at: Timestamp,
    ) -> Result<Option<HoldId>, sqlx::Error> {
        if hold.expires_at.is_some() {
            execute!(
                self.conn(),
                "UPDATE holds SET lifted_at = $3, lifted_by = $4
                 WHERE incident_id = $1 AND scope = $2 AND lifted_at IS NULL AND expires_at IS NOT NULL",
                &hold.incident_id,
                hold.scope.as_str(),
                at,
                &hold.placed_by
            )?;
        }
        let inserted = on_backend!(self.conn(), c => sqlx::query(
            "INSERT INTO holds (id, account_id, incident_id, scope, reason, placed_by, placed_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (incident_id, scope, is_freeze) WHERE lifted_at IS NULL DO NOTHING",
        )
        .bind(id)
        .bind(&hold.account_id)
        .bind(&hold.incident_id)
        .bind(hold.scope.as_str())
        .bind(&hold.reason)
        .bind(&hold.placed_by)
        .bind(at)
        .bind(hold.expires_at)
        .execute(c)
        .await?
        .rows_affected());
        self.record(super::Effect::HoldsChanged {
            account_id: hold.account_id.clone(),
        });
        if inserted == 1 && hold.expires_at.is_none() {
            self.record(super::Effect::FreezeAdded(hold.incident_id.clone()));
        }
        Ok((inserted == 1).then(|| id.clone()))
    }

    /// Lifts the incident's freezes on `scopes` and returns them. Cool-offs
    /// are not lifted: they end on their own.
    pub async fn lift_holds(
        &mut self,
        incident_id: &IncidentId,
        scopes: &[HoldScope],
        lifted_by: &str,
        at: Timestamp,
    ) -> Result<Vec<HoldRecord>, sqlx::Error> {
        let mut lifted = Vec::new();
        for scope in scopes {
            let rows: Vec<HoldRecord> = on_backend!(self.conn(), c => sqlx::query_as(
                "UPDATE holds SET lifted_at = $3, lifted_by = $4
                 WHERE incident_id = $1 AND scope = $2 AND lifted_at IS NULL AND expires_at IS NULL
                 RETURNING id, account_id, incident_id, scope, reason, placed_by, placed_at, expires_at, lifted_at, lifted_by",
            )
            .bind(incident_id)
            .bind(scope.as_str())
            .bind(at)
            .bind(lifted_by)
            .fetch_all(c)
            .await)?;
            lifted.extend(rows);
        }
        for hold in &lifted {
            self.record(super::Effect::HoldsChanged {
                account_id: hold.account_id.clone(),
            });
        }
        Ok(lifted)
    }

    /// The incident's unlifted holds, read inside the transaction (to verify a step).
    pub async fn incident_holds_in_tx(&mut self, incident_id: &IncidentId) -> Result<Vec<HoldRecord>, sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query_as(
            "SELECT id, account_id, incident_id, scope, reason, placed_by, placed_at, expires_at, lifted_at, lifted_by
             FROM holds WHERE incident_id = $1 AND lifted_at IS NULL ORDER BY placed_at, scope",
        )
        .bind(incident_id)
        .fetch_all(c)
        .await)
    }
}

impl Database {
    /// The account's holds in force at `now`: the exchange's hot path.
    pub async fn holds_in_force(&self, account_id: &AccountId, now: Timestamp) -> Result<Vec<Hold>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            "SELECT scope, incident_id, reason, placed_at, expires_at FROM holds
             WHERE account_id = $1 AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
             ORDER BY placed_at, scope",
        )
        .bind(account_id)
        .bind(now)
        .fetch_all(pool)
        .await)
    }

    /// The accounts with a hold not lifted (some may have expired), at most `limit`.
    pub async fn accounts_with_unlifted_holds(&self, limit: i64) -> Result<Vec<AccountId>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_scalar(
            "SELECT DISTINCT account_id FROM holds WHERE lifted_at IS NULL LIMIT $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await)
    }

    /// Every hold an incident placed, lifted or not.
    pub async fn incident_holds(&self, incident_id: &IncidentId) -> Result<Vec<HoldRecord>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            "SELECT id, account_id, incident_id, scope, reason, placed_by, placed_at, expires_at, lifted_at, lifted_by
             FROM holds WHERE incident_id = $1 ORDER BY placed_at, scope",
        )
        .bind(incident_id)
        .fetch_all(pool)
        .await)
    }
}
