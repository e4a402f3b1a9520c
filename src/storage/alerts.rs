//! Alerts, keyed by the risk engine's `alert_id`.

use super::{Database, WriteTx, on_backend};
use crate::domain::alert::Alert;
use crate::domain::ids::IncidentId;
use crate::domain::time::Timestamp;

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
