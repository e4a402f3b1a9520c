//! Wakes the delivery loop when a transaction queued a message.

use std::sync::Arc;

use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct OutboxSignal(Arc<Notify>);

impl OutboxSignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Completes at the next [`OutboxSignal::wake`] (or at once if one is pending).
    pub async fn woken(&self) {
        self.0.notified().await;
    }
}
