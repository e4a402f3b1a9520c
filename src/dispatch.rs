//! Runs report how they ended; this is the one place that tells the features
//! that care. The run engine knows no feature, and no feature calls another
//! to learn about a run: an unfreeze run's outcome reaches the holder's flow
//! from here.
//!
//! Every caller starts and advances runs through [`start_run`] and
//! [`advance_run`], so no outcome is lost.

use crate::domain::incident::Incident;
use crate::domain::playbook::{Playbook, PlaybookKind};
use crate::domain::run::{Initiator, Run};
use crate::domain::time::Timestamp;
use crate::handles::LoadedPlaybook;
use crate::runs::engine::{self, Progressed};
use crate::state::AppState;
use crate::storage::WriteTx;
use crate::unfreeze;

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

/// Tells the features that care how a run ended, in the same transaction.
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
    match run.playbook.kind {
        PlaybookKind::Unfreeze => unfreeze::outcome::unfreeze_run_finished(state, tx, run, outcome, now).await,
        PlaybookKind::Containment | PlaybookKind::Recovery => Ok(()),
    }
}
