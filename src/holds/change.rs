//! Placing and lifting holds, the one place either happens (automatic
//! containment, playbook steps and the holder's own lock alike): each change is
//! recorded on the audit log and pushed to the exchange through the outbox,
//! under the idempotency key `<prefix>:<place_hold|lift_hold>:<scope>`.

use crate::domain::audit::AuditRecord;
use crate::domain::exchange::AccountAction;
use crate::domain::hold::{HoldRecord, HoldScope, NewHold};
use crate::domain::ids::{HoldId, RunId};
use crate::domain::incident::Incident;
use crate::domain::time::Timestamp;
use crate::outbox::{AccountRequest, queue_action};
use crate::storage::WriteTx;

/// Holds to place on an incident's account.
pub struct Placement<'a> {
    pub incident: &'a Incident,
    pub scopes: &'a [HoldScope],
    pub reason: &'a str,
    /// Who placed them: `system`, `holder` or `agent:<name>`.
    pub placed_by: &'a str,
    /// Set for a cool-off that ends on its own.
    pub expires_at: Option<Timestamp>,
    /// Prefix of the idempotency keys of the pushes to the exchange.
    pub push_key_prefix: &'a str,
    /// The run to wake when the exchange has confirmed a push.
    pub run_id: Option<&'a RunId>,
}

/// A hold placed or lifted, and the key of its push to the exchange.
#[derive(Clone, Debug)]
pub struct Pushed {
    pub hold: HoldRecord,
    pub message_key: String,
}

fn push_key(prefix: &str, action: AccountAction, scope: HoldScope) -> String {
    format!("{prefix}:{action}:{scope}")
}

/// Places holds in `tx`, records each on the audit log and queues its push to
/// the exchange. A scope the incident already freezes is left as it is.
pub async fn place(tx: &mut WriteTx, placement: &Placement<'_>, at: Timestamp) -> Result<Vec<Pushed>, sqlx::Error> {
    let incident = placement.incident;
    let mut placed = Vec::new();
    for &scope in placement.scopes {
        let hold = NewHold {
            account_id: incident.account_id.clone(),
            incident_id: incident.id.clone(),
            scope,
            reason: placement.reason.to_owned(),
            placed_by: placement.placed_by.to_owned(),
            expires_at: placement.expires_at,
        };
        let Some(id) = tx.place_hold(&HoldId::new(), &hold, at).await? else {
            continue;
        };
        tx.audit(
            AuditRecord::new(at, placement.placed_by, "hold.placed")
                .incident(&incident.id, &incident.account_id)
                .detail(serde_json::json!({
                    "hold_id": id,
                    "scope": scope,
                    "reason": placement.reason,
                    "expires_at": placement.expires_at,
                })),
        );
        let message_key = push_key(placement.push_key_prefix, AccountAction::PlaceHold, scope);
        push(
            tx,
            incident,
            AccountAction::PlaceHold,
            scope,
            &message_key,
            placement.run_id,
            at,
        )
        .await?;
        let hold = HoldRecord {
            id,
            account_id: hold.account_id,
            incident_id: hold.incident_id,
            scope,
            reason: hold.reason,
            placed_by: hold.placed_by,
            placed_at: at,
            expires_at: hold.expires_at,
            lifted_at: None,
            lifted_by: None,
        };
        placed.push(Pushed { hold, message_key });
    }
    Ok(placed)
}

/// Lifts the incident's freezes on `scopes` in `tx`, recording each and
/// queuing its push to the exchange. Cool-offs are not lifted: they end on
/// their own.
pub async fn lift(
    tx: &mut WriteTx,
    incident: &Incident,
    scopes: &[HoldScope],
    lifted_by: &str,
    push_key_prefix: &str,
    run_id: Option<&RunId>,
    at: Timestamp,
) -> Result<Vec<Pushed>, sqlx::Error> {
    let lifted = tx.lift_holds(&incident.id, scopes, lifted_by, at).await?;
    let mut pushed = Vec::with_capacity(lifted.len());
    for hold in lifted {
        tx.audit(
            AuditRecord::new(at, lifted_by, "hold.lifted")
                .incident(&incident.id, &incident.account_id)
                .detail(serde_json::json!({"hold_id": hold.id, "scope": hold.scope})),
        );
        let message_key = push_key(push_key_prefix, AccountAction::LiftHold, hold.scope);
        push(
            tx,
            incident,
            AccountAction::LiftHold,
            hold.scope,
            &message_key,
            run_id,
            at,
        )
        .await?;
        pushed.push(Pushed { hold, message_key });
    }
    Ok(pushed)
}

async fn push(
    tx: &mut WriteTx,
    incident: &Incident,
    action: AccountAction,
    scope: HoldScope,
    message_key: &str,
    run_id: Option<&RunId>,
    at: Timestamp,
) -> Result<bool, sqlx::Error> {
    queue_action(
        tx,
        &AccountRequest {
            idempotency_key: message_key.to_owned(),
            account_id: &incident.account_id,
            action,
            scope: Some(scope),
            incident_id: &incident.id,
            run_id,
        },
        at,
    )
    .await
}
