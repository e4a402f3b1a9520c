//! The work done last inside every transaction, before it commits.
//!
//! [`crate::state::AppState::commit`] runs it; the holder feature registers
//! it at start (telling the holders of incidents the change froze, raised or
//! ended, SPEC §13), so the state needs know nothing of the holder.

use std::future::Future;
use std::pin::Pin;

use crate::domain::time::Timestamp;
use crate::state::handles::Links;
use crate::storage::WriteTx;

/// The future [`BeforeCommit::before_commit`] returns.
pub type Pending<'a> = Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'a>>;

/// Work that must happen in the same transaction as every change.
pub trait BeforeCommit: Send + Sync {
    /// Runs last before `tx` commits; an error aborts the commit.
    fn before_commit<'a>(&'a self, tx: &'a mut WriteTx, links: &'a Links<'a>, now: Timestamp) -> Pending<'a>;
}
