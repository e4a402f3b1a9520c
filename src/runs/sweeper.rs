//! The runner's own task: advances the runs it is woken for ([`super::waker`])
//! and, every second, picks up runs left `running` (after a restart, or a
//! missed wake-up). Each advance is its own transaction.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::waker::RunWakeups;
use crate::dispatch;
use crate::domain::ids::RunId;
use crate::state::AppState;

/// How often the sweeper looks for runs to pick up again.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// A run is swept only when nothing has moved it for this long.
const SWEEP_AFTER: Duration = Duration::from_secs(2);

/// Advances a run in its own transaction: incident first, then run.
#[tracing::instrument(skip(state), fields(run.id = %run_id))]
pub async fn advance_by_id(state: &AppState, run_id: &RunId) -> anyhow::Result<()> {
    let Some(found) = state.db().run(run_id).await? else {
        return Ok(());
    };
    if found.status.is_finished() {
        return Ok(());
    }
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let Some(mut incident) = tx.lock_incident(&found.incident_id).await? else {
        return Ok(());
    };
    let Some(mut run) = tx.lock_run(run_id).await? else {
        return Ok(());
    };
    let (run_before, incident_before) = (run.clone(), incident.clone());
    dispatch::advance_run(state, &mut tx, &mut run, &mut incident, now).await?;
    tx.save_run(&run, &run_before).await?;
    if incident != incident_before {
        tx.save_incident(&incident).await?;
    }
    state.commit(tx).await?;
    Ok(())
}

/// Runs until `cancel` fires: advances each run it is woken for, and sweeps.
pub async fn run_until_cancelled(state: AppState, mut wakeups: RunWakeups, cancel: CancellationToken) {
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            Some(run_id) = wakeups.0.recv() => {
                // Each on its own task: runs of different incidents move in
                // parallel; runs of one incident queue on its row lock.
                let state = state.clone();
                tokio::spawn(async move {
                    if let Err(error) = advance_by_id(&state, &run_id).await {
                        tracing::warn!(run.id = %run_id, error = format!("{error:#}"), "advancing a run failed; the sweeper will retry");
                    }
                });
            }
            _ = sweep.tick() => sweep_once(&state).await,
        }
    }
}

/// Picks up runs left `running` that nothing has moved for a while.
async fn sweep_once(state: &AppState) {
    let now = state.clock().now();
    match state.db().runs_in_progress(now.minus(SWEEP_AFTER), 100).await {
        Ok(runs) => {
            for (run_id, _) in runs {
                if let Err(error) = advance_by_id(state, &run_id).await {
                    tracing::warn!(run.id = %run_id, error = format!("{error:#}"), "resuming a run failed");
                }
            }
        }
        Err(error) => tracing::warn!(error = format!("{error:#}"), "looking for runs to resume failed"),
    }
}
