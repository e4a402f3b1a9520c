//! The account holder's self-service unfreeze flow (SPEC §8).
//!
//! - [`link`]: asking for a link (always the same `202`; the work happens in
//!   the background so neither body nor timing says whether the account
//!   exists or is frozen).
//! - [`flow`]: the holder's steps and the route to the automatic unfreeze or
//!   the agents' queue; [`status`]: what the holder sees; [`codes`]: the
//!   one-time codes; [`notify`]: telling the holder about every change.
//! - [`review`]: the agents' side; [`outcome`]: what a finished unfreeze run
//!   means to the flow; [`expiry`]: closing flows after 24 h.
//! - [`api`] (JSON) and [`web`] (HTML pages): two adapters over the same
//!   functions.
//!
//! Secrets: flow tokens (256 random bits) are stored as SHA-256; one-time
//! codes as an HMAC under a key derived from the master key. Notifications
//! carrying either are sealed in the outbox and redacted once sent.

use crate::edge::http::Routes;
use crate::state::AppState;

pub mod api;
pub mod codes;
pub mod error;
pub mod expiry;
pub mod flow;
pub mod link;
pub mod notify;
pub mod outcome;
pub mod review;
pub mod status;
pub mod web;

/// The playbook that gives accounts back.
pub const UNFREEZE_PLAYBOOK: &str = "unfreeze-account";

pub fn routes(state: AppState) -> Routes {
    api::routes().merge(web::routes(state))
}
