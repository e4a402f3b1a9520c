//! Holdfast's integration tests: the real server on port 0, real PostgreSQL
//! and SQLite, and a fake exchange. Every storage behaviour runs on both
//! backends (`…::sqlite` and `…::postgres`).

mod helpers;

mod alerts;
mod architecture;
mod audit;
mod audit_archive;
mod auth;
mod browser;
mod campaigns;
mod client_address;
mod connections;
mod console;
mod contract;
mod deploy;
mod dispositions;
mod drills;
mod exchange_listener;
mod fake_exchange;
mod fake_risk_engine;
mod health;
mod holder;
mod holds;
mod incidents;
mod instances;
mod key_scopes;
mod lockout;
mod metric_conventions;
mod metrics;
mod openapi;
mod otlp;
mod outbound;
mod overview;
mod playbooks;
mod problems;
mod production;
mod replay;
mod restart;
mod retention;
mod roles;
mod rule_quality;
mod runs;
mod sla;
mod slow_clients;
mod trace_context;
mod translations;
mod unfreeze;
mod wakeups;
mod web;
