//! Gauges read from the database on a timer: `holdfast_incidents_open`
//! (by priority) and `holdfast_outbox_pending`.
//!
//! They are counted from the tables, not kept in memory, so every instance
//! reports the same figures and a restart loses nothing. Every
//! `HOLDFAST_GAUGE_INTERVAL` each instance runs two index-only counts: the
//! live incidents per priority (the partial index `incidents_live_by_urgency`)
//! and the pending messages (`outbox_due`). Their cost grows with the number
//! of open incidents (some tens of milliseconds per million on PostgreSQL),
//! which is why they run on a timer and never on a scrape.

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Recomputes the gauges every `HOLDFAST_GAUGE_INTERVAL` until `cancel` fires.
pub async fn update_until_cancelled(state: AppState, cancel: CancellationToken) {
    let mut interval = tokio::time::interval(state.config().gauge_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = interval.tick() => {
                if let Err(error) = update(&state).await {
                    tracing::warn!(error = %error, "reading the gauges from the database failed");
                }
            }
        }
    }
}

/// Reads the gauges once.
pub async fn update(state: &AppState) -> Result<(), sqlx::Error> {
    for (priority, count) in state.db().live_incidents_by_priority(i64::MAX, false).await? {
        metrics::gauge!("holdfast_incidents_open", "priority" => priority.as_str()).set(count as f64);
    }
    let pending = state.db().pending_messages().await?;
    metrics::gauge!("holdfast_outbox_pending").set(pending as f64);
    Ok(())
}
