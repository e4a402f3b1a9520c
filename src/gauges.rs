//! Gauges read from the database when scraped: `holdfast_incidents_open`
//! (by priority) and `holdfast_outbox_pending`.
//!
//! They are counted from the tables, not kept in memory, so every instance
//! reports the same figures and a restart loses nothing. A scrape of
//! `/metrics` recounts them when the last count is older than
//! `HOLDFAST_GAUGE_INTERVAL`: two index-only counts, the live incidents per
//! priority (the partial index `incidents_live_by_urgency`) and the pending
//! messages (`outbox_due`). Their cost grows with the number of open
//! incidents (some tens of milliseconds per million on PostgreSQL), which is
//! why scrapes closer together than the interval share one count; an
//! instance nobody scrapes never counts, so an idle one costs its database
//! nothing for them.

use crate::state::AppState;

/// Recounts the gauges if the last count is older than
/// `HOLDFAST_GAUGE_INTERVAL`. Concurrent scrapes wait for one count.
pub async fn update_if_stale(state: &AppState) {
    let mut read_at = state.gauges_read_at().lock().await;
    if read_at.is_some_and(|at| at.elapsed() < state.config().gauge_interval) {
        return;
    }
    match update(state).await {
        Ok(()) => *read_at = Some(tokio::time::Instant::now()),
        Err(error) => tracing::warn!(error = %error, "reading the gauges from the database failed"),
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
