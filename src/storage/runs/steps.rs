//! A run's steps and approvals: attaching them to runs read back, the
//! columns a run's steps are written as, and recording an approval.

use super::*;

/// A step with the run it belongs to.
struct StepOf(RunId, RunStep);

super::super::from_row!(StepOf, |row| Ok(StepOf(
    row.try_get("run_id")?,
    sqlx::FromRow::from_row(row)?
)));

/// An approval with the run it belongs to.
struct ApprovalOf(RunId, Approval);

super::super::from_row!(ApprovalOf, |row| Ok(ApprovalOf(
    row.try_get("run_id")?,
    sqlx::FromRow::from_row(row)?
)));

/// Attaches their steps and approvals to runs: two statements however many.
pub(super) async fn complete(conn: Conn<'_>, runs: &mut [Run]) -> Result<(), sqlx::Error> {
    if runs.is_empty() {
        return Ok(());
    }
    let ids: Vec<&RunId> = runs.iter().map(|run| &run.id).collect();
    macro_rules! read {
        ($c:expr, $among:literal, $ids:expr) => {{
            let steps: Vec<StepOf> = sqlx::query_as(concat!(
                "SELECT run_id, position, definition, status, waiting_for, started_at, finished_at, outcome
                 FROM run_steps WHERE run_id ",
                $among,
                " ORDER BY run_id, position"
            ))
            .bind($ids)
            .fetch_all(&mut *$c)
            .await?;
            let approvals: Vec<ApprovalOf> = sqlx::query_as(concat!(
                "SELECT run_id, agent_id, username, approved_at FROM run_approvals WHERE run_id ",
                $among,
                " ORDER BY run_id, approved_at"
            ))
            .bind($ids)
            .fetch_all(&mut *$c)
            .await?;
            (steps, approvals)
        }};
    }
    let (steps, approvals) = match conn {
        Backend::Postgres(c) => read!(c, "= ANY($1)", &ids),
        Backend::Sqlite(c) => {
            let ids = serde_json::to_string(&ids).map_err(|e| sqlx::Error::Encode(e.into()))?;
            read!(c, "IN (SELECT value FROM json_each($1))", &ids)
        }
    };
    let at: std::collections::HashMap<RunId, usize> =
        runs.iter().enumerate().map(|(i, run)| (run.id.clone(), i)).collect();
    for StepOf(run_id, step) in steps {
        if let Some(&i) = at.get(&run_id) {
            runs[i].steps.push(step);
        }
    }
    for ApprovalOf(run_id, approval) in approvals {
        if let Some(&i) = at.get(&run_id) {
            runs[i].approvals.push(approval);
        }
    }
    Ok(())
}

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<String, sqlx::Error> {
    serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(e.into()))
}

/// A new run's steps, as columns.
#[derive(Default)]
pub(super) struct NewSteps<'a> {
    pub(super) position: Vec<i32>,
    pub(super) name: Vec<&'a str>,
    pub(super) action: Vec<String>,
    pub(super) definition: Vec<String>,
    pub(super) status: Vec<&'a str>,
}

/// The steps a change to a run changed, as columns.
#[derive(Default)]
pub(super) struct ChangedSteps<'a> {
    pub(super) position: Vec<i32>,
    pub(super) status: Vec<&'a str>,
    pub(super) waiting_for: Vec<Option<&'a str>>,
    pub(super) started_at: Vec<Option<Timestamp>>,
    pub(super) finished_at: Vec<Option<Timestamp>>,
    pub(super) outcome: Vec<Option<String>>,
}

impl WriteTx {
    /// Records an approval; false when this agent already approved the run.
    pub async fn insert_approval(&mut self, run_id: &RunId, approval: &Approval) -> Result<bool, sqlx::Error> {
        let inserted = on_backend!(self.conn(), c => sqlx::query(
            "INSERT INTO run_approvals (run_id, agent_id, username, approved_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (run_id, agent_id) DO NOTHING",
        )
        .bind(run_id)
        .bind(&approval.agent_id)
        .bind(&approval.username)
        .bind(approval.approved_at)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(inserted == 1)
    }
}
