//! Closing flows past their lifetime (24 h), telling each holder.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::notify::record_change;
use crate::state::AppState;

/// The longest the task sleeps without rereading when the first live flow
/// expires: a flow started since (here or on another instance) lives 24
/// hours, so rereading every five minutes sees it long before it is due, at
/// one read per five minutes of an idle instance.
const SAFETY_NET: Duration = Duration::from_secs(300);

/// Closes live flows past their lifetime, telling each holder.
#[tracing::instrument(skip_all)]
pub async fn expire_overdue(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let mut flows = tx.lock_overdue_flows(now, 100).await?;
    for flow in &mut flows {
        let before = flow.state;
        if flow.expire_if_due(now) {
            tx.save_flow(flow).await?;
            record_change(state, &mut tx, flow, before, now).await?;
        }
    }
    state.commit(tx).await?;
    Ok(flows.len())
}

/// Closes each flow when its lifetime ends, sleeping until the first live
/// flow expires (rereading at least every [`SAFETY_NET`], and when the
/// clock is moved), until `cancel` fires.
pub async fn expire_until_cancelled(state: AppState, cancel: CancellationToken) {
    loop {
        let mut moves = state.clock().moves();
        if let Err(error) = expire_overdue(&state).await {
            tracing::warn!(error = format!("{error:#}"), "closing expired unfreeze requests failed");
        }
        let wait = match state.db().earliest_flow_expiry().await {
            // At least a second: a flow locked by another instance's pass
            // stays due a moment.
            Ok(Some(expires_at)) => expires_at.since(state.clock().now()).max(Duration::from_secs(1)),
            Ok(None) => SAFETY_NET,
            Err(_) => Duration::from_secs(1),
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = moves.changed() => {}
            _ = tokio::time::sleep(wait.min(SAFETY_NET)) => {}
        }
    }
}
