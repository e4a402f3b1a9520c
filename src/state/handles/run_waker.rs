//! The runner's inbox: whoever learns that something a run waits for has
//! happened (the exchange confirmed one of its messages, say) sends the run's
//! id here, and the runner's own task advances it. Senders need know nothing
//! about the runner. Whoever learns that runs may wait unattended (another
//! instance started one, or announcements may have been missed) asks for a
//! sweep instead.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use crate::domain::ids::RunId;

/// The sending side, kept in the application state. Cheap to clone.
#[derive(Clone)]
pub struct RunWaker(mpsc::UnboundedSender<RunId>, Arc<Notify>);

/// The receiving side, owned by the runner (`runs::sweeper::run_until_cancelled`).
pub struct RunWakeups(
    pub(crate) mpsc::UnboundedReceiver<RunId>,
    /// Notified by [`RunWaker::sweep_soon`].
    pub(crate) Arc<Notify>,
);

impl RunWaker {
    pub fn new() -> (RunWaker, RunWakeups) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let sweep = Arc::new(Notify::new());
        (RunWaker(sender, sweep.clone()), RunWakeups(receiver, sweep))
    }

    /// Asks the runner to advance `run_id` soon. If the runner has stopped
    /// (shutting down), the sweeper picks the run up after the restart.
    pub fn wake(&self, run_id: RunId) {
        let _ = self.0.send(run_id);
    }

    /// Asks the runner to look for runs in progress now rather than at the
    /// time it had planned to.
    pub fn sweep_soon(&self) {
        self.1.notify_one();
    }
}
