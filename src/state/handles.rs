//! What the features give each other, below them all.
//!
//! The application state ([`crate::state`]) holds these handles, and a
//! feature reaches another only through them: the intake queue alerts are
//! submitted through, the runner's waker, the news of finished runs, the
//! outbox's signal, the playbooks loaded at start, where links to Holdfast
//! point, the work done last before every commit, and who handles a finished
//! run of each playbook kind. This module imports no feature; where a feature
//! must act (telling the holder before a commit, learning that an unfreeze
//! run ended), it implements a trait of this module and is registered at
//! start by [`crate::app`].

pub mod before_commit;
pub mod finished_runs;
pub mod intake;
pub mod links;
pub mod outbox_signal;
pub mod playbooks;
pub mod run_events;
pub mod run_waker;

pub use before_commit::BeforeCommit;
pub use finished_runs::{FinishedRunHandler, FinishedRuns};
pub use intake::{Ingested, Intake, IntakeQueue};
pub use links::Links;
pub use outbox_signal::OutboxSignal;
pub use playbooks::{LoadedPlaybook, Playbooks};
pub use run_events::RunEvents;
pub use run_waker::{RunWaker, RunWakeups};
