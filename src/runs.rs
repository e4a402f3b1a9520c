//! Playbook runs.
//!
//! A run is durable: every step's state is stored, and the [`engine`] moves a
//! locked run forward as far as it can go, in the caller's transaction. Runs
//! are advanced when they start, when an approval or a resume arrives
//! ([`agent_actions`], for the API and the console), when the exchange answers one of their messages or the holder's
//! identity is verified ([`crate::state::handles::RunWaker`]), and by a sweeper that picks up runs left
//! `running` after a restart ([`sweeper`]). What a finished run means to
//! other features is the business of the feature that owns the playbook kind,
//! registered at start and called by [`finish`], not the engine's. A P1 is
//! contained by [`containment`] through the engine alone: its playbook's
//! automatic steps, then the floor of holds every automatic containment
//! places.

pub mod agent_actions;
pub mod api;
pub mod containment;
pub mod engine;
pub mod finish;
pub mod sweeper;
