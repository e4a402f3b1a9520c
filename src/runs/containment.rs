//! Automatic containment of P1 incidents, inside the intake transaction,
//! by the run engine.
//!
//! The verified containment playbook for the alert's kind starts with only
//! its automatic steps: its holds are stored (and the incident `contained`)
//! before the alert is answered, and the pushes to the exchange follow
//! through the outbox. Whatever the playbook does, the account ends up with
//! `login` and `withdrawal` holds: if no verified containment playbook exists
//! for the kind, or it froze less, the engine places the missing holds as
//! containment's floor ([`engine::place_floor`]), placed by `system` with no
//! run and pushed under `contain:<incident>:<alert>`. Holds reach an
//! incident through the engine alone, whichever way it is contained.

use serde_json::json;

use super::{engine, finish};
use crate::domain::alert::Alert;
use crate::domain::hold::HoldScope;
use crate::domain::incident::{Incident, Transition};
use crate::domain::run::Initiator;
use crate::domain::time::Timestamp;
use crate::state::AppState;
use crate::storage::WriteTx;

/// The scopes every automatic containment freezes at least.
pub const REQUIRED_SCOPES: [HoldScope; 2] = [HoldScope::Login, HoldScope::Withdrawal];

#[tracing::instrument(name = "containment", skip_all, fields(incident.id = %incident.id))]
pub async fn contain_automatically(
    state: &AppState,
    tx: &mut WriteTx,
    incident: &mut Incident,
    trigger: &Alert,
    at: Timestamp,
) -> anyhow::Result<()> {
    match state.playbooks().containment_for(trigger.kind) {
        Some((loaded, playbook)) => {
            finish::start_run(state, tx, incident, loaded, playbook, Initiator::System, at).await?;
        }
        None => {
            tracing::error!(incident.id = %incident.id, kind = %trigger.kind, "no verified containment playbook; containing with the floor of holds alone");
        }
    }
    let in_force = tx.incident_holds_in_tx(&incident.id).await?;
    let missing: Vec<HoldScope> = REQUIRED_SCOPES
        .into_iter()
        .filter(|scope| !in_force.iter().any(|hold| hold.scope == *scope && hold.in_force(at)))
        .collect();
    if !missing.is_empty() {
        let reason = format!("Automatic containment of a {} incident", incident.priority);
        let push_key_prefix = format!("contain:{}:{}", incident.id, trigger.alert_id);
        engine::place_floor(tx, incident, &missing, &reason, &push_key_prefix, at).await?;
    }
    if incident.status.allows(Transition::Contain) {
        let detail = json!({"automatic": true, "alert_id": trigger.alert_id});
        tx.audit(incident.transition(Transition::Contain, "system", detail, at)?);
    }
    Ok(())
}
