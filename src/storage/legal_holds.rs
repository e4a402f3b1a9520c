//! Legal holds on incidents (SPEC §15): set by one lead, released by another.

use super::{Database, WriteTx, execute, from_row, on_backend};
use crate::domain::ids::{IncidentId, new_id};
use crate::domain::time::Timestamp;

/// One legal hold as stored; `released_at` is `None` while it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegalHoldRow {
    pub id: String,
    pub incident_id: IncidentId,
    /// The audit actor who set it (`agent:<username>`).
    pub set_by: String,
    pub set_at: Timestamp,
    pub reason: String,
    pub released_by: Option<String>,
    pub released_at: Option<Timestamp>,
    pub release_reason: Option<String>,
}

from_row!(LegalHoldRow, |row| Ok(LegalHoldRow {
    id: row.try_get("id")?,
    incident_id: row.try_get("incident_id")?,
    set_by: row.try_get("set_by")?,
    set_at: row.try_get("set_at")?,
    reason: row.try_get("reason")?,
    released_by: row.try_get("released_by")?,
    released_at: row.try_get("released_at")?,
    release_reason: row.try_get("release_reason")?,
}));

macro_rules! columns {
    () => {
        "id, incident_id, set_by, set_at, reason, released_by, released_at, release_reason"
    };
}

impl Database {
    /// The incident's latest legal hold, in force or released.
    pub async fn latest_legal_hold(&self, incident_id: &IncidentId) -> Result<Option<LegalHoldRow>, sqlx::Error> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM legal_holds WHERE incident_id = $1 ORDER BY set_at DESC, id DESC LIMIT 1"
        );
        on_backend!(self.reader(), pool => sqlx::query_as(sql).bind(incident_id).fetch_optional(pool).await)
    }
}

impl WriteTx {
    /// The hold in force on the incident, if any.
    pub async fn legal_hold_in_force(&mut self, incident_id: &IncidentId) -> Result<Option<LegalHoldRow>, sqlx::Error> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM legal_holds WHERE incident_id = $1 AND released_at IS NULL"
        );
        on_backend!(self.conn(), c => sqlx::query_as(sql).bind(incident_id).fetch_optional(c).await)
    }

    /// Sets a hold; `false` when one already holds (the partial unique
    /// index `legal_holds_one_in_force` decides between concurrent leads).
    pub async fn set_legal_hold(
        &mut self,
        incident_id: &IncidentId,
        set_by: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let done = execute!(
            self.conn(),
            "INSERT INTO legal_holds (id, incident_id, set_by, set_at, reason) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (incident_id) WHERE released_at IS NULL DO NOTHING",
            new_id(),
            incident_id,
            set_by,
            at,
            reason
        )?;
        Ok(done == 1)
    }

    /// Releases the hold `id` unless it was released meanwhile; `false` then.
    pub async fn release_legal_hold(
        &mut self,
        id: &str,
        released_by: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let done = execute!(
            self.conn(),
            "UPDATE legal_holds SET released_by = $2, released_at = $3, release_reason = $4
             WHERE id = $1 AND released_at IS NULL",
            id,
            released_by,
            at,
            reason
        )?;
        Ok(done == 1)
    }
}
