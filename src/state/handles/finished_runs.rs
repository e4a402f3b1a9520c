//! Who handles a finished run: a table of handlers keyed by playbook kind.
//!
//! The run engine knows no feature. A feature that cares how runs of its
//! kind end (the unfreeze flow, for unfreeze runs) registers a handler at
//! start ([`crate::app`]); `runs::finish` looks the kind up here when a run
//! finishes and calls it in the same transaction. A kind without a handler
//! needs nothing done.
//!
//! The table is generic over the state handlers are given, so this module
//! need not know the application state (which holds the table).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::domain::playbook::PlaybookKind;
use crate::domain::run::{Run, RunOutcome};
use crate::domain::time::Timestamp;
use crate::storage::WriteTx;

/// The future [`FinishedRunHandler::run_finished`] returns.
pub type Pending<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// What a feature does, in the run's transaction, when a run of its kind ends.
pub trait FinishedRunHandler<S>: Send + Sync {
    fn run_finished<'a>(
        &'a self,
        state: &'a S,
        tx: &'a mut WriteTx,
        run: &'a Run,
        outcome: RunOutcome,
        now: Timestamp,
    ) -> Pending<'a>;
}

/// The handlers, one per playbook kind at most.
pub struct FinishedRuns<S>(Vec<(PlaybookKind, Arc<dyn FinishedRunHandler<S>>)>);

impl<S> Default for FinishedRuns<S> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<S> FinishedRuns<S> {
    /// Registers `handler` for runs of `kind` (replacing any before it).
    pub fn register(mut self, kind: PlaybookKind, handler: impl FinishedRunHandler<S> + 'static) -> Self {
        self.0.retain(|(registered, _)| *registered != kind);
        self.0.push((kind, Arc::new(handler)));
        self
    }

    /// The handler for runs of `kind`, if a feature registered one.
    pub fn handler(&self, kind: PlaybookKind) -> Option<&dyn FinishedRunHandler<S>> {
        self.0
            .iter()
            .find(|(registered, _)| *registered == kind)
            .map(|(_, handler)| handler.as_ref())
    }
}
