//! What a finished unfreeze run means to the holder's flow: [`OnFinished`],
//! registered at start as the handler of unfreeze runs
//! ([`crate::state::handles::FinishedRuns`]).

use super::notify::record_change;
use crate::domain::run::{Run, RunOutcome};
use crate::domain::time::Timestamp;
use crate::state::AppState;
use crate::state::handles::FinishedRunHandler;
use crate::state::handles::finished_runs::Pending;
use crate::storage::WriteTx;

/// The unfreeze feature's handler of finished unfreeze runs.
pub struct OnFinished;

impl FinishedRunHandler<AppState> for OnFinished {
    fn run_finished<'a>(
        &'a self,
        state: &'a AppState,
        tx: &'a mut WriteTx,
        run: &'a Run,
        outcome: RunOutcome,
        now: Timestamp,
    ) -> Pending<'a> {
        Box::pin(unfreeze_run_finished(state, tx, run, outcome, now))
    }
}

/// An unfreeze run ended. On success the flow it unfreezes (the holder's
/// automatic unfreeze, or a flow waiting in review) is `unfrozen` — only now,
/// once the freeze is really lifted — and the holder is told. On failure an
/// automatic unfreeze goes to the agents' queue, and the holder is told.
#[tracing::instrument(skip_all, fields(run.id = %run.id, incident.id = %run.incident_id))]
pub async fn unfreeze_run_finished(
    state: &AppState,
    tx: &mut WriteTx,
    run: &Run,
    outcome: RunOutcome,
    now: Timestamp,
) -> anyhow::Result<()> {
    let flow = match tx.lock_flow_of_run(&run.id).await? {
        Some(flow) => Some(flow),
        None => tx.lock_flow_in_review(&run.incident_id).await?,
    };
    let Some(mut flow) = flow.filter(|flow| flow.state.is_live()) else {
        return Ok(());
    };
    let before = flow.state;
    match outcome {
        RunOutcome::Succeeded => flow.mark_unfrozen(&run.started_by_name, &run.id, now),
        RunOutcome::Failed if flow.unfreezing() => flow.reopen_for_review(now),
        RunOutcome::Failed => return Ok(()),
    }
    tx.save_flow(&flow).await?;
    record_change(state, tx, &flow, before, now).await
}
