//! Playbook runs: storing a run with its steps (each statement in its
//! PostgreSQL form over arrays and its SQLite form beside it), locking,
//! saving and reading runs.
//!
//! Reading steps and approvals back, and recording approvals, is in `steps`.

use sqlx::{PgConnection, SqliteConnection};

use super::{Backend, Database, WriteTx, json, on_backend, parsed, select_locked, unfinished_run};
use crate::domain::ids::{IncidentId, RunId};
use crate::domain::playbook::PlaybookKind;
use crate::domain::run::{Approval, Gate, PlaybookRef, Run, RunStatus, RunStep, StepStatus};
use crate::domain::time::Timestamp;
use crate::platform::trace_context::TraceContext;

mod steps;

use steps::{ChangedSteps, NewSteps, complete, encode};

type Conn<'a> = Backend<&'a mut PgConnection, &'a mut SqliteConnection>;

/// A run's own row, before its steps and approvals are attached.
struct RunRow(Run);

/// A run as the runner locks it, with the trace it was started in.
struct LockedRunRow(Run, Option<String>);

super::from_row!(LockedRunRow, |row| {
    let RunRow(run) = sqlx::FromRow::from_row(row)?;
    Ok(LockedRunRow(run, row.try_get("traceparent")?))
});

super::from_row!(RunRow, |row| Ok(RunRow(Run {
    id: row.try_get("id")?,
    incident_id: row.try_get("incident_id")?,
    playbook: PlaybookRef {
        id: row.try_get("playbook_id")?,
        version: u32::try_from(row.try_get::<i64, _>("playbook_version")?).unwrap_or(0),
        digest: row.try_get("playbook_digest")?,
        kind: parsed("playbook_kind", row.try_get("playbook_kind")?, PlaybookKind::parse)?,
    },
    status: parsed("status", row.try_get("status")?, RunStatus::parse)?,
    started_by: row.try_get("started_by")?,
    started_by_name: row.try_get("started_by_name")?,
    automatic_only: row.try_get("automatic_only")?,
    elevated_at: row.try_get("elevated_at")?,
    created_at: row.try_get("created_at")?,
    updated_at: row.try_get("updated_at")?,
    finished_at: row.try_get("finished_at")?,
    failure: row.try_get("failure")?,
    steps: Vec::new(),
    approvals: Vec::new(),
})));

super::from_row!(RunStep, |row| Ok(RunStep {
    position: u32::try_from(row.try_get::<i32, _>("position")?).unwrap_or(0),
    step: json("definition", row.try_get("definition")?)?,
    status: parsed("status", row.try_get("status")?, StepStatus::parse)?,
    waiting_for: row
        .try_get::<Option<String>, _>("waiting_for")?
        .map(|text| parsed("waiting_for", text, Gate::parse))
        .transpose()?,
    started_at: row.try_get("started_at")?,
    finished_at: row.try_get("finished_at")?,
    outcome: row
        .try_get::<Option<String>, _>("outcome")?
        .map(|text| json("outcome", text))
        .transpose()?,
}));

super::from_row!(Approval, |row| Ok(Approval {
    agent_id: row.try_get("agent_id")?,
    username: row.try_get("username")?,
    approved_at: row.try_get("approved_at")?,
}));

macro_rules! run_columns {
    () => {
        "id, incident_id, playbook_id, playbook_version, playbook_digest, playbook_kind, status, started_by,
         started_by_name, automatic_only, elevated_at, created_at, updated_at, finished_at, failure"
    };
}

