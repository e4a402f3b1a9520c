//! Automatic containment of P1 incidents, inside the intake transaction: by
//! the time the alert is answered, the account's `login` and `withdrawal`
//! holds are stored and the incident is `contained`. The pushes to the
//! exchange follow through the outbox.

use serde_json::json;

use crate::app::AppState;
use crate::domain::alert::Alert;
use crate::domain::audit::AuditRecord;
use crate::domain::hold::HoldScope;
use crate::domain::incident::{Incident, Transition};
use crate::domain::time::Timestamp;
use crate::holds::{self, Placement};
use crate::storage::WriteTx;

/// The scopes every automatic containment freezes.
pub const AUTOMATIC_SCOPES: [HoldScope; 2] = [HoldScope::Login, HoldScope::Withdrawal];

pub async fn contain_automatically(
    _state: &AppState,
    tx: &mut WriteTx,
    incident: &mut Incident,
    trigger: &Alert,
    at: Timestamp,
) -> anyhow::Result<()> {
    let reason = format!("Automatic containment of a {} incident", incident.priority);
    let push_key_prefix = format!("contain:{}:{}", incident.id, trigger.alert_id);
    holds::place(
        tx,
        &Placement {
            incident,
            scopes: &AUTOMATIC_SCOPES,
            reason: &reason,
            placed_by: "system",
            expires_at: None,
            push_key_prefix: &push_key_prefix,
            run_id: None,
        },
        at,
    )
    .await?;
    incident.apply(Transition::Contain, at)?;
    tx.audit(
        AuditRecord::new(at, "system", "incident.contained")
            .incident(&incident.id, &incident.account_id)
            .detail(json!({"automatic": true, "alert_id": trigger.alert_id})),
    );
    Ok(())
}
