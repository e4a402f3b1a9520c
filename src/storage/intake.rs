//! The intake batch's statements: a few per batch, not a few per alert.
//!
//! On PostgreSQL each step is one statement over arrays (`UNNEST`), so a
//! batch of 64 alerts costs about as many round trips as a batch of one. On
//! SQLite the inserts and look-ups are multi-row statements (each statement
//! is a hand-off to the connection's thread); the reads by incident loop.

use sqlx::{QueryBuilder, Sqlite};

use super::incidents::{columns, reasons_json};
use super::{Backend, WriteTx, live_incident};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{Incident, Milestones, Resolution};
use crate::domain::time::Timestamp;

mod alerts;

pub use alerts::CorrelationWindow;

impl WriteTx {
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
