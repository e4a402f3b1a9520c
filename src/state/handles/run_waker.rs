//! The runner's inbox: whoever learns that something a run waits for has
//! happened (the exchange confirmed one of its messages, say) sends the run's
//! id here, and the runner's own task advances it. Senders need know nothing
//! about the runner.

use tokio::sync::mpsc;

use crate::domain::ids::RunId;

/// The sending side, kept in the application state. Cheap to clone.
#[derive(Clone)]
pub struct RunWaker(mpsc::UnboundedSender<RunId>);

/// The receiving side, owned by the runner (`runs::sweeper::run_until_cancelled`).
pub struct RunWakeups(pub(crate) mpsc::UnboundedReceiver<RunId>);

impl RunWaker {
    pub fn new() -> (RunWaker, RunWakeups) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (RunWaker(sender), RunWakeups(receiver))
    }

    /// Asks the runner to advance `run_id` soon. If the runner has stopped
    /// (shutting down), the sweeper picks the run up after the restart.
    pub fn wake(&self, run_id: RunId) {
        let _ = self.0.send(run_id);
    }
}
