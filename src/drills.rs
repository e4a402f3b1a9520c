//! Drills (SPEC §14): the team rehearses a wave of takeovers on synthetic
//! `drill-…` accounts sent through the real signed intake.
//!
//! What keeps a drill inside Holdfast, and where:
//!
//! - only a key of scope `drill` names a drill account, and it names no
//!   other ([`check_key_for_account`], at intake);
//! - every request about a drill account is answered by the drill sink and
//!   never sent (`exchange`), so pushes, notifications and feedback are
//!   recorded in the outbox as delivered to the sink;
//! - a drill's campaign signals are its own (`domain::campaign::signals_of`);
//! - its response times count in no figure (`Incident::is_drill`), and the
//!   overview, gauges, rule quality and replay leave drill accounts out;
//! - its incidents end by themselves after a day ([`sweep`]), or when the
//!   drill is stopped: dismissed without a disposition ([`end_incidents`]).
//!
//! `holdfast drill run` ([`wave`]) sends the wave; `holdfast drill report`
//! ([`report`]) says how fast it was contained.

use serde_json::json;

use crate::domain::drill::{DrillId, is_drill_account};
use crate::domain::ids::AccountId;
use crate::domain::incident::Transition;
use crate::domain::time::Timestamp;
use crate::edge::error::ApiError;
use crate::platform::signing::{Scope, Scopes};
use crate::storage::Database;

pub mod report;
pub mod sweep;
pub mod wave;

/// How many incidents one transaction ends.
const BATCH: i64 = 100;

/// Whether a key granting `scopes` may post an alert for `account_id`: a
/// drill account needs the `drill` scope (else `422`, the account is not one
/// this key may name); any other account needs `alerts` (else `403`).
pub fn check_key_for_account(account_id: &AccountId, scopes: Scopes) -> Result<(), ApiError> {
    if is_drill_account(account_id) {
        if !scopes.allows(Scope::Drill) {
            return Err(ApiError::invalid(
                "account_id",
                "names a drill account (drill-…); only a key of scope `drill` may post alerts for one",
            ));
        }
    } else if !scopes.allows(Scope::Alerts) {
        return Err(ApiError::forbidden(
            "a key of scope `drill` may only post alerts for drill accounts (drill-…)",
        ));
    }
    Ok(())
}

/// Ends the live incidents of `drill` (of every drill when `None`) opened
/// before `opened_before`: dismissed through the state machine, with no
/// disposition, on the timeline as done by `actor` for `reason`. Returns
/// how many ended.
///
/// The holds a drill placed are left on its accounts: they are synthetic
/// and belong to nobody, and lifting them would need the caches of every
/// instance told, which `holdfast drill stop` (a process of its own) cannot
/// do.
pub async fn end_incidents(
    db: &Database,
    drill: Option<&DrillId>,
    opened_before: Timestamp,
    actor: &str,
    reason: &str,
    now: Timestamp,
) -> anyhow::Result<usize> {
    let mut ended = 0;
    loop {
        let mut tx = db.begin().await?;
        let incidents = tx.lock_live_drill_incidents(drill, opened_before, BATCH).await?;
        if incidents.is_empty() {
            return Ok(ended);
        }
        for mut incident in incidents {
            let record = incident.transition(Transition::EndDrill, actor, json!({"reason": reason}), now)?;
            tx.save_incident(&incident).await?;
            tx.audit(record);
            ended += 1;
        }
        // Ending a drill's incident touches no hold and queues no message,
        // and a drill's response times are never reported.
        tx.commit().await?.no_follow_up();
    }
}
