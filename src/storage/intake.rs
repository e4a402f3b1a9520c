//! The intake batch's statements: a few per batch, not a few per alert.
//!
//! On PostgreSQL each step is one statement over arrays (`UNNEST`), so a
//! batch of 64 alerts costs about as many round trips as a batch of one. On
//! SQLite the inserts and look-ups are multi-row statements (each statement
//! is a hand-off to the connection's thread); the reads by incident loop.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite};

use super::incidents::{columns, reasons_json};
use super::{Backend, WriteTx, json, live_incident};
use crate::domain::alert::Alert;
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{Incident, Milestones, Resolution};
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

    /// For each candidate (one per account, in account order), inserts it as
    /// the account's live incident unless the account has one, in which case
    /// that one is locked and returned. Rows are inserted and locked in
    /// account order, so concurrent batches cannot deadlock each other here.
    pub async fn open_or_lock_live_incidents(
        &mut self,
        mut candidates: Vec<Incident>,
    ) -> Result<Vec<super::LiveIncident>, sqlx::Error> {
        use super::LiveIncident;
        candidates.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        let mut found: Vec<LiveIncident> = Vec::with_capacity(candidates.len());
        // A live incident may close between the insert and the lock: those
        // accounts go round again.
        while !candidates.is_empty() {
            let opened = self.insert_incidents(&candidates).await?;
            let (new, others): (Vec<Incident>, Vec<Incident>) =
                candidates.into_iter().partition(|c| opened.contains(&c.id));
            found.extend(new.into_iter().map(LiveIncident::Opened));
            let accounts: Vec<AccountId> = others.iter().map(|c| c.account_id.clone()).collect();
            let existing = self.lock_live_incidents(&accounts).await?;
            candidates = others
                .into_iter()
                .filter(|c| !existing.iter().any(|e| e.account_id == c.account_id))
                .collect();
            found.extend(existing.into_iter().map(LiveIncident::Existing));
        }
        Ok(found)
    }

    /// Inserts the candidates whose accounts have no live incident; returns their ids.
    pub(super) async fn insert_incidents(&mut self, candidates: &[Incident]) -> Result<Vec<IncidentId>, sqlx::Error> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let reasons = candidates.iter().map(reasons_json).collect::<Result<Vec<_>, _>>()?;
        let inserted: Vec<IncidentId> = match self.conn() {
            Backend::Postgres(c) => {
                let column = |f: fn(&Incident) -> String| candidates.iter().map(f).collect::<Vec<_>>();
                let time = |f: fn(&Incident) -> Timestamp| candidates.iter().map(f).collect::<Vec<_>>();
                sqlx::query_scalar(concat!(
                    "INSERT INTO incidents (id, account_id, status, priority, score, priority_reasons, opened_at, updated_at,
                                            acknowledge_by, contain_by, opened_priority)
                     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[],
                                          $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[],
                                          $11::text[])
                     ON CONFLICT (account_id) WHERE ",
                    live_incident!(),
                    " DO NOTHING RETURNING id",
                ))
                .bind(column(|i| i.id.to_string()))
                .bind(column(|i| i.account_id.to_string()))
                .bind(column(|i| i.status.as_str().to_owned()))
                .bind(column(|i| i.priority.as_str().to_owned()))
                .bind(candidates.iter().map(|i| i64::from(i.score)).collect::<Vec<_>>())
                .bind(&reasons)
                .bind(time(|i| i.opened_at))
                .bind(time(|i| i.updated_at))
                .bind(time(|i| i.deadlines.acknowledge_by))
                .bind(time(|i| i.deadlines.contain_by))
                .bind(column(|i| i.opened_priority.as_str().to_owned()))
                .fetch_all(c)
                .await
            }
            Backend::Sqlite(c) => {
                let mut query = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO incidents (id, account_id, status, priority, score, priority_reasons, opened_at,
                                            updated_at, acknowledge_by, contain_by, opened_priority) ",
                );
                query.push_values(candidates.iter().zip(&reasons), |mut row, (candidate, reasons)| {
                    row.push_bind(candidate.id.to_string())
                        .push_bind(candidate.account_id.as_str())
                        .push_bind(candidate.status.as_str())
                        .push_bind(candidate.priority.as_str())
                        .push_bind(i64::from(candidate.score))
                        .push_bind(reasons.as_str())
                        .push_bind(candidate.opened_at)
                        .push_bind(candidate.updated_at)
                        .push_bind(candidate.deadlines.acknowledge_by)
                        .push_bind(candidate.deadlines.contain_by)
                        .push_bind(candidate.opened_priority.as_str());
                });
                query.push(concat!(
                    " ON CONFLICT (account_id) WHERE ",
                    live_incident!(),
                    " DO NOTHING RETURNING id"
                ));
                query.build_query_scalar().fetch_all(c).await
            }
        }?;
        for candidate in candidates.iter().filter(|c| inserted.contains(&c.id)) {
            self.note_incident(candidate);
        }
        Ok(inserted)
    }

    /// Locks the live incidents of `accounts`, in account order.
    pub(super) async fn lock_live_incidents(&mut self, accounts: &[AccountId]) -> Result<Vec<Incident>, sqlx::Error> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        match self.conn() {
            Backend::Postgres(c) => {
                sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM incidents WHERE account_id = ANY($1) AND ",
                    live_incident!(),
                    " ORDER BY account_id FOR UPDATE"
                ))
                .bind(accounts)
                .fetch_all(c)
                .await
            }
            Backend::Sqlite(c) => {
                let mut locked = Vec::new();
                for account in accounts {
                    let incident = sqlx::query_as(concat!(
                        "SELECT ",
                        columns!(),
                        " FROM incidents WHERE account_id = $1 AND ",
                        live_incident!()
                    ))
                    .bind(account)
                    .fetch_optional(&mut *c)
                    .await?;
                    locked.extend(incident);
                }
                Ok(locked)
            }
        }
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
                    "SELECT w.incident_id, a.body
                     FROM UNNEST($1::text[], $2::timestamptz[], $3::timestamptz[]) AS w(incident_id, from_at, until_at)
                     CROSS JOIN LATERAL (
                         SELECT body FROM alerts
                         WHERE incident_id = w.incident_id AND occurred_at BETWEEN w.from_at AND w.until_at
                         ORDER BY occurred_at DESC LIMIT $4
                     ) AS a",
                )
                .bind(windows.iter().map(|w| w.incident_id.to_string()).collect::<Vec<_>>())
                .bind(windows.iter().map(|w| w.from).collect::<Vec<_>>())
                .bind(windows.iter().map(|w| w.until).collect::<Vec<_>>())
                .bind(limit)
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

    /// Writes back locked incidents, each with the milestones it had when
    /// it was locked (so the response times it reached are reported once).
    pub async fn save_incidents(&mut self, incidents: &[(&Incident, Milestones)]) -> Result<(), sqlx::Error> {
        if incidents.is_empty() {
            return Ok(());
        }
        if let Backend::Sqlite(_) = self.conn() {
            for (incident, _) in incidents {
                self.save_incident(incident).await?;
            }
            return Ok(());
        }
        for (incident, before) in incidents {
            let reached = incident.response_times_since(before);
            for reached in reached {
                self.record(super::Effect::ResponseTimeReached(reached));
            }
            self.note_incident(incident);
        }
        let incidents: Vec<&Incident> = incidents.iter().map(|(incident, _)| *incident).collect();
        let reasons = incidents
            .iter()
            .map(|i| reasons_json(i))
            .collect::<Result<Vec<_>, _>>()?;
        let text = |f: fn(&Incident) -> Option<String>| incidents.iter().map(|i| f(i)).collect::<Vec<_>>();
        let time = |f: fn(&Incident) -> Option<Timestamp>| incidents.iter().map(|i| f(i)).collect::<Vec<_>>();
        let micros = |f: fn(&Incident) -> Option<std::time::Duration>| {
            incidents
                .iter()
                .map(|i| f(i).map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX)))
                .collect::<Vec<_>>()
        };
        let Backend::Postgres(c) = self.conn() else {
            unreachable!("SQLite saved above")
        };
        sqlx::query(
            "UPDATE incidents SET status = u.status, priority = u.priority, score = u.score,
                    priority_reasons = u.priority_reasons, updated_at = u.updated_at,
                    acknowledge_by = u.acknowledge_by, contain_by = u.contain_by,
                    acknowledge_breached_at = u.acknowledge_breached_at, contain_breached_at = u.contain_breached_at,
                    assignee = u.assignee, acknowledged_at = u.acknowledged_at, contained_at = u.contained_at,
                    closed_at = u.closed_at, resolution = u.resolution, resolution_note = u.resolution_note,
                    acknowledge_micros = u.acknowledge_micros, contain_micros = u.contain_micros
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::timestamptz[],
                         $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::text[],
                         $12::timestamptz[], $13::timestamptz[], $14::timestamptz[], $15::text[], $16::text[],
                         $17::int8[], $18::int8[])
                  AS u(id, status, priority, score, priority_reasons, updated_at, acknowledge_by, contain_by,
                       acknowledge_breached_at, contain_breached_at, assignee, acknowledged_at, contained_at,
                       closed_at, resolution, resolution_note, acknowledge_micros, contain_micros)
             WHERE incidents.id = u.id",
        )
        .bind(text(|i| Some(i.id.to_string())))
        .bind(text(|i| Some(i.status.as_str().to_owned())))
        .bind(text(|i| Some(i.priority.as_str().to_owned())))
        .bind(incidents.iter().map(|i| i64::from(i.score)).collect::<Vec<_>>())
        .bind(&reasons)
        .bind(time(|i| Some(i.updated_at)))
        .bind(time(|i| Some(i.deadlines.acknowledge_by)))
        .bind(time(|i| Some(i.deadlines.contain_by)))
        .bind(time(|i| i.acknowledge_breached_at))
        .bind(time(|i| i.contain_breached_at))
        .bind(text(|i| i.assignee.clone()))
        .bind(time(|i| i.acknowledged_at))
        .bind(time(|i| i.contained_at))
        .bind(time(|i| i.closed_at))
        .bind(text(|i| i.resolution.map(|r: Resolution| r.as_str().to_owned())))
        .bind(text(|i| i.resolution_note.clone()))
        .bind(micros(Incident::counted_time_to_acknowledge))
        .bind(micros(Incident::counted_time_to_contain))
        .execute(c)
        .await?;
        Ok(())
    }

    /// Incidents by id, read (not locked): what a repeated alert is answered with.
    pub async fn incidents_by_id(&mut self, ids: &[IncidentId]) -> Result<Vec<Incident>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        match self.conn() {
            Backend::Postgres(c) => {
                sqlx::query_as(concat!("SELECT ", columns!(), " FROM incidents WHERE id = ANY($1)"))
                    .bind(ids.iter().map(|id| id.to_string()).collect::<Vec<_>>())
                    .fetch_all(c)
                    .await
            }
            Backend::Sqlite(c) => {
                let mut found = Vec::new();
                for id in ids {
                    let incident = sqlx::query_as(concat!("SELECT ", columns!(), " FROM incidents WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&mut *c)
                        .await?;
                    found.extend(incident);
                }
                Ok(found)
            }
        }
    }
}
