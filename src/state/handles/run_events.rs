//! News of finished runs, for whoever waits on one (the holder whose answer
//! started an automatic unfreeze waits to be told "unfrozen").
//!
//! A run finishes in a transaction; the news goes out only once it commits.
//! On PostgreSQL the transaction itself sends it (`NOTIFY`, delivered at
//! commit to every instance listening); on SQLite, the one instance publishes
//! it after the commit ([`crate::state::AppState::commit`]).

use tokio::sync::broadcast;

use crate::domain::ids::RunId;

/// How many finished runs a slow listener may fall behind before it is told
/// it missed some (and rereads the database).
const CAPACITY: usize = 1024;

/// The process's broadcast of finished runs. Cheap to clone.
#[derive(Clone)]
pub struct RunEvents(broadcast::Sender<RunId>);

impl Default for RunEvents {
    fn default() -> Self {
        Self(broadcast::channel(CAPACITY).0)
    }
}

impl RunEvents {
    /// Tells every waiter in this process that `run_id` finished.
    pub fn publish(&self, run_id: RunId) {
        // No receiver is not an error: nobody is waiting.
        let _ = self.0.send(run_id);
    }

    /// Subscribe before reading the run's state, so no news is missed in between.
    pub fn subscribe(&self) -> broadcast::Receiver<RunId> {
        self.0.subscribe()
    }
}
