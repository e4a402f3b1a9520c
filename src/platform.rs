//! What the service stands on, below storage: it knows no database, no HTTP
//! route and no feature.
//!
//! Typed configuration from `HOLDFAST_*` ([`config`]); secrets at rest,
//! tokens and passwords ([`crypto`]); request signatures and playbook
//! signing keys ([`signing`]); the clock the tests drive ([`clock`]); the
//! W3C trace context a request carries into what it writes
//! ([`trace_context`]); who a client is behind trusted proxies
//! ([`client_address`]); and the client of the exchange and the risk
//! engine ([`exchange`]).

pub mod client_address;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod exchange;
pub mod signing;
pub mod trace_context;
