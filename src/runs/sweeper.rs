//! The runner's own task: advances the runs it is woken for ([`super::waker`])
//! and picks up runs left `running` that nothing moved for [`SWEEP_AFTER`]
//! (after a restart, a missed wake-up, or an instance that stopped). It
//! sleeps until the earliest run in progress is due for that, and looks at
//! once when a run was started on another instance (announced through the
//! database) or announcements may have been missed; with no run in progress
//! it looks only every [`SAFETY_NET`].
//!
//! Wake-ups that arrive together (a storm of P1 containments settling at
//! the exchange) are advanced together: up to [`MAX_BATCH`] runs in one
//! transaction, so they share one commit. A batch holds its incidents'
//! locks until it commits, and intake waits for them when the same accounts
//! alert again, so batches stay small. Should a batch fail (a deadlock with
//! intake, say), its runs are advanced one transaction each.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::finish;
use crate::domain::ids::RunId;
use crate::state::AppState;
use crate::state::handles::RunWakeups;

/// The longest the sweeper sleeps without looking, whatever it knows: a
/// safety net for a run started by an instance whose announcement went by
/// unheard, which is picked up at most five minutes late, at two reads per
/// five minutes of an idle instance.
const SAFETY_NET: Duration = Duration::from_secs(300);
/// The shortest pause between two looks, so runs that stay due (one whose
/// message waits for the exchange) are not looked at in a busy loop.
const SWEEP_AT_MOST_EVERY: Duration = Duration::from_secs(1);
/// A run is swept only when nothing has moved it for this long.
const SWEEP_AFTER: Duration = Duration::from_secs(2);
/// The most runs advanced in one transaction: one commit for several runs,
/// without holding the first run's incident for long (load/REPORT.md).
const MAX_BATCH: usize = 16;
/// Batches advanced at once; further wake-ups wait and join later batches.
const CONCURRENT_BATCHES: usize = 2;

/// Advances a run in its own transaction: incident first, then run.
#[tracing::instrument(skip(state), fields(run.id = %run_id))]
pub async fn advance_by_id(state: &AppState, run_id: &RunId) -> anyhow::Result<()> {
    advance_together(state, std::slice::from_ref(run_id)).await
}

/// Advances runs in one transaction, each with its incident locked first.
/// Runs are taken in their incidents' order, so two batches take their
/// locks in the same order.
async fn advance_together(state: &AppState, run_ids: &[RunId]) -> anyhow::Result<()> {
    let mut found = state.db().unfinished_runs_among(run_ids).await?;
    if found.is_empty() {
        return Ok(());
    }
    found.sort_by(|(a_run, a_incident), (b_run, b_incident)| (a_incident, a_run).cmp(&(b_incident, b_run)));
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    for (run_id, incident_id) in found {
        // Each run continues its own trace: with none set, lock_run takes up
        // the one stored with the run.
        tx.set_trace(None);
        let Some(mut incident) = tx.lock_incident(&incident_id).await? else {
            continue;
        };
        let Some(mut run) = tx.lock_run(&run_id).await? else {
            continue;
        };
        if run.status.is_finished() {
            continue;
        }
        let (run_before, incident_before) = (run.clone(), incident.clone());
        finish::advance_run(state, &mut tx, &mut run, &mut incident, now).await?;
        tx.save_run(&run, &run_before).await?;
        if incident != incident_before {
            tx.save_incident(&incident).await?;
        }
    }
    state.commit(tx).await?;
    Ok(())
}

/// Advances a batch of woken runs together, or one by one should that fail.
async fn advance_batch(state: &AppState, run_ids: &[RunId]) {
    if run_ids.len() > 1 {
        match advance_together(state, run_ids).await {
            Ok(()) => return,
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                size = run_ids.len(),
                "advancing runs together failed; advancing them one by one"
            ),
        }
    }
    for run_id in run_ids {
        if let Err(error) = advance_by_id(state, run_id).await {
            tracing::warn!(run.id = %run_id, error = format!("{error:#}"), "advancing a run failed; the sweeper will retry");
        }
    }
}

/// Runs until `cancel` fires: advances the runs it is woken for, in batches, and sweeps.
pub async fn run_until_cancelled(state: AppState, mut wakeups: RunWakeups, cancel: CancellationToken) {
    let batches = Arc::new(Semaphore::new(CONCURRENT_BATCHES));
    let mut moves = state.clock().moves();
    let mut next_sweep = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            Some(first) = wakeups.0.recv() => {
                // While both batches are busy, wake-ups queue and the next
                // batch takes them all.
                let Ok(permit) = batches.clone().acquire_owned().await else { return };
                let mut run_ids = vec![first];
                while run_ids.len() < MAX_BATCH {
                    match wakeups.0.try_recv() {
                        Ok(run_id) => run_ids.push(run_id),
                        Err(_) => break,
                    }
                }
                run_ids.sort();
                run_ids.dedup();
                let state = state.clone();
                tokio::spawn(async move {
                    advance_batch(&state, &run_ids).await;
                    drop(permit);
                });
            }
            _ = wakeups.1.notified() => next_sweep = tokio::time::Instant::now(),
            _ = moves.changed() => next_sweep = tokio::time::Instant::now(),
            _ = tokio::time::sleep_until(next_sweep) => {
                moves.mark_unchanged();
                sweep_once(&state).await;
                let wait = next_wait(&state).await.max(SWEEP_AT_MOST_EVERY);
                next_sweep = tokio::time::Instant::now() + wait;
            }
        }
    }
}

/// Until the earliest run in progress has not moved for [`SWEEP_AFTER`], at
/// most [`SAFETY_NET`]; a second after a failed read.
async fn next_wait(state: &AppState) -> Duration {
    match state.db().earliest_run_in_progress().await {
        Ok(Some(updated_at)) => (updated_at.plus(SWEEP_AFTER))
            .since(state.clock().now())
            .min(SAFETY_NET),
        Ok(None) => SAFETY_NET,
        Err(_) => SWEEP_AT_MOST_EVERY,
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
