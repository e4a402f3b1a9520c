//! What a finished unfreeze run means to the holder's flow, reported by
//! [`crate::dispatch`].

use super::notify::record_change;
use crate::domain::run::{Run, RunOutcome};
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::FlowState;
use crate::state::AppState;
use crate::storage::WriteTx;

/// An unfreeze run ended: on success the holder's flow in review is done;
/// on failure an automatic unfreeze that could not finish goes to the
/// agents' queue. Either way the holder is told.
#[tracing::instrument(skip_all, fields(run.id = %run.id, incident.id = %run.incident_id))]
pub async fn unfreeze_run_finished(
    state: &AppState,
    tx: &mut WriteTx,
    run: &Run,
    outcome: RunOutcome,
    now: Timestamp,
) -> anyhow::Result<()> {
    match outcome {
        RunOutcome::Succeeded => succeeded(state, tx, run, now).await,
        RunOutcome::Failed => failed(state, tx, run, now).await,
    }
}

async fn succeeded(state: &AppState, tx: &mut WriteTx, run: &Run, now: Timestamp) -> anyhow::Result<()> {
    let Some(mut flow) = tx.lock_flow_in_review(&run.incident_id).await? else {
        return Ok(());
    };
    let before = flow.state;
    flow.mark_unfrozen(&run.started_by_name, &run.id, now);
    tx.save_flow(&flow).await?;
    record_change(state, tx, &flow, before, now).await
}

async fn failed(state: &AppState, tx: &mut WriteTx, run: &Run, now: Timestamp) -> anyhow::Result<()> {
    let Some(mut flow) = tx.lock_flow_of_run(&run.id).await? else {
        return Ok(());
    };
    if flow.state != FlowState::Unfrozen {
        return Ok(());
    }
    let before = flow.state;
    flow.reopen_for_review(now);
    tx.save_flow(&flow).await?;
    record_change(state, tx, &flow, before, now).await
}