impl WriteTx {
    /// Stores a new run in this transaction's trace, which its later steps keep.
    pub async fn insert_run(&mut self, run: &Run) -> Result<(), sqlx::Error> {
        self.record(super::Effect::RunStarted);
        let traceparent = self.stored_trace();
        let mut steps = NewSteps::default();
        for step in &run.steps {
            steps.position.push(step.position as i32);
            steps.name.push(step.step.name.as_str());
            steps.action.push(step.step.action.name());
            steps.definition.push(encode(&step.step)?);
            steps.status.push(step.status.as_str());
        }
        macro_rules! insert_run {
            ($prefix:literal) => {
                sqlx::query(concat!(
                    $prefix,
                    "INSERT INTO runs (id, incident_id, playbook_id, playbook_version, playbook_digest, playbook_kind,
                                       status, started_by, started_by_name, automatic_only, elevated_at, created_at,
                                       updated_at, traceparent)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                ))
                .bind(&run.id)
                .bind(&run.incident_id)
                .bind(&run.playbook.id)
                .bind(i64::from(run.playbook.version))
                .bind(&run.playbook.digest)
                .bind(run.playbook.kind.as_str())
                .bind(run.status.as_str())
                .bind(&run.started_by)
                .bind(&run.started_by_name)
                .bind(run.automatic_only)
                .bind(run.elevated_at)
                .bind(run.created_at)
                .bind(run.updated_at)
                .bind(&traceparent)
            };
        }
        match self.conn() {
            // The run and its steps in one statement.
            Backend::Postgres(c) => {
                insert_run!(
                    "WITH steps AS (
                         INSERT INTO run_steps (run_id, position, name, action, definition, status)
                         SELECT $1, * FROM UNNEST($15::int4[], $16::text[], $17::text[], $18::text[], $19::text[])
                     ) "
                )
                .bind(steps.position)
                .bind(steps.name)
                .bind(steps.action)
                .bind(steps.definition)
                .bind(steps.status)
                .execute(c)
                .await?;
            }
            Backend::Sqlite(c) => {
                insert_run!("").execute(&mut *c).await?;
                if !run.steps.is_empty() {
                    let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                        "INSERT INTO run_steps (run_id, position, name, action, definition, status) ",
                    );
                    query.push_values(0..steps.position.len(), |mut row, i| {
                        row.push_bind(&run.id)
                            .push_bind(steps.position[i])
                            .push_bind(steps.name[i])
                            .push_bind(&steps.action[i])
                            .push_bind(&steps.definition[i])
                            .push_bind(steps.status[i]);
                    });
                    query.build().execute(&mut *c).await?;
                }
            }
        }
        Ok(())
    }

    /// Locks a run for the runner. Lock its incident first: every writer
    /// takes the incident's lock before the run's, so they never deadlock.
    /// A transaction outside any trace (the runner's) continues the run's.
    pub async fn lock_run(&mut self, id: &RunId) -> Result<Option<Run>, sqlx::Error> {
        let row: Option<LockedRunRow> = select_locked!(
            self,
            ["SELECT ", run_columns!(), ", traceparent FROM runs WHERE id = $1"],
            "FOR UPDATE",
            |query| query.bind(id),
            fetch_optional
        )?;
        let Some(LockedRunRow(run, traceparent)) = row else {
            return Ok(None);
        };
        if self.trace().is_none() {
            self.set_trace(traceparent.as_deref().and_then(TraceContext::parse));
        }
        let mut runs = [run];
        complete(self.conn(), &mut runs).await?;
        let [run] = runs;
        Ok(Some(run))
    }

    /// Writes back a locked run and every step whose state changed.
    pub async fn save_run(&mut self, run: &Run, before: &Run) -> Result<(), sqlx::Error> {
        let mut changed = ChangedSteps::default();
        for step in run.steps.iter().filter(|step| !before.steps.contains(step)) {
            changed.position.push(step.position as i32);
            changed.status.push(step.status.as_str());
            changed.waiting_for.push(step.waiting_for.map(Gate::as_str));
            changed.started_at.push(step.started_at);
            changed.finished_at.push(step.finished_at);
            changed.outcome.push(step.outcome.as_ref().map(encode).transpose()?);
        }
        macro_rules! update_run {
            ($prefix:literal) => {
                sqlx::query(concat!(
                    $prefix,
                    "UPDATE runs SET status = $2, elevated_at = $3, updated_at = $4, finished_at = $5, failure = $6
                     WHERE id = $1"
                ))
                .bind(&run.id)
                .bind(run.status.as_str())
                .bind(run.elevated_at)
                .bind(run.updated_at)
                .bind(run.finished_at)
                .bind(&run.failure)
            };
        }
        match self.conn() {
            // The run and its changed steps in one statement.
            Backend::Postgres(c) => {
                update_run!(
                    "WITH steps AS (
                         UPDATE run_steps AS s SET status = u.status, waiting_for = u.waiting_for,
                                started_at = u.started_at, finished_at = u.finished_at, outcome = u.outcome
                         FROM UNNEST($7::int4[], $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::text[])
                              AS u(position, status, waiting_for, started_at, finished_at, outcome)
                         WHERE s.run_id = $1 AND s.position = u.position
                     ) "
                )
                .bind(changed.position)
                .bind(changed.status)
                .bind(changed.waiting_for)
                .bind(changed.started_at)
                .bind(changed.finished_at)
                .bind(changed.outcome)
                .execute(c)
                .await?;
            }
            Backend::Sqlite(c) => {
                update_run!("").execute(&mut *c).await?;
                for i in 0..changed.position.len() {
                    sqlx::query(
                        "UPDATE run_steps SET status = $3, waiting_for = $4, started_at = $5, finished_at = $6, outcome = $7
                         WHERE run_id = $1 AND position = $2",
                    )
                    .bind(&run.id)
                    .bind(changed.position[i])
                    .bind(changed.status[i])
                    .bind(changed.waiting_for[i])
                    .bind(changed.started_at[i])
                    .bind(changed.finished_at[i])
                    .bind(changed.outcome[i].as_deref())
                    .execute(&mut *c)
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// The unfinished run of `playbook_id` on the incident, if there is one.
    pub async fn unfinished_run(
        &mut self,
        incident_id: &IncidentId,
        playbook_id: &str,
    ) -> Result<Option<RunId>, sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query_scalar(
            concat!("SELECT id FROM runs WHERE incident_id = $1 AND playbook_id = $2 AND ", unfinished_run!(), " LIMIT 1"),
        )
        .bind(incident_id)
        .bind(playbook_id)
        .fetch_optional(c)
        .await)
    }
}

