//! Drills close by themselves: every instance looks every [`SWEEP_INTERVAL`]
//! (and when the clock is moved) for drill incidents opened more than
//! [`LIFETIME`] ago and dismisses them without a disposition
//! ([`super::end_incidents`]).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::drill::LIFETIME;
use crate::state::AppState;

/// How often each instance looks for drill incidents past their lifetime: a
/// drill ends at most five minutes after its 24 hours, for one transaction
/// per five minutes of an idle instance.
const SWEEP_INTERVAL: Duration = Duration::from_secs(300);

/// Ends every drill incident older than [`LIFETIME`], every
/// [`SWEEP_INTERVAL`] and when the clock is moved, until `cancel` fires.
pub async fn close_due_until_cancelled(state: AppState, cancel: CancellationToken) {
    let mut moves = state.clock().moves();
    loop {
        moves.mark_unchanged();
        if let Err(error) = close_due(&state).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "closing drills past their lifetime failed"
            );
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = moves.changed() => {}
            _ = tokio::time::sleep(SWEEP_INTERVAL) => {}
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
