//! Alerts, keyed by the risk engine's `alert_id`.

use super::{Database, WriteTx, json, on_backend};
use crate::domain::alert::Alert;
use crate::domain::ids::IncidentId;
use crate::domain::time::Timestamp;

/// The outcome of storing an alert.
#[derive(Debug, PartialEq, Eq)]
pub enum InsertedAlert {
    New,
    /// An alert with this id was stored before; it belongs to this incident.
    Duplicate {
        incident_id: IncidentId,
    },
}

/// A stored alert and the incident it belongs to.
#[derive(Clone, Debug)]
pub struct AlertRow {
    pub alert: Alert,
    pub incident_id: IncidentId,
    pub received_at: Timestamp,
}

super::from_row!(AlertRow, |row| Ok(AlertRow {
    alert: super::json("body", row.try_get("body")?)?,
    incident_id: row.try_get("incident_id")?,
    received_at: row.try_get("received_at")?,
}));

impl WriteTx {
    /// Stores a new alert (not yet attached to an incident), or reports the
    /// incident of the alert already stored under its id.
    ///
    /// On PostgreSQL a concurrent insert of the same id waits for the first
    /// transaction to finish, then sees its row: retries never both win.
    pub async fn insert_alert(&mut self, alert: &Alert, received_at: Timestamp) -> Result<InsertedAlert, sqlx::Error> {
        let body = serde_json::to_string(alert).map_err(|e| sqlx::Error::Encode(e.into()))?;
        let inserted = on_backend!(self.conn(), c => sqlx::query(
            "INSERT INTO alerts (alert_id, account_id, kind, occurred_at, received_at, body)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (alert_id) DO NOTHING",
        )
        .bind(alert.alert_id.as_str())
        .bind(alert.account_id.as_str())
        .bind(alert.kind.as_str())
        .bind(alert.occurred_at)
        .bind(received_at)
        .bind(&body)
        .execute(c)
        .await?
        .rows_affected());
        if inserted == 1 {
            return Ok(InsertedAlert::New);
        }
        let incident_id: Option<IncidentId> = on_backend!(self.conn(), c => sqlx::query_scalar(
            "SELECT incident_id FROM alerts WHERE alert_id = $1",
        )
        .bind(alert.alert_id.as_str())
        .fetch_one(c)
        .await?);
        let incident_id =
            incident_id.ok_or_else(|| sqlx::Error::Protocol("a committed alert has no incident".into()))?;
        Ok(InsertedAlert::Duplicate { incident_id })
    }

    pub async fn attach_alert(&mut self, alert_id: &str, incident_id: &IncidentId) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query("UPDATE alerts SET incident_id = $2 WHERE alert_id = $1")
            .bind(alert_id)
            .bind(incident_id)
            .execute(c)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The incident's alerts that occurred between `from` and `until`, newest
    /// first, at most `limit`: the ones a correlation rule can look at.
    pub async fn incident_alerts_between(
        &mut self,
        incident_id: &IncidentId,
        from: Timestamp,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<Alert>, sqlx::Error> {
        let bodies: Vec<String> = on_backend!(self.conn(), c => sqlx::query_scalar(
            "SELECT body FROM alerts
             WHERE incident_id = $1 AND occurred_at BETWEEN $2 AND $3
             ORDER BY occurred_at DESC LIMIT $4",
        )
        .bind(incident_id)
        .bind(from)
        .bind(until)
        .bind(limit)
        .fetch_all(c)
        .await?);
        bodies.into_iter().map(|body| json("body", body)).collect()
    }
}

impl WriteTx {
    /// The ids of every alert of an incident.
    pub async fn incident_alert_ids(&mut self, incident_id: &IncidentId) -> Result<Vec<String>, sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query_scalar("SELECT alert_id FROM alerts WHERE incident_id = $1 ORDER BY occurred_at")
            .bind(incident_id)
            .fetch_all(c)
            .await)
    }
}

impl Database {
    /// An incident's alerts in the order they occurred.
    pub async fn incident_alerts(&self, incident_id: &IncidentId) -> Result<Vec<AlertRow>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as::<_, AlertRow>(
            "SELECT body, incident_id, received_at FROM alerts WHERE incident_id = $1 ORDER BY occurred_at, alert_id",
        )
        .bind(incident_id)
        .fetch_all(pool)
        .await)
    }
}
