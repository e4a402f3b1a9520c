//! Asking for a link: `POST /v1/unfreeze` (and the web form) for any
//! account. The caller always gets the same answer at once; whether a flow is
//! opened (and a link and code sent) is decided afterwards, on a background
//! task, so neither the body nor the timing says whether the account exists
//! or is frozen. Link requests are rate limited per client address and per
//! account.

use serde_json::json;

use super::codes;
use crate::crypto::{self, token_hash};
use crate::domain::audit::AuditRecord;
use crate::domain::ids::FlowId;
use crate::domain::unfreeze::{Flow, FlowState};
use crate::outbox::{Notification, queue_secret_notification};
use crate::shared::Limit;
use crate::state::AppState;

/// Takes a link request: the work happens on a background task, unless a
/// rate limit (per client address, per account) is exceeded, in which case
/// the request is dropped. Either way the caller answers the same `202`: a
/// refusal would be a second answer, and the spec promises one.
pub async fn accept_link_request(state: &AppState, account_id: &str, client: &str) {
    let allowed = state.shared().check(Limit::UnfreezePerAddress, client).await.is_ok()
        && state
            .shared()
            .check(Limit::UnfreezePerAccount, account_id)
            .await
            .is_ok();
    if !allowed {
        metrics::counter!("holdfast_unfreeze_requests_dropped_total").increment(1);
        tracing::info!("an unfreeze link request over its rate limit was dropped");
        return;
    }
    let (state, account_id) = (state.clone(), account_id.to_owned());
    tokio::spawn(async move {
        if let Err(error) = open_flow(&state, &account_id).await {
            tracing::error!(error = format!("{error:#}"), "opening an unfreeze flow failed");
        }
    });
}

/// Opens a flow for a frozen account (or refreshes its live one) and sends
/// the holder a link and a one-time code. Does nothing for other accounts.
#[tracing::instrument(skip_all, fields(account.id = %account_id))]
async fn open_flow(state: &AppState, account_id: &str) -> anyhow::Result<()> {
    let now = state.clock().now();
    let holds = state.db().holds_in_force(account_id, now).await?;
    let Some(freeze) = holds
        .iter()
        .filter(|hold| hold.is_freeze())
        .max_by_key(|hold| hold.placed_at)
    else {
        return Ok(());
    };
    let mut tx = state.db().begin().await?;
    let Some(incident) = tx.lock_incident(&freeze.incident_id).await? else {
        return Ok(());
    };
    let token = crypto::new_token()?;
    let (mut flow, opened) = match tx.lock_live_flow(account_id).await? {
        Some(flow) => {
            tx.rotate_flow_token(&flow.id, &token_hash(&token)).await?;
            (flow, false)
        }
        None => {
            let flow = Flow::new(FlowId::new(), account_id.to_owned(), incident.id.clone(), now);
            tx.insert_flow(&flow, &token_hash(&token)).await?;
            (flow, true)
        }
    };
    let action = if opened {
        "unfreeze.requested"
    } else {
        "unfreeze.link_resent"
    };
    tx.audit(
        AuditRecord::new(now, "holder", action)
            .incident(&flow.incident_id, account_id)
            .detail(json!({"flow_id": flow.id, "state": flow.state})),
    );
    let url = format!("{}/unfreeze/{token}", state.public_url());
    let link_key = format!("{}:link:{}", flow.id, hex::encode(&token_hash(&token)[..8]));
    let notification = Notification {
        idempotency_key: &link_key,
        account_id,
        template: "unfreeze_link",
        data: json!({"flow_token": token, "url": url}),
    };
    queue_secret_notification(&mut tx, state.secrets(), &notification, now).await?;
    if flow.state == FlowState::AwaitingCode {
        codes::send_code(state, &mut tx, &mut flow, now)
            .await
            .map_err(|e| anyhow::anyhow!("Failed to send a code: {e:?}"))?;
    }
    tx.save_flow(&flow).await?;
    state.commit(tx).await?;
    Ok(())
}
