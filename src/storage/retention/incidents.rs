//! Retention of incidents (SPEC §15, `HOLDFAST_RETENTION_INCIDENTS`): an
//! incident closed longer ago than its limit goes, with every row that
//! belongs to it, once nothing keeps it any more.
//!
//! Incidents are not partitioned like the tables of `months`: many tables
//! reference them by foreign key (holds, runs, flows, case links, legal
//! holds, campaign links, …), and a key referencing a partitioned table
//! must include its partition key, so every one of those rows would carry
//! the incident's month; yet the month an incident expires by (when it
//! closed) is not known while it is live. They are removed by id instead,
//! a batch of incidents per transaction, on both backends.
//!
//! Nothing of an incident goes while any of these holds:
//! - it is live, under legal hold, or released from one less than
//!   [`super::RELEASE_GRACE`] ago;
//! - an entry of its timeline is still in the live audit log: the log
//!   leaves only through `holdfast audit archive`, so an incident never
//!   goes before its timeline has been archived;
//! - one of its holds is still in force (a freeze kept after the incident
//!   closed): removing it would lift the hold with no one deciding so.

use super::super::{Backend, Database, on_backend, select_locked};
use super::locked;
use crate::domain::time::Timestamp;

/// Incidents removed per transaction: their rows span a dozen tables, and
/// SQLite's one writer must not be held for long.
const BATCH: usize = 100;

/// Removes what belongs to the incident `$1`, children before parents so
/// every foreign key holds at each step. In the partitioned tables
/// (alerts, sightings, messages, deliveries) there is normally nothing left: their
/// months were dropped long before; what remains was carried forward while
/// the incident was protected, into months not yet past their limit.
const REMOVE_ONE: [&str; 17] = [
    "DELETE FROM run_steps WHERE run_id IN (SELECT id FROM runs WHERE incident_id = $1)",
    "DELETE FROM run_approvals WHERE run_id IN (SELECT id FROM runs WHERE incident_id = $1)",
    "DELETE FROM runs WHERE incident_id = $1",
    // By account first: failures are indexed by account, not by flow.
    "DELETE FROM unfreeze_failures WHERE account_id = (SELECT account_id FROM incidents WHERE id = $1)
     AND flow_id IN (SELECT id FROM unfreeze_flows WHERE incident_id = $1)",
    "DELETE FROM unfreeze_flows WHERE incident_id = $1",
    "DELETE FROM holds WHERE incident_id = $1",
    "DELETE FROM case_messages WHERE incident_id = $1",
    "DELETE FROM outbox_delivered WHERE incident_id = $1",
    // Only what waits or was given up on: a small table.
    "DELETE FROM outbox WHERE incident_id = $1",
    "DELETE FROM case_tokens WHERE incident_id = $1",
    "DELETE FROM holder_cases WHERE incident_id = $1",
    "DELETE FROM campaign_incidents WHERE incident_id = $1",
    "DELETE FROM campaign_signals WHERE incident_id = $1",
    "DELETE FROM alerts WHERE incident_id = $1",
    "DELETE FROM alert_records WHERE incident_id = $1",
    "DELETE FROM legal_holds WHERE incident_id = $1",
    "DELETE FROM incidents WHERE id = $1",
];

impl Database {
    /// Removes the incidents closed before `closed_before` that nothing
    /// keeps (see the module's doc; `released_before` ends the grace after
    /// a legal hold, `now` tells holds in force), oldest first, a batch per
    /// transaction. Returns how many went; stops early when another
    /// instance holds the retention lock.
    pub(super) async fn expire_incidents(
        &self,
        closed_before: Timestamp,
        released_before: Timestamp,
        now: Timestamp,
    ) -> Result<u64, sqlx::Error> {
        let mut removed = 0;
        // Where the last batch ended: incidents passed over (their timeline
        // still live, say) are not read again by every later batch.
        let epoch = Timestamp::from_unix_seconds(0).expect("the Unix epoch is a timestamp");
        let mut after = (String::new(), epoch);
        loop {
            let mut tx = self.begin().await?;
            if let Backend::Postgres(c) = tx.conn()
                && !locked(c).await?
            {
                return Ok(removed);
            }
            let batch: Vec<(String, Timestamp)> = select_locked!(
                tx,
                [
                    "SELECT id, closed_at FROM incidents WHERE status IN ('resolved', 'dismissed')
                     AND closed_at < $1 AND (closed_at, id) > ($4, $5)
                     AND id NOT IN (",
                    held_incidents!(),
                    ") AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.incident_id = incidents.id)
                     AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.incident_id = incidents.id
                         AND h.lifted_at IS NULL AND (h.expires_at IS NULL OR h.expires_at > $6))
                     ORDER BY closed_at, id LIMIT $3"
                ],
                "FOR UPDATE SKIP LOCKED",
                |query| query
                    .bind(closed_before)
                    .bind(released_before)
                    .bind(BATCH as i64)
                    .bind(after.1)
                    .bind(&after.0)
                    .bind(now),
                fetch_all
            )?;
            for (id, _) in &batch {
                for sql in REMOVE_ONE {
                    on_backend!(tx.conn(), c => sqlx::query(sql)
                        .bind(id)
                        .execute(c)
                        .await
                        .map(drop))?;
                }
            }
            tx.commit().await?.no_follow_up();
            removed += batch.len() as u64;
            let full = batch.len() == BATCH;
            match batch.into_iter().last() {
                Some(last) if full => after = last,
                _ => return Ok(removed),
            }
        }
    }
}
