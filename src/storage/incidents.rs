//! Incidents. At most one incident per account is live (not resolved or
//! dismissed); a partial unique index enforces it, so concurrent alerts of one
//! account can never open two.

use super::{Database, WriteTx, execute, json, live_incident, not_drill, on_backend, parsed, select_locked};
use crate::domain::alert::Alert;
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{Deadlines, Incident, IncidentStatus, Milestones, Resolution};
use crate::domain::priority::Priority;
use crate::domain::time::Timestamp;

macro_rules! columns {
    () => {
        "id, account_id, status, priority, opened_priority, score, priority_reasons, opened_at, updated_at,
         acknowledge_by, contain_by, acknowledge_breached_at, contain_breached_at, assignee,
         acknowledged_at, contained_at, closed_at, resolution, resolution_note"
    };
}
pub(super) use columns;

super::from_row!(Incident, |row| Ok(Incident {
    id: row.try_get("id")?,
    account_id: row.try_get("account_id")?,
    status: parsed("status", row.try_get("status")?, IncidentStatus::parse)?,
    priority: parsed("priority", row.try_get("priority")?, Priority::parse)?,
    opened_priority: parsed("opened_priority", row.try_get("opened_priority")?, Priority::parse)?,
    score: u32::try_from(row.try_get::<i64, _>("score")?).unwrap_or(0),
    priority_reasons: json("priority_reasons", row.try_get("priority_reasons")?)?,
    opened_at: row.try_get("opened_at")?,
    updated_at: row.try_get("updated_at")?,
    deadlines: Deadlines {
        acknowledge_by: row.try_get("acknowledge_by")?,
        contain_by: row.try_get("contain_by")?
    },
    acknowledge_breached_at: row.try_get("acknowledge_breached_at")?,
    contain_breached_at: row.try_get("contain_breached_at")?,
    assignee: row.try_get("assignee")?,
    acknowledged_at: row.try_get("acknowledged_at")?,
    contained_at: row.try_get("contained_at")?,
    closed_at: row.try_get("closed_at")?,
    resolution: row
        .try_get::<Option<String>, _>("resolution")?
        .map(|text| parsed("resolution", text, Resolution::parse))
        .transpose()?,
    resolution_note: row.try_get("resolution_note")?,
}));

/// An incident in the agents' queue, with its latest alert (what happened, in a few words).
#[derive(Clone, Debug)]
pub struct QueueRow {
    pub incident: Incident,
    pub latest_alert: Option<Alert>,
    /// Since when a holder's message waits for the team's answer (SPEC §13).
    pub unanswered_since: Option<Timestamp>,
}

super::from_row!(QueueRow, |row| Ok(QueueRow {
    incident: sqlx::FromRow::from_row(row)?,
    unanswered_since: row.try_get("unanswered_since")?,
    latest_alert: row
        .try_get::<Option<String>, _>("latest_alert")?
        .map(|body| json("latest_alert", body))
        .transpose()?,
}));

/// Whose incidents the queue shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Claimed {
    #[default]
    Anyone,
    /// Claimed by this agent (a username).
    By(String),
    /// Claimed by nobody yet.
    Nobody,
}

/// Which live incidents to list, most urgent first: priority, then the
/// acknowledge deadline (the order `POST /v1/incidents/next` claims in),
/// then id.
#[derive(Clone, Debug, Default)]
pub struct QueueFilter {
    pub status: Option<IncidentStatus>,
    pub priority: Option<Priority>,
    pub claimed: Claimed,
    /// Only incidents after this one in queue order: the page cursor.
    pub after: Option<QueuePosition>,
    pub limit: i64,
}

/// An incident's place in the queue's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuePosition {
    pub priority: Priority,
    pub acknowledge_by: Timestamp,
    pub id: IncidentId,
}

impl QueuePosition {
    pub fn of(incident: &Incident) -> Self {
        Self {
            priority: incident.priority,
            acknowledge_by: incident.deadlines.acknowledge_by,
            id: incident.id.clone(),
        }
    }
}

/// The outcome of looking for an account's live incident.
pub enum LiveIncident {
    /// The account had none; this one was just inserted.
    Opened(Incident),
    /// The account's live incident, locked until the transaction ends.
    Existing(Incident),
}

/// Which incidents to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct IncidentFilter {
    pub status: Option<IncidentStatus>,
    pub priority: Option<Priority>,
    pub account_id: Option<AccountId>,
    /// Only incidents opened before this one (`opened_at`, `id`): the page cursor.
    pub before: Option<(Timestamp, IncidentId)>,
    pub limit: i64,
}

pub(super) fn reasons_json(incident: &Incident) -> Result<String, sqlx::Error> {
    serde_json::to_string(&incident.priority_reasons).map_err(|e| sqlx::Error::Encode(e.into()))
}

