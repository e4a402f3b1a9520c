//! Whether the hold cache's change feed is current: lost on any failed Redis
//! command or dropped connection, current again once the epoch is bumped.

use std::sync::Mutex;

use tokio::sync::Notify;

/// Whether this instance may trust the holds cached in Redis: not since a
/// Redis command failed or the connection dropped, until the epoch was
/// bumped after it (see the module documentation).
pub(super) struct CacheFeed {
    // A std mutex: held to read or flip two fields, never across an await.
    pub(super) state: Mutex<FeedState>,
    /// Woken by every loss, for the resync task.
    pub(super) lost: Notify,
}

pub(super) struct FeedState {
    pub(super) current: bool,
    /// Counts the losses, so a resync that began before the latest one
    /// does not make the cache trusted.
    pub(super) losses: u64,
}

impl CacheFeed {
    pub(super) fn new() -> Self {
        metrics::gauge!("holdfast_holds_feed_current").set(1.0);
        Self {
            state: Mutex::new(FeedState {
                current: true,
                losses: 0,
            }),
            lost: Notify::new(),
        }
    }

    pub(super) fn is_current(&self) -> bool {
        self.state.lock().expect("feed lock").current
    }

    pub(super) fn losses(&self) -> u64 {
        self.state.lock().expect("feed lock").losses
    }

    /// Redis failed, or the connection dropped: what it caches may have
    /// missed an invalidation.
    pub(super) fn lost(&self, error: &dyn std::fmt::Display) {
        let mut state = self.state.lock().expect("feed lock");
        state.losses += 1;
        if std::mem::take(&mut state.current) {
            metrics::gauge!("holdfast_holds_feed_current").set(0.0);
            tracing::warn!(
                error = %error,
                "lost Redis, the change feed of holds; every holds check reads the database until the cache is resynced"
            );
        }
        drop(state);
        self.lost.notify_one();
    }

    /// The epoch was bumped after `losses` losses: trust the cache again,
    /// unless it was lost once more meanwhile.
    pub(super) fn resynced(&self, losses: u64) -> bool {
        let mut state = self.state.lock().expect("feed lock");
        if state.current || state.losses != losses {
            return false;
        }
        state.current = true;
        metrics::gauge!("holdfast_holds_feed_current").set(1.0);
        metrics::counter!("holdfast_hold_index_resyncs_total", "feed" => "redis").increment(1);
        tracing::info!("Redis, the change feed of holds, is back: every entry cached before is forgotten");
        true
    }
}
