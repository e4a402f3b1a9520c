//! Asking for a link: `POST /v1/unfreeze` (and the web form) for any
//! account. The caller always gets the same answer at once; whether a flow is
//! opened (and a link and code sent) is decided afterwards, on a background
//! task, so neither the body nor the timing says whether the account exists
//! or is frozen. Link requests are rate limited per client address and per
//! account.

use serde_json::json;

use super::codes;
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::ids::{AccountId, FlowId, IncidentId};
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::{Flow, new_flow_allowed};
use crate::outbox::{Notification, queue_secret_notification};
use crate::platform::crypto::{self, token_hash};
use crate::state::AppState;
use crate::state::shared::Limit;
use crate::storage::{WriteTx, is_unique_violation};

/// Takes a link request: the work happens on a background task, unless the
/// client's address is over its limit, in which case the request is dropped.
/// Either way the caller answers the same `202`: a refusal would be a second
/// answer, and the spec promises one.
pub async fn accept_link_request(state: &AppState, account_id: &AccountId, client: &str) {
    if state.shared().check(Limit::UnfreezePerAddress, client).await.is_err() {
        metrics::counter!("holdfast_unfreeze_requests_dropped_total").increment(1);
        tracing::info!("an unfreeze link request over its rate limit was dropped");
        return;
    }
    let (state, account_id) = (state.clone(), account_id.clone());
    // The background work stays in the request's trace.
    let trace =
        crate::platform::trace_context::current().unwrap_or_else(crate::platform::trace_context::TraceContext::start);
    tokio::spawn(async move {
        let opened = crate::platform::trace_context::scope(trace, open_flow(&state, &account_id));
        if let Err(error) = opened.await {
            tracing::error!(error = format!("{error:#}"), "opening an unfreeze flow failed");
        }
    });
}

/// Opens a flow for a frozen account and sends the holder a link and a
/// one-time code; for an account whose flow is live, sends the same link
/// again (at most once a minute) and changes nothing else, so nobody but the
/// holder can disturb the holder's flow. Does nothing for other accounts, nor
/// within an hour of one of the account's flows locking.
#[tracing::instrument(skip_all, fields(account.id = %account_id))]
pub async fn open_flow(state: &AppState, account_id: &AccountId) -> anyhow::Result<()> {
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
    if let Some(mut flow) = tx.lock_live_flow(account_id).await? {
        if !flow.link_due(now) {
            return Ok(());
        }
        let Some((sealed, key_id)) = tx.link_token(&flow.id).await? else {
            return Ok(());
        };
        let token = String::from_utf8(
            state
                .secrets()
                .open(&sealed, &key_id, &token_context(&flow.id))?
                .to_vec(),
        )?;
        if may_message(state, &mut tx, &incident.id, account_id, now).await {
            send_link(state, &mut tx, &mut flow, &token, AuditAction::UnfreezeLinkResent, now).await?;
        }
        tx.save_flow(&flow).await?;
        state.commit(tx).await?;
        return Ok(());
    }
    if !new_flow_allowed(tx.last_locked_flow(account_id).await?, now) {
        tx.audit(
            AuditRecord::new(now, "holder", AuditAction::UnfreezeRefused)
                .incident(&incident.id, account_id)
                .detail(json!({"reason": "a flow of this account locked less than an hour ago"})),
        );
        state.commit(tx).await?;
        return Ok(());
    }
    if !may_message(state, &mut tx, &incident.id, account_id, now).await {
        state.commit(tx).await?;
        return Ok(());
    }
    let token = crypto::new_token()?;
    let mut flow = Flow::new(FlowId::new(), account_id.clone(), incident.id.clone(), now);
    match tx.insert_flow(&flow, &token_hash(&token)).await {
        // A concurrent request opened the account's flow first: it sends the link.
        Err(error) if is_unique_violation(&error) => return Ok(()),
        other => other?,
    }
    let (sealed, key_id) = state.secrets().seal(token.as_bytes(), &token_context(&flow.id))?;
    tx.store_link_token(&flow.id, &sealed, &key_id).await?;
    send_link(state, &mut tx, &mut flow, &token, AuditAction::UnfreezeRequested, now).await?;
    codes::send_code(state, &mut tx, &mut flow, now)
        .await
        .map_err(|e| anyhow::anyhow!("Failed to send a code: {e:?}"))?;
    tx.save_flow(&flow).await?;
    state.commit(tx).await?;
    Ok(())
}

/// The associated data a flow's sealed token is bound to.
fn token_context(flow_id: &FlowId) -> String {
    format!("holdfast:flow-token:{flow_id}")
}

/// Whether the account's holder may be sent another link now: five, then
/// one every twelve minutes, whoever asks. Counted only when a link would
/// really go out, so requests that change nothing (a live flow's link was
/// sent less than a minute ago) never use up the holder's own allowance.
/// A link withheld is put on the audit log: someone may be flooding the
/// holder with requests.
async fn may_message(
    state: &AppState,
    tx: &mut WriteTx,
    incident_id: &IncidentId,
    account_id: &AccountId,
    now: Timestamp,
) -> bool {
    let allowed = state
        .shared()
        .check(Limit::UnfreezePerAccount, account_id.as_str())
        .await
        .is_ok();
    if !allowed {
        metrics::counter!("holdfast_unfreeze_requests_dropped_total").increment(1);
        tx.audit(
            AuditRecord::new(now, "holder", AuditAction::UnfreezeLinkWithheld)
                .incident(incident_id, account_id)
                .detail(json!({"reason": "the account's link limit is reached"})),
        );
    }
    allowed
}

/// Queues the link to the flow (sealed in the outbox) and records it.
async fn send_link(
    state: &AppState,
    tx: &mut WriteTx,
    flow: &mut Flow,
    token: &str,
    action: AuditAction,
    now: Timestamp,
) -> anyhow::Result<()> {
    tx.audit(
        AuditRecord::new(now, "holder", action)
            .incident(&flow.incident_id, &flow.account_id)
            .detail(json!({"flow_id": flow.id, "state": flow.state})),
    );
    let url = format!("{}/unfreeze/{token}", state.public_url());
    let link_key = format!("{}:link:{}", flow.id, now.micros());
    let notification = Notification {
        idempotency_key: &link_key,
        account_id: &flow.account_id,
        incident_id: Some(&flow.incident_id),
        template: "unfreeze_link",
        data: json!({"flow_token": token, "url": url}),
    };
    queue_secret_notification(tx, state.secrets(), &notification, now).await?;
    flow.link_sent_at = Some(now);
    Ok(())
}
