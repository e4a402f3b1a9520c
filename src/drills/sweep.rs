//! Drills close by themselves: every instance looks each minute for drill
//! incidents opened more than [`LIFETIME`] ago and dismisses them without a
//! disposition ([`super::end_incidents`]).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::drill::LIFETIME;
use crate::state::AppState;

/// How often each instance looks for drill incidents past their lifetime.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Ends every drill incident older than [`LIFETIME`], every minute, until
/// `cancel` fires.
pub async fn close_due_until_cancelled(state: AppState, cancel: CancellationToken) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = interval.tick() => {
                if let Err(error) = close_due(&state).await {
                    tracing::warn!(error = format!("{error:#}"), "closing drills past their lifetime failed");
                }
            }
        }
    }
}

/// Ends every drill incident opened more than [`LIFETIME`] ago; returns how many.
pub async fn close_due(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock().now();
    let ended = super::end_incidents(
        state.db(),
        None,
        now.minus(LIFETIME),
        "system",
        "the drill is 24 hours old",
        now,
    )
    .await?;
    if ended > 0 {
        tracing::info!(incidents = ended, "closed drill incidents past their lifetime");
    }
    Ok(ended)
}
