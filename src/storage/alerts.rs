//! Alerts, keyed by the risk engine's `alert_id`.

use super::{Database, WriteTx, on_backend_sql};
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

/// On PostgreSQL, the condition that keeps a read of the incident `$1`'s
/// alerts to the months they can be in. No alert is retained from before
/// the incident's first arrival recorded in `alert_records` (a carry-forward
/// only moves it later), so the statement prunes the months before that
/// as it runs instead of probing every month's index in turn.
macro_rules! in_its_months {
    () => {
        "retained_from >= COALESCE((SELECT MIN(received_at) FROM alert_records WHERE incident_id = $1), '-infinity')"
    };
}
pub(super) use in_its_months;

super::from_row!(AlertRow, |row| Ok(AlertRow {
    alert: super::json("body", row.try_get("body")?)?,
    incident_id: row.try_get("incident_id")?,
    received_at: row.try_get("received_at")?,
}));

impl WriteTx {
    /// The ids of every alert of an incident.
    pub async fn incident_alert_ids(&mut self, incident_id: &IncidentId) -> Result<Vec<String>, sqlx::Error> {
        on_backend_sql!(self.conn(), c, sql = (
            concat!("SELECT alert_id FROM alerts WHERE incident_id = $1 AND ", in_its_months!(), " ORDER BY occurred_at"),
            "SELECT alert_id FROM alerts WHERE incident_id = $1 ORDER BY occurred_at"
        ) => sqlx::query_scalar(sql).bind(incident_id).fetch_all(c).await)
    }
}

impl Database {
    /// An incident's alerts in the order they occurred.
    pub async fn incident_alerts(&self, incident_id: &IncidentId) -> Result<Vec<AlertRow>, sqlx::Error> {
        on_backend_sql!(self.reader(), pool, sql = (
            concat!(
                "SELECT body, incident_id, received_at FROM alerts WHERE incident_id = $1 AND ",
                in_its_months!(),
                " ORDER BY occurred_at, alert_id"
            ),
            "SELECT body, incident_id, received_at FROM alerts WHERE incident_id = $1 ORDER BY occurred_at, alert_id"
        ) => sqlx::query_as::<_, AlertRow>(sql).bind(incident_id).fetch_all(pool).await)
    }
}
