//! Holdfast: account-security incident response for a cryptocurrency exchange.
//!
//! The tree is layered; each layer uses only the ones listed before it:
//!
//! - [`domain`]: the rules (priority, incident states, holds, the audit
//!   chain) in plain Rust, with no I/O.
//! - [`platform`]: what the service stands on and knows no database:
//!   configuration, keys and signatures, the clock, the trace context, the
//!   exchange client.
//! - [`storage`]: the one place SQL lives, for PostgreSQL and SQLite.
//! - [`state`]: what every handler and background task shares at run time
//!   (`AppState`, the handles the features give each other, shared state
//!   with Redis or in-process, the hold index).
//! - [`edge`]: HTTP itself: the server and its middleware, extractors,
//!   problem+json, the page shell and its words, telemetry, OpenAPI.
//! - The features ([`alerts`], [`holds`], [`incidents`], [`runs`],
//!   [`holder`], …), one module or folder each, translating HTTP to the
//!   domain; a feature with routes keeps them in its `api` (and its pages in
//!   `web` or `views`).
//! - [`app`] assembles the router and the background tasks on top of
//!   everything; [`cli`] is the command line over it.
//!
//! ARCHITECTURE.md at the repository root is the map.

// Layers, bottom up.
pub mod domain;
pub mod edge;
pub mod platform;
pub mod state;
pub mod storage;

// Features.
pub mod agents;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod console;
pub mod drills;
pub mod feedback;
pub mod gauges;
pub mod holder;
pub mod holds;
pub mod incidents;
pub mod legal_holds;
pub mod notices;
pub mod outbox;
pub mod overview;
pub mod playbooks;
pub mod replay;
pub mod retention;
pub mod rule_quality;
pub mod runs;
pub mod sla;
pub mod unfreeze;

// On top.
pub mod app;
pub mod cli;
