//! The intake batch's alerts: which are stored already (retries), storing
//! new ones attached to their incidents with their bodiless records, and
//! reading the earlier alerts a correlation rule looks at.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite};

use super::super::{Backend, WriteTx, json};
use crate::domain::alert::{Alert, MAX_FUTURE_OCCURRED_AT};
use crate::domain::ids::IncidentId;
use crate::domain::time::Timestamp;

/// The earlier alerts of one incident that a correlation rule may look at.
pub struct CorrelationWindow {
    pub incident_id: IncidentId,
    pub from: Timestamp,
    pub until: Timestamp,
}

impl WriteTx {
    /// The incidents of alerts already stored under any of `alert_ids`.
    pub async fn stored_alerts(&mut self, alert_ids: &[String]) -> Result<HashMap<String, IncidentId>, sqlx::Error> {
        if alert_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, Option<IncidentId>)> = match self.conn() {
            Backend::Postgres(c) => {
                sqlx::query_as("SELECT alert_id, incident_id FROM alert_records WHERE alert_id = ANY($1)")
                    .bind(alert_ids)
                    .fetch_all(c)
                    .await?
            }
            Backend::Sqlite(c) => {
                let mut query =
                    QueryBuilder::<Sqlite>::new("SELECT alert_id, incident_id FROM alert_records WHERE alert_id IN (");
                let mut ids = query.separated(", ");
                for id in alert_ids {
                    ids.push_bind(id.as_str());
                }
                query.push(")");
                query.build_query_as().fetch_all(c).await?
            }
        };
        rows.into_iter()
            .map(|(alert_id, incident_id)| {
                let incident_id =
                    incident_id.ok_or_else(|| sqlx::Error::Protocol("a committed alert has no incident".into()))?;
                Ok((alert_id, incident_id))
            })
            .collect()
    }

    /// Stores new alerts, each attached to its incident. Returns the ids of
    /// those stored: an alert missing from the answer was stored meanwhile by
    /// another transaction (a retry racing its original).
    pub async fn insert_attached_alerts(
        &mut self,
        alerts: &[(&Alert, &IncidentId)],
        received_at: Timestamp,
    ) -> Result<Vec<String>, sqlx::Error> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let bodies = alerts
            .iter()
            .map(|(alert, _)| serde_json::to_string(alert))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| sqlx::Error::Encode(e.into()))?;
        let summaries: Vec<String> = alerts.iter().map(|(alert, _)| alert.summary()).collect();
        match self.conn() {
            Backend::Postgres(c) => {
                // The partitioned `alerts` cannot hold a unique index on
                // `alert_id` alone, so its bodiless record is the one that
                // meets a retry; the body goes in only for records inserted.
                let column = |f: fn(&Alert) -> String| alerts.iter().map(|(a, _)| f(a)).collect::<Vec<_>>();
                sqlx::query_scalar(
                    "WITH a AS (
                         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[], $6::text[], $7::text[], $8::text[])
                              AS a(alert_id, account_id, kind, occurred_at, incident_id, body, summary)
                     ), recorded AS (
                         INSERT INTO alert_records (alert_id, incident_id, occurred_at, received_at, summary)
                         SELECT alert_id, incident_id, occurred_at, $5, summary FROM a
                         ON CONFLICT (alert_id) DO NOTHING RETURNING alert_id
                     )
                     INSERT INTO alerts (alert_id, account_id, kind, occurred_at, received_at, incident_id, body, retained_from)
                     SELECT a.alert_id, a.account_id, a.kind, a.occurred_at, $5, a.incident_id, a.body, $5
                     FROM a JOIN recorded USING (alert_id)
                     RETURNING alert_id",
                )
                .bind(column(|a| a.alert_id.to_string()))
                .bind(column(|a| a.account_id.to_string()))
                .bind(column(|a| a.kind.as_str().to_owned()))
                .bind(alerts.iter().map(|(a, _)| a.occurred_at).collect::<Vec<_>>())
                .bind(received_at)
                .bind(alerts.iter().map(|(_, i)| i.to_string()).collect::<Vec<_>>())
                .bind(&bodies)
                .bind(&summaries)
                .fetch_all(c)
                .await
            }
            Backend::Sqlite(c) => {
                let mut query = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO alerts (alert_id, account_id, kind, occurred_at, received_at, incident_id, body, retained_from) ",
                );
                query.push_values(alerts.iter().zip(&bodies), |mut row, ((alert, incident_id), body)| {
                    row.push_bind(alert.alert_id.as_str())
                        .push_bind(alert.account_id.as_str())
                        .push_bind(alert.kind.as_str())
                        .push_bind(alert.occurred_at)
                        .push_bind(received_at)
                        .push_bind(incident_id.to_string())
                        .push_bind(body.as_str())
                        .push_bind(received_at);
                });
                query.push(" ON CONFLICT (alert_id) DO NOTHING RETURNING alert_id");
                let stored: Vec<String> = query.build_query_scalar().fetch_all(&mut *c).await?;
                let mut records = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO alert_records (alert_id, incident_id, occurred_at, received_at, summary) ",
                );
                let fresh = alerts
                    .iter()
                    .zip(&summaries)
                    .filter(|((alert, _), _)| stored.iter().any(|id| id == alert.alert_id.as_str()));
                let mut any = false;
                records.push_values(fresh, |mut row, ((alert, incident_id), summary)| {
                    any = true;
                    row.push_bind(alert.alert_id.as_str())
                        .push_bind(incident_id.to_string())
                        .push_bind(alert.occurred_at)
                        .push_bind(received_at)
                        .push_bind(summary.as_str());
                });
                if any {
                    records.build().execute(c).await?;
                }
                Ok(stored)
            }
        }
    }

    /// Each window's alerts, newest first, at most `limit` per incident.
    pub async fn alerts_in_windows(
        &mut self,
        windows: &[CorrelationWindow],
        limit: i64,
    ) -> Result<HashMap<IncidentId, Vec<Alert>>, sqlx::Error> {
        let rows: Vec<(IncidentId, String)> = match self.conn() {
            Backend::Postgres(c) => {
                sqlx::query_as(
                    // An alert is retained from its arrival or later, and
                    // arrived at most MAX_FUTURE_OCCURRED_AT before it
                    // occurred: `kept_from` lets each window read only the
                    // months it can be in (pruned as the statement runs).
                    "SELECT w.incident_id, a.body
                     FROM UNNEST($1::text[], $2::timestamptz[], $3::timestamptz[], $5::timestamptz[])
                         AS w(incident_id, from_at, until_at, kept_from)
                     CROSS JOIN LATERAL (
                         SELECT body FROM alerts
                         WHERE incident_id = w.incident_id AND occurred_at BETWEEN w.from_at AND w.until_at
                           AND retained_from >= w.kept_from
                         ORDER BY occurred_at DESC LIMIT $4
                     ) AS a",
                )
                .bind(windows.iter().map(|w| w.incident_id.to_string()).collect::<Vec<_>>())
                .bind(windows.iter().map(|w| w.from).collect::<Vec<_>>())
                .bind(windows.iter().map(|w| w.until).collect::<Vec<_>>())
                .bind(limit)
                .bind(
                    windows
                        .iter()
                        .map(|w| w.from.minus(MAX_FUTURE_OCCURRED_AT))
                        .collect::<Vec<_>>(),
                )
                .fetch_all(c)
                .await?
            }
            Backend::Sqlite(c) => {
                let mut rows = Vec::new();
                for window in windows {
                    let bodies: Vec<String> = sqlx::query_scalar(
                        "SELECT body FROM alerts
                         WHERE incident_id = $1 AND occurred_at BETWEEN $2 AND $3
                         ORDER BY occurred_at DESC LIMIT $4",
                    )
                    .bind(&window.incident_id)
                    .bind(window.from)
                    .bind(window.until)
                    .bind(limit)
                    .fetch_all(&mut *c)
                    .await?;
                    rows.extend(bodies.into_iter().map(|body| (window.incident_id.clone(), body)));
                }
                rows
            }
        };
        let mut by_incident: HashMap<IncidentId, Vec<Alert>> = HashMap::new();
        for (incident_id, body) in rows {
            by_incident.entry(incident_id).or_default().push(json("body", body)?);
        }
        Ok(by_incident)
    }
}
