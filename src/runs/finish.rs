//! Starting and advancing runs so that every finished run reaches the
//! feature that owns its playbook kind.
//!
//! The engine knows no feature, and no feature calls another to learn about
//! a run: a feature registers a handler for its kind at start
//! ([`crate::state::handles::FinishedRuns`], kept in the application state), and
//! [`run_finished`] calls it in the run's transaction. Every caller starts
//! and advances runs through [`start_run`] and [`advance_run`], so no
//! outcome is lost.

use crate::domain::incident::Incident;
use crate::domain::playbook::Playbook;
use crate::domain::run::{Initiator, Run};
use crate::domain::time::Timestamp;
use crate::runs::engine::{self, Progressed};
use crate::state::AppState;
use crate::state::handles::LoadedPlaybook;
use crate::storage::WriteTx;

/// Starts a run of `playbook` on a locked incident, advances it, and reports
/// its outcome if it finished at once.
pub async fn start_run(
    state: &AppState,
    tx: &mut WriteTx,
    incident: &mut Incident,
    loaded: &LoadedPlaybook,
    playbook: &Playbook,
    initiator: Initiator,
    now: Timestamp,
) -> anyhow::Result<Run> {
    let (run, progressed) = engine::start(tx, incident, loaded, playbook, initiator, now).await?;
    run_finished(state, tx, &run, progressed, now).await?;
    Ok(run)
}

/// Advances a locked run and reports its outcome if it finished.
pub async fn advance_run(
    state: &AppState,
    tx: &mut WriteTx,
    run: &mut Run,
    incident: &mut Incident,
    now: Timestamp,
) -> anyhow::Result<()> {
    let progressed = engine::advance(tx, run, incident, now).await?;
    run_finished(state, tx, run, progressed, now).await
}

/// Tells the feature that owns the run's kind how it ended, in the same
/// transaction.
pub async fn run_finished(
    state: &AppState,
    tx: &mut WriteTx,
    run: &Run,
    progressed: Progressed,
    now: Timestamp,
) -> anyhow::Result<()> {
    let Some(outcome) = progressed.finished else {
        return Ok(());
    };
    tx.announce_run_finished(&run.id).await?;
    match state.finished_runs().handler(run.playbook.kind) {
        Some(handler) => handler.run_finished(state, tx, run, outcome, now).await,
        None => Ok(()),
    }
}
