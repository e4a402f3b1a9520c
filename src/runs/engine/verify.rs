//! Verifying a running step's effect before anything that waits for it
//! starts: the holds are (or are no longer) in place, and the exchange
//! confirmed every message the step sent.

use crate::domain::hold::HoldScope;
use crate::domain::incident::Incident;
use crate::domain::playbook::Action;
use crate::domain::run::{Run, RunStatus};
use crate::domain::time::Timestamp;
use crate::storage::{OutboxStatus, WriteTx};

use super::{Step, record};

/// Checks a running step's effect: its holds are (or are no longer) in place
/// and the exchange confirmed every message.
pub(super) async fn verify(
    tx: &mut WriteTx,
    run: &mut Run,
    index: usize,
    incident: &Incident,
    now: Timestamp,
) -> anyhow::Result<Step> {
    let current = run.steps[index].clone();
    let mut outcome = current.outcome.clone().unwrap_or_default();
    let unlifted = tx.incident_holds_in_tx(&incident.id).await?;
    let in_place = |scope: &HoldScope| unlifted.iter().any(|h| h.scope == *scope && h.in_force(now));
    match &current.step.action {
        Action::PlaceHold { scopes, .. } => {
            if let Some(missing) = scopes.iter().find(|s| !in_place(s)) {
                return Ok(Step::Failed(format!("the {missing} hold is not in place")));
            }
        }
        Action::LiftHold { scopes } => {
            if let Some(kept) = scopes
                .iter()
                .find(|s| unlifted.iter().any(|h| h.scope == **s && h.is_freeze()))
            {
                return Ok(Step::Failed(format!("the {kept} hold is still in place")));
            }
        }
        _ => {}
    }
    let mut confirmed = Vec::new();
    for key in outcome.messages() {
        match tx.message_status(key).await? {
            Some((OutboxStatus::Delivered, _)) => confirmed.push(key.clone()),
            Some((OutboxStatus::Failed, error)) => {
                let error = error.unwrap_or_default();
                return Ok(Step::Failed(format!("the exchange did not confirm {key}: {error}")));
            }
            Some((OutboxStatus::Pending, _)) => return Ok(Step::Paused(RunStatus::Running)),
            None => return Ok(Step::Failed(format!("the message {key} is missing"))),
        }
    }
    outcome.confirmed = Some(confirmed);
    let event = run.succeed_step(index, outcome, now);
    record(tx, incident, event, now);
    Ok(Step::Done)
}
