//! Holds: the exchange's hot path (`GET /v1/accounts/{id}/holds`) and the one
//! function that places holds, used by containment and by playbook steps.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};

use crate::app::AppState;
use crate::domain::audit::AuditRecord;
use crate::domain::hold::{AccountHolds, Hold, HoldRecord, HoldScope, NewHold};
use crate::domain::incident::Incident;
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::http::{Routes, Signed};
use crate::outbox::{AccountAction, queue_action};
use crate::storage::WriteTx;

pub fn routes() -> Routes {
    Routes::new().get("/v1/accounts/{account_id}/holds", account_holds)
}

/// The exchange asks before every login and withdrawal whether the account may act.
#[tracing::instrument(skip_all, fields(account.id = %account_id))]
async fn account_holds(
    State(state): State<AppState>,
    Path(account_id): Path<String>,
    _signed: Signed,
) -> Result<Json<AccountHolds>, ApiError> {
    let now = state.clock().now();
    let holds = holds_in_force(&state, &account_id, now).await?;
    Ok(Json(AccountHolds::at(&account_id, &holds, now)))
}

/// The account's holds in force, from the cache when it has them.
pub async fn holds_in_force(state: &AppState, account_id: &str, now: Timestamp) -> Result<Arc<[Hold]>, ApiError> {
    state.shared().holds(state.db(), account_id, now).await
}

/// Holds to place on an incident's account.
pub struct Placement<'a> {
    pub incident: &'a Incident,
    pub scopes: &'a [HoldScope],
    pub reason: &'a str,
    /// Who placed them: `system`, `agent:<name>`, `run:<id>`.
    pub placed_by: &'a str,
    /// Set for a cool-off that ends on its own.
    pub expires_at: Option<Timestamp>,
    /// Prefix of the idempotency keys of the pushes to the exchange; each
    /// scope's push gets `<prefix>:place_hold:<scope>`.
    pub push_key_prefix: &'a str,
    pub run_id: Option<&'a str>,
}

/// Places holds in `tx`, records each on the audit log and queues its push to
/// the exchange. A scope the incident already freezes is left as it is.
pub async fn place(tx: &mut WriteTx, placement: &Placement<'_>, at: Timestamp) -> Result<Vec<HoldRecord>, sqlx::Error> {
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
        let Some(id) = tx.place_hold(&crate::ids::new_id(), &hold, at).await? else {
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
        queue_action(
            tx,
            &AccountAction {
                idempotency_key: format!("{}:place_hold:{scope}", placement.push_key_prefix),
                account_id: &incident.account_id,
                action: "place_hold",
                scope: Some(scope),
                incident_id: &incident.id,
                run_id: placement.run_id,
            },
            at,
        )
        .await?;
        placed.push(HoldRecord {
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
        });
    }
    Ok(placed)
}

/// Lifts the incident's holds on `scopes` in `tx`, recording each and queuing
/// its push to the exchange (`<prefix>:lift_hold:<scope>`).
pub async fn lift(
    tx: &mut WriteTx,
    incident: &Incident,
    scopes: &[HoldScope],
    lifted_by: &str,
    push_key_prefix: &str,
    run_id: Option<&str>,
    at: Timestamp,
) -> Result<Vec<HoldRecord>, sqlx::Error> {
    let lifted = tx.lift_holds(&incident.id, scopes, lifted_by, at).await?;
    for hold in &lifted {
        tx.audit(
            AuditRecord::new(at, lifted_by, "hold.lifted")
                .incident(&incident.id, &incident.account_id)
                .detail(serde_json::json!({"hold_id": hold.id, "scope": hold.scope})),
        );
        queue_action(
            tx,
            &AccountAction {
                idempotency_key: format!("{push_key_prefix}:lift_hold:{}", hold.scope),
                account_id: &incident.account_id,
                action: "lift_hold",
                scope: Some(hold.scope),
                incident_id: &incident.id,
                run_id,
            },
            at,
        )
        .await?;
    }
    Ok(lifted)
}
