//! HTTP itself, between the network and the features.
//!
//! The server and its slow-client protections ([`server`]), the one layer
//! stack every response passes ([`middleware`]), the route table and the
//! extractors features use ([`http`]), errors rendered as problem+json
//! ([`error`]) and as pages ([`pages`]), the shell every HTML page shares
//! ([`web`]) and its words in each language ([`l10n`]), logs, spans and
//! metrics ([`telemetry`]), and the API description ([`openapi`]). It uses
//! the layers below it and no feature; the features register their routes
//! in its table, and `app` puts it together.

pub mod error;
pub mod http;
pub mod l10n;
pub mod middleware;
pub mod openapi;
pub mod pages;
pub mod server;
pub mod telemetry;
pub mod web;