impl Database {
    pub async fn run(&self, id: &RunId) -> Result<Option<Run>, sqlx::Error> {
        let mut conn = self.reader_connection().await?;
        let row: Option<RunRow> = on_backend!(conn.as_conn(), c => sqlx::query_as(concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1"))
            .bind(id)
            .fetch_optional(c)
            .await?);
        let mut runs: Vec<Run> = row.into_iter().map(|RunRow(run)| run).collect();
        complete(conn.as_conn(), &mut runs).await?;
        Ok(runs.pop())
    }

    /// Which of `ids` are runs not yet finished, each with its incident: one
    /// statement for a batch of runs the runner was woken for.
    pub async fn unfinished_runs_among(&self, ids: &[RunId]) -> Result<Vec<(RunId, IncidentId)>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        match self.reader() {
            Backend::Postgres(pool) => {
                sqlx::query_as(concat!(
                    "SELECT id, incident_id FROM runs WHERE id = ANY($1) AND ",
                    unfinished_run!()
                ))
                .bind(ids)
                .fetch_all(pool)
                .await
            }
            Backend::Sqlite(pool) => {
                let ids = serde_json::to_string(ids).map_err(|e| sqlx::Error::Encode(e.into()))?;
                sqlx::query_as(concat!(
                    "SELECT id, incident_id FROM runs WHERE id IN (SELECT value FROM json_each($1)) AND ",
                    unfinished_run!()
                ))
                .bind(ids)
                .fetch_all(pool)
                .await
            }
        }
    }

    /// An incident's runs, oldest first.
    pub async fn incident_runs(&self, incident_id: &IncidentId) -> Result<Vec<Run>, sqlx::Error> {
        let mut conn = self.reader_connection().await?;
        let rows: Vec<RunRow> = on_backend!(conn.as_conn(), c => sqlx::query_as(concat!(
            "SELECT ", run_columns!(), " FROM runs WHERE incident_id = $1 ORDER BY created_at, id"
        ))
        .bind(incident_id)
        .fetch_all(c)
        .await?);
        let mut runs: Vec<Run> = rows.into_iter().map(|RunRow(run)| run).collect();
        complete(conn.as_conn(), &mut runs).await?;
        Ok(runs)
    }

    /// Runs confirming an effect (`running`), oldest change first: after a
    /// restart, these are the runs to pick up again.
    pub async fn runs_in_progress(
        &self,
        older_than: Timestamp,
        limit: i64,
    ) -> Result<Vec<(RunId, IncidentId)>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            "SELECT id, incident_id FROM runs WHERE status = 'running' AND updated_at <= $1 ORDER BY updated_at LIMIT $2",
        )
        .bind(older_than)
        .bind(limit)
        .fetch_all(pool)
        .await)
    }

    /// When the run in progress that moved longest ago last moved.
    pub async fn earliest_run_in_progress(&self) -> Result<Option<Timestamp>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_scalar(
            "SELECT MIN(updated_at) FROM runs WHERE status = 'running'",
        )
        .fetch_one(pool)
        .await)
    }
}
