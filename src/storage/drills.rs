//! Drills' incidents, found by their accounts' names (`drill-<id>-…`).

use super::incidents::columns;
use super::{Database, WriteTx, live_incident, on_backend, select_locked};
use crate::domain::drill::{ACCOUNT_PREFIX, DrillId};
use crate::domain::incident::Incident;
use crate::domain::time::Timestamp;

impl Database {
    /// A drill's incidents, in the order they opened.
    pub async fn drill_incidents(&self, drill: &DrillId) -> Result<Vec<Incident>, sqlx::Error> {
        // A drill id is letters and digits only: nothing in it is a LIKE wildcard.
        let pattern = format!("{}%", drill.account_prefix());
        on_backend!(self.reader(), pool => sqlx::query_as(concat!(
            "SELECT ", columns!(), " FROM incidents WHERE account_id LIKE $1 ORDER BY opened_at, id"
        ))
        .bind(&pattern)
        .fetch_all(pool)
        .await)
    }
}

impl WriteTx {
    /// Locks up to `limit` live drill incidents opened before
    /// `opened_before`: one drill's when `drill` is given, else any drill's.
    /// Rows another instance is closing are skipped.
    pub async fn lock_live_drill_incidents(
        &mut self,
        drill: Option<&DrillId>,
        opened_before: Timestamp,
        limit: i64,
    ) -> Result<Vec<Incident>, sqlx::Error> {
        let pattern = match drill {
            Some(drill) => format!("{}%", drill.account_prefix()),
            None => format!("{ACCOUNT_PREFIX}%"),
        };
        select_locked!(
            self,
            [
                "SELECT ",
                columns!(),
                " FROM incidents WHERE account_id LIKE $1 AND opened_at < $2 AND ",
                live_incident!(),
                " ORDER BY opened_at, id LIMIT $3"
            ],
            "FOR UPDATE SKIP LOCKED",
            |query| query.bind(&pattern).bind(opened_before).bind(limit),
            fetch_all
        )
    }
}
