//! Retention (SPEC §15): the background task that creates each month's
//! partitions ahead of time and expires what is past its class's limit
//! (`HOLDFAST_RETENTION_*`, incidents whole), sparing live and legally held
//! incidents. The work itself is storage's (`storage/retention.rs`); this
//! module runs it at start and daily, and counts what it did.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::state::AppState;
use crate::storage::Expiry;

/// Months created ahead of the current one.
pub const MONTHS_AHEAD: u32 = 2;

/// How often a pass runs (and once at start).
pub const PASS_INTERVAL: Duration = Duration::from_secs(86_400);

/// One pass: partitions ahead, then expiry. `None` when another instance
/// is doing the work (it holds the retention lock).
pub async fn run_once(state: &AppState) -> Result<Option<Expiry>, sqlx::Error> {
    let now = state.clock().now();
    let db = state.db();
    if db.create_partitions(now, MONTHS_AHEAD).await?.is_none() {
        return Ok(None);
    }
    let Some(expiry) = db.expire_history(now, &state.config().retention).await? else {
        return Ok(None);
    };
    for (history, _) in &expiry.partitions_dropped {
        metrics::counter!("holdfast_retention_partitions_dropped_total", "table" => history.table()).increment(1);
    }
    for (class, rows) in &expiry.rows_expired {
        metrics::counter!("holdfast_retention_rows_expired_total", "class" => *class).increment(*rows);
    }
    // Logged on every pass, expiring or not: once a day, and what tells an
    // operator (and `load/history.sh`) that a pass has finished.
    tracing::info!(
        partitions_dropped = expiry.partitions_dropped.len(),
        rows_expired = expiry.rows_expired.iter().map(|(_, rows)| rows).sum::<u64>(),
        rows_carried_forward = expiry.rows_carried_forward,
        "retention pass done"
    );
    Ok(Some(expiry))
}

/// Runs a pass at start and every [`PASS_INTERVAL`] until `cancel`.
pub async fn maintain(state: AppState, cancel: CancellationToken) {
    let mut interval = tokio::time::interval(PASS_INTERVAL);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = interval.tick() => {
                if let Err(error) = run_once(&state).await {
                    tracing::warn!(error = %error, "retention pass failed");
                }
            }
        }
    }
}
