//! The holder's line (SPEC §13): the account holder is told at once, can
//! stop a thief with one tap, and stays in one conversation with the
//! security team until the case ends.
//!
//! - [`crate::notices`]: risk notices and the case's end, queued in the
//!   transaction of the change (registered at start, run by
//!   `AppState::commit`); below both this feature and the unfreeze flow,
//!   which send case links too.
//! - [`case`]: a case link's token and what the holder sees of the case;
//!   [`error`]: why a case action did not go through.
//! - [`protect`]: "this was not me", "this was me", and locking an account
//!   (from a lock link or the exchange's app): one service function each.
//! - [`report`]: reporting theft without signing in (lock links);
//!   [`lock_request`]: the exchange app's lock, answered once per request.
//! - [`messages`]: the thread between the holder and the team.
//! - [`satisfaction`]: "How did we do?" once the case ends.
//! - [`api`] (JSON) and [`web`] (pages): two adapters over the same functions.
//!
//! A case link is a bearer link a thief may hold too: nothing reached
//! through it lifts, lowers or proves anything.

use crate::edge::http::Routes;
use crate::state::AppState;

pub mod api;
pub mod case;
pub mod error;
pub mod lock_request;
pub mod messages;
pub mod protect;
pub mod report;
pub mod satisfaction;
pub mod web;

pub fn routes(state: AppState) -> Routes {
    api::routes().merge(web::routes(state))
}
