//! The parts of the configuration, each a typed value read once at start:
//! the environment, the listeners' limits, the exchange and the risk engine to
//! call, the retry policy, the database kind and the retention per data class.

use std::time::Duration;

use anyhow::bail;

use crate::domain::time::parse_duration;
use crate::platform::signing::SigningKey;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Where Holdfast sends what the exchange must do; `None` simulates the exchange.
#[derive(Clone, Debug)]
pub struct ExchangeConfig {
    pub account_control_url: String,
    pub notify_url: String,
    pub key: SigningKey,
}

/// Where Holdfast tells the risk engine how incidents ended (SPEC §14), and
/// the key it signs with: its own, never the exchange's outbound key.
#[derive(Clone, Debug)]
pub struct RiskFeedbackConfig {
    pub url: String,
    pub key: SigningKey,
}

/// How the outbox retries deliveries the exchange did not confirm.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// How long one request to the exchange may take.
    pub timeout: Duration,
    /// How long a delivery keeps its message claimed; after a crash, another
    /// delivery (same idempotency key) follows once it runs out.
    pub lease: Duration,
    /// The wait after the first failure; it doubles after each (with jitter).
    pub base_delay: Duration,
    pub max_delay: Duration,
}

/// How the listeners treat connections (`src/server.rs`).
#[derive(Clone, Copy, Debug)]
pub struct ServerLimits {
    /// A connection must deliver a request's complete headers within this
    /// long of the server starting to wait for them (on a new connection,
    /// and between requests on a kept-alive one), or it is closed.
    pub header_read_timeout: Duration,
    /// Open connections per listener; past it, new connections wait in the
    /// kernel's accept queue.
    pub max_connections: usize,
    /// Open connections one TCP peer (an IPv6 peer: its /64) may hold on a
    /// listener; one more is closed at once. Trusted proxies are exempt.
    pub max_connections_per_client: usize,
}

/// How long each class of data is kept, counted from each row's creation
/// (SPEC §15): maxima, applied by the retention task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Raw alert bodies and signal values (IP addresses, device ids,
    /// destinations): `HOLDFAST_RETENTION_ALERTS`, 90 days.
    pub alerts: Duration,
    /// The holder's messages: `HOLDFAST_RETENTION_MESSAGES`, a year.
    pub messages: Duration,
    /// What was delivered to the exchange, the notification service and
    /// the risk engine, with their answers: `HOLDFAST_RETENTION_DELIVERIES`,
    /// a year (the incident's timeline and its runs keep that each was sent
    /// and confirmed).
    pub deliveries: Duration,
    /// Incidents and their timelines: `HOLDFAST_RETENTION_INCIDENTS`, 5 years.
    pub incidents: Duration,
    /// The audit log (archived, never expired by the retention task):
    /// `HOLDFAST_RETENTION_AUDIT`, 5 years.
    pub audit: Duration,
}

impl Retention {
    /// Reads the retention settings alone (for commands that need no other setting).
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(&|name: &str| std::env::var(name).ok().filter(|value| !value.trim().is_empty()))
    }

    pub(super) fn from_vars(var: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let class = |name: &str, default: &str| -> anyhow::Result<Duration> {
            let text = var(name).unwrap_or_else(|| default.to_owned());
            let duration = parse_duration(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            if duration.is_zero() {
                bail!("{name}: `{text}` would keep nothing; write a duration such as 90d or 1y");
            }
            Ok(duration)
        };
        Ok(Retention {
            alerts: class("HOLDFAST_RETENTION_ALERTS", "90d")?,
            messages: class("HOLDFAST_RETENTION_MESSAGES", "365d")?,
            deliveries: class("HOLDFAST_RETENTION_DELIVERIES", "365d")?,
            incidents: class("HOLDFAST_RETENTION_INCIDENTS", "5y")?,
            audit: class("HOLDFAST_RETENTION_AUDIT", "5y")?,
        })
    }
}

/// Which database an URL selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    Postgres,
    Sqlite,
}

impl DatabaseKind {
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(DatabaseKind::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(DatabaseKind::Sqlite)
        } else {
            None
        }
    }
}