/// An incident's milestone columns and status, as stored.
type StoredMilestones = (Option<Timestamp>, Option<Timestamp>, Option<Timestamp>, String);

impl WriteTx {
    /// Locks one incident for a change.
    pub async fn lock_incident(&mut self, id: &IncidentId) -> Result<Option<Incident>, sqlx::Error> {
        select_locked!(
            self,
            ["SELECT ", columns!(), " FROM incidents WHERE id = $1"],
            "FOR UPDATE",
            |query| query.bind(id),
            fetch_optional
        )
    }

    /// Writes back a locked incident. The response times it reached since it
    /// was last stored are carried to the commit ([`super::Committed`]),
    /// which reports them once the change is durable.
    pub async fn save_incident(&mut self, incident: &Incident) -> Result<(), sqlx::Error> {
        self.note_incident(incident);
        let reasons = reasons_json(incident)?;
        let stored: Option<StoredMilestones> = on_backend!(self.conn(), c => sqlx::query_as(
                "SELECT acknowledged_at, contained_at, closed_at, status FROM incidents WHERE id = $1",
            )
            .bind(&incident.id)
            .fetch_optional(c)
            .await)?;
        if let Some((acknowledged_at, contained_at, closed_at, status)) = stored {
            let before = Milestones {
                acknowledged_at,
                contained_at,
                resolved_at: closed_at.filter(|_| status == IncidentStatus::Resolved.as_str()),
            };
            for reached in incident.response_times_since(&before) {
                self.record(super::Effect::ResponseTimeReached(reached));
            }
        }
        let micros =
            |duration: Option<std::time::Duration>| duration.map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        execute!(
            self.conn(),
            "UPDATE incidents SET status = $2, priority = $3, score = $4, priority_reasons = $5, updated_at = $6,
                    acknowledge_by = $7, contain_by = $8, acknowledge_breached_at = $9, contain_breached_at = $10,
                    assignee = $11, acknowledged_at = $12, contained_at = $13, closed_at = $14, resolution = $15,
                    resolution_note = $16, acknowledge_micros = $17, contain_micros = $18, resolve_micros = $19
             WHERE id = $1",
            &incident.id,
            incident.status.as_str(),
            incident.priority.as_str(),
            i64::from(incident.score),
            &reasons,
            incident.updated_at,
            incident.deadlines.acknowledge_by,
            incident.deadlines.contain_by,
            incident.acknowledge_breached_at,
            incident.contain_breached_at,
            &incident.assignee,
            incident.acknowledged_at,
            incident.contained_at,
            incident.closed_at,
            incident.resolution.map(Resolution::as_str),
            &incident.resolution_note,
            micros(incident.counted_time_to_acknowledge()),
            micros(incident.counted_time_to_contain()),
            micros(incident.counted_time_to_resolve())
        )?;
        Ok(())
    }

    /// Locks up to `limit` incidents that have missed a deadline not yet
    /// recorded. Rows another instance is handling are skipped, not waited for.
    pub async fn lock_overdue_incidents(&mut self, now: Timestamp, limit: i64) -> Result<Vec<Incident>, sqlx::Error> {
        select_locked!(
            self,
            [
                "SELECT ",
                columns!(),
                " FROM incidents
                 WHERE (status = 'open' AND acknowledge_breached_at IS NULL AND acknowledge_by <= $1)
                    OR (status IN ('open', 'acknowledged') AND contain_breached_at IS NULL AND contain_by <= $1)
                 ORDER BY acknowledge_by LIMIT $2"
            ],
            "FOR UPDATE SKIP LOCKED",
            |query| query.bind(now).bind(limit),
            fetch_all
        )
    }

    /// Locks the most urgent unassigned incident still waiting for an agent:
    /// highest priority, then earliest acknowledge deadline. Incidents other
    /// agents are claiming are skipped, so two claims never get the same one.
    pub async fn lock_next_unassigned_incident(&mut self) -> Result<Option<Incident>, sqlx::Error> {
        select_locked!(
            self,
            [
                "SELECT ",
                columns!(),
                " FROM incidents WHERE assignee IS NULL AND ",
                live_incident!(),
                " ORDER BY priority, acknowledge_by, id LIMIT 1"
            ],
            "FOR UPDATE SKIP LOCKED",
            |query| query,
            fetch_optional
        )
    }
}

