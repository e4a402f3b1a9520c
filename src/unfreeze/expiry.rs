//! Closing flows past their lifetime (24 h), telling each holder.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::notify::record_change;
use crate::state::AppState;

/// How often expired flows are closed.
const EXPIRY_SWEEP: Duration = Duration::from_secs(30);

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

pub async fn expire_until_cancelled(state: AppState, cancel: CancellationToken) {
    loop {
        if let Err(error) = expire_overdue(&state).await {
            tracing::warn!(error = format!("{error:#}"), "closing expired unfreeze requests failed");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(EXPIRY_SWEEP) => {}
        }
    }
}
