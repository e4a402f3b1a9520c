//! Holdfast: account-security incident response for a cryptocurrency exchange.
//!
//! - [`domain`]: the rules (priority, incident states, holds, the audit
//!   chain) in plain Rust, with no HTTP or SQL.
//! - [`storage`]: the one place SQL lives, for PostgreSQL and SQLite.
//! - Feature modules ([`alerts`], [`holds`], …) translate HTTP to the domain.
//! - [`state`] is what handlers and background tasks share; [`app`]
//!   assembles the router and the background tasks on top of everything.
//!
//! ARCHITECTURE.md at the repository root is the map.

pub mod agents;
pub mod alerts;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod campaigns;
pub mod cli;
pub mod client_address;
pub mod clock;
pub mod config;
pub mod console;
pub mod containment;
pub mod crypto;
pub mod domain;
pub mod drills;
pub mod error;
pub mod exchange;
pub mod feedback;
pub mod gauges;
pub mod handles;
pub mod hold_index;
pub mod holder;
pub mod holds;
pub mod http;
pub mod incidents;
pub mod l10n;
pub mod middleware;
pub mod notices;
pub mod openapi;
pub mod outbox;
pub mod overview;
pub mod pages;
pub mod playbooks;
pub mod ratelimit;
pub mod replay;
pub mod rule_quality;
pub mod runs;
pub mod server;
pub mod shared;
pub mod signing;
pub mod sla;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod trace_context;
pub mod unfreeze;
pub mod web;