impl Database {
    pub async fn incident(&self, id: &IncidentId) -> Result<Option<Incident>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(concat!("SELECT ", columns!(), " FROM incidents WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await)
    }

    /// A page of incidents matching `filter`, newest first.
    ///
    /// On PostgreSQL the statement is planned with its parameters each time
    /// (as the queue is), so the filters left out fold away: an account's
    /// incidents come from `incidents_by_account` (migration 0024) however
    /// many closed incidents other accounts have.
    pub async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, sqlx::Error> {
        let (before_at, before_id) = filter.before.clone().unzip();
        on_backend!(self.reader(), pool => sqlx::query_as(concat!(
            "SELECT ", columns!(), " FROM incidents
             WHERE ($1 IS NULL OR status = $1)
               AND ($2 IS NULL OR priority = $2)
               AND ($3 IS NULL OR account_id = $3)
               AND ($4 IS NULL OR opened_at < $4 OR (opened_at = $4 AND id < $5))
             ORDER BY opened_at DESC, id DESC LIMIT $6"
        ))
        .persistent(false)
        .bind(filter.status.map(IncidentStatus::as_str))
        .bind(filter.priority.map(Priority::as_str))
        .bind(filter.account_id.as_ref())
        .bind(before_at)
        .bind(before_id)
        .bind(filter.limit)
        .fetch_all(pool)
        .await)
    }

    /// A page of the agents' queue: live incidents matching `filter`, most
    /// urgent first, each with its latest alert.
    ///
    /// The cursor is a keyset (`priority, acknowledge_by, id` after the last
    /// row shown), never an offset, so a page costs the same however deep it
    /// is. On PostgreSQL the statement is planned with its parameters each
    /// time (not a cached generic plan), so the filters left out fold away
    /// and the cursor becomes a range on `incidents_live_by_urgency`
    /// (migration 0005).
    pub async fn queue(&self, filter: &QueueFilter) -> Result<Vec<QueueRow>, sqlx::Error> {
        let (assignee, unclaimed) = match &filter.claimed {
            Claimed::Anyone => (None, false),
            Claimed::By(username) => (Some(username.as_str()), false),
            Claimed::Nobody => (None, true),
        };
        let after = filter.after.as_ref();
        on_backend!(self.reader(), pool => sqlx::query_as(concat!(
            "SELECT ", columns!(), ",
                    (SELECT a.body FROM alerts a WHERE a.incident_id = incidents.id
                     ORDER BY a.occurred_at DESC, a.alert_id DESC LIMIT 1) AS latest_alert,
                    (SELECT h.unanswered_since FROM holder_cases h WHERE h.incident_id = incidents.id) AS unanswered_since
             FROM incidents
             WHERE ", live_incident!(), "
               AND ($1 IS NULL OR status = $1)
               AND ($2 IS NULL OR priority = $2)
               AND ($3 IS NULL OR assignee = $3)
               AND (NOT $4 OR assignee IS NULL)
               AND ($5 IS NULL OR (priority, acknowledge_by, id) > ($5, $6, $7))
             ORDER BY priority, acknowledge_by, id LIMIT $8"
        ))
        .persistent(false)
        .bind(filter.status.map(IncidentStatus::as_str))
        .bind(filter.priority.map(Priority::as_str))
        .bind(assignee)
        .bind(unclaimed)
        .bind(after.map(|p| p.priority.as_str()))
        .bind(after.map(|p| p.acknowledge_by))
        .bind(after.map(|p| &p.id))
        .bind(filter.limit)
        .fetch_all(pool)
        .await)
    }

    /// How many live incidents there are of each priority (drills' only
    /// `with_drills`: the queue shows them, the gauges never count them), counted up to
    /// `cap` each: the count reads at most `cap` index entries per priority,
    /// so it costs the same with a hundred thousand open incidents.
    pub async fn live_incidents_by_priority(
        &self,
        cap: i64,
        with_drills: bool,
    ) -> Result<Vec<(Priority, i64)>, sqlx::Error> {
        let mut counts = Vec::with_capacity(Priority::ALL.len());
        let mut conn = self.reader_connection().await?;
        for priority in Priority::ALL {
            let count: i64 = on_backend!(conn.as_conn(), c => sqlx::query_scalar(concat!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM incidents WHERE ", live_incident!(), " AND priority = $1
                 AND ($3 OR ", not_drill!(), ") LIMIT $2) AS capped"
            ))
            .bind(priority.as_str())
            .bind(cap)
            .bind(with_drills)
            .fetch_one(c)
            .await)?;
            counts.push((priority, count));
        }
        Ok(counts)
    }

    /// The earliest deadline a live incident has not yet breached, for the
    /// SLA watcher to sleep until then (two reads of the deadlines' partial
    /// indexes, whatever the size of the history).
    pub async fn earliest_sla_deadline(&self) -> Result<Option<Timestamp>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_scalar(
            "SELECT MIN(due) FROM (
                 SELECT MIN(acknowledge_by) AS due FROM incidents
                  WHERE status = 'open' AND acknowledge_breached_at IS NULL
                 UNION ALL
                 SELECT MIN(contain_by) FROM incidents
                  WHERE status IN ('open', 'acknowledged') AND contain_breached_at IS NULL
             ) AS deadlines",
        )
        .fetch_one(pool)
        .await)
    }
}
