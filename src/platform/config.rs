//! Typed configuration from `HOLDFAST_*` environment variables (SPEC §1).
//!
//! Every value is parsed and checked at start; a bad value stops the start
//! with a message naming the variable. Secrets are wrapped so `Debug` never
//! prints them.
//!
//! [`Config::from_vars`] reads each variable once, in the order the README
//! lists them; the types it fills are in `parts`, the checks of one value in
//! `values`, and what development generates when nothing is set in
//! `development`.

mod development;
mod parts;
mod values;

pub use development::development_ingest_key;
use development::development_master_key;
pub use parts::{DatabaseKind, Environment, ExchangeConfig, Retention, RetryPolicy, RiskFeedbackConfig, ServerLimits};
use values::{check_http_url, check_otlp_endpoint, check_redis_url, duration_or, parse_or};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::domain::priority::PriorityRules;
use crate::platform::client_address::TrustedProxies;
use crate::platform::crypto::MasterKey;
use crate::platform::signing::{KeyRing, PlaybookKeys, SigningKey};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Open connections served at once, per listener, unless `HOLDFAST_MAX_CONNECTIONS` says otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Open connections one client (TCP peer) may hold on a listener, unless
/// `HOLDFAST_MAX_CONNECTIONS_PER_CLIENT` says otherwise.
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: usize = 64;
/// The longest header read timeout accepted: a slow client may hold a
/// connection this long without sending a request.
pub const MAX_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_DATABASE_URL: &str = "sqlite://holdfast.db";
pub const MASTER_KEY_FILE: &str = "holdfast.key";
/// The id of the ingest key used in development when `HOLDFAST_INGEST_KEYS` is unset.
pub const DEVELOPMENT_KEY_ID: &str = "dev";

#[derive(Clone, Debug)]
pub struct Config {
    pub environment: Environment,
    pub listen: SocketAddr,
    /// Where `/metrics` is served instead of `listen`, when set.
    pub admin_listen: Option<SocketAddr>,
    /// A listener of its own for the exchange and the risk engine, when set:
    /// the signed routes and the health checks, with connection slots no
    /// anonymous client can take.
    pub exchange_listen: Option<SocketAddr>,
    /// The load balancers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    pub server: ServerLimits,
    pub database_url: String,
    pub database_max_connections: u32,
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several deployments can share a Redis.
    pub redis_prefix: String,
    pub ingest_keys: KeyRing,
    pub master_key: MasterKey,
    /// Earlier master keys, still accepted for opening secrets during a rotation.
    pub previous_master_keys: Vec<MasterKey>,
    pub priority_rules: PriorityRules,
    pub playbooks_dir: PathBuf,
    /// Public keys trusted to sign playbooks; when set, unsigned playbooks never run.
    pub playbook_keys: PlaybookKeys,
    pub exchange: Option<ExchangeConfig>,
    /// The risk engine's feedback endpoint; unset, no disposition is queued.
    pub risk_feedback: Option<RiskFeedbackConfig>,
    /// The address account holders reach Holdfast at; links are built from it,
    /// never from a request's Host header. Unset: the address Holdfast listens on.
    pub public_url: Option<String>,
    pub request_timeout: Duration,
    pub outbound_retry: RetryPolicy,
    pub sla_check_interval: Duration,
    /// How often the gauges read from the database (open incidents, pending
    /// messages) are recomputed.
    pub gauge_interval: Duration,
    /// How long each class of data is kept (SPEC §15).
    pub retention: Retention,
    /// Warnings about development defaults, logged once telemetry is up.
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(|name| std::env::var(name).ok().filter(|value| !value.trim().is_empty()))
    }

    /// Reads the configuration through `var`, which returns a variable's value if set.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut warnings = Vec::new();
        let environment = match var("HOLDFAST_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => bail!("HOLDFAST_ENV: `{other}` is neither development nor production"),
        };
        let production = environment == Environment::Production;

        let listen = var("HOLDFAST_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen: SocketAddr = listen
            .parse()
            .with_context(|| format!("HOLDFAST_LISTEN: `{listen}` is not an address such as 127.0.0.1:8080"))?;

        let admin_listen = match var("HOLDFAST_ADMIN_LISTEN") {
            Some(text) => Some(text.parse::<SocketAddr>().with_context(|| {
                format!("HOLDFAST_ADMIN_LISTEN: `{text}` is not an address such as 127.0.0.1:9090")
            })?),
            None if production => bail!(
                "HOLDFAST_ADMIN_LISTEN: required in production, so that /metrics is never served on the public listener"
            ),
            None => None,
        };
        let exchange_listen = match var("HOLDFAST_EXCHANGE_LISTEN") {
            Some(text) => Some(text.parse::<SocketAddr>().with_context(|| {
                format!("HOLDFAST_EXCHANGE_LISTEN: `{text}` is not an address such as 10.0.0.5:8081")
            })?),
            None => None,
        };
        let trusted_proxies = match var("HOLDFAST_TRUSTED_PROXIES") {
            Some(text) => TrustedProxies::parse(&text).map_err(|e| anyhow::anyhow!("HOLDFAST_TRUSTED_PROXIES: {e}"))?,
            None => TrustedProxies::default(),
        };
        let header_read_timeout = duration_or(&var, "HOLDFAST_HEADER_READ_TIMEOUT", "10s")?;
        if header_read_timeout.is_zero() || header_read_timeout > MAX_HEADER_READ_TIMEOUT {
            bail!("HOLDFAST_HEADER_READ_TIMEOUT: must be more than 0 and at most 10s");
        }
        let max_connections = parse_or(&var, "HOLDFAST_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS)?;
        if max_connections == 0 {
            bail!("HOLDFAST_MAX_CONNECTIONS: must be at least 1");
        }
        let max_connections_per_client = parse_or(
            &var,
            "HOLDFAST_MAX_CONNECTIONS_PER_CLIENT",
            DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
        )?;
        if max_connections_per_client == 0 {
            bail!("HOLDFAST_MAX_CONNECTIONS_PER_CLIENT: must be at least 1");
        }

        let database_url = var("HOLDFAST_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let database = DatabaseKind::of_url(&database_url)
            .context("HOLDFAST_DATABASE_URL: must start with postgres://, postgresql:// or sqlite:")?;
        if production && database == DatabaseKind::Sqlite {
            bail!("HOLDFAST_DATABASE_URL: production needs PostgreSQL; SQLite serves one development instance only");
        }
        let database_max_connections = parse_or(&var, "HOLDFAST_DATABASE_MAX_CONNECTIONS", 16u32)?;

        let redis_url = var("HOLDFAST_REDIS_URL");
        if let Some(url) = &redis_url {
            check_redis_url(url, production)?;
        }
        if production && database == DatabaseKind::Postgres && redis_url.is_none() {
            bail!(
                "HOLDFAST_REDIS_URL: required in production with PostgreSQL; instances without it never see each other's hold changes or rate-limit buckets"
            );
        }

        let master_key = match var("HOLDFAST_MASTER_KEY") {
            Some(text) => MasterKey::parse_base64(&text).map_err(|e| anyhow::anyhow!("HOLDFAST_MASTER_KEY: {e}"))?,
            None if production => {
                bail!("HOLDFAST_MASTER_KEY: required in production (base64 of 32 random bytes)")
            }
            None => {
                let (key, created) = development_master_key(Path::new(MASTER_KEY_FILE))?;
                warnings.push(if created {
                    format!("HOLDFAST_MASTER_KEY is unset: generated a development master key into {MASTER_KEY_FILE} (mode 0600)")
                } else {
                    format!("HOLDFAST_MASTER_KEY is unset: using the development master key in {MASTER_KEY_FILE}")
                });
                key
            }
        };

        let previous_master_keys = match var("HOLDFAST_MASTER_KEY_PREVIOUS") {
            Some(text) => text
                .split(',')
                .map(|key| {
                    MasterKey::parse_base64(key).map_err(|e| anyhow::anyhow!("HOLDFAST_MASTER_KEY_PREVIOUS: {e}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
            None => Vec::new(),
        };

        let ingest_keys = match var("HOLDFAST_INGEST_KEYS") {
            Some(text) => KeyRing::parse(&text).map_err(|e| anyhow::anyhow!("HOLDFAST_INGEST_KEYS: {e}"))?,
            None if production => {
                bail!("HOLDFAST_INGEST_KEYS: required in production (key_id=base64secret,…)")
            }
            None => {
                warnings.push(format!(
                    "HOLDFAST_INGEST_KEYS is unset: accepting requests signed with the development key `{DEVELOPMENT_KEY_ID}` \
                     derived from the master key (sign them with `holdfast sign`)"
                ));
                KeyRing::from_keys([development_ingest_key(&master_key)])
            }
        };
        if ingest_keys.is_empty() {
            bail!("HOLDFAST_INGEST_KEYS: no keys given");
        }
        let unscoped = ingest_keys.keys_without_named_scopes();
        if production && !unscoped.is_empty() {
            bail!(
                "HOLDFAST_INGEST_KEYS: in production every key names its scopes (key_id:alerts=…, key_id:holds=…); {} does not",
                unscoped.join(", ")
            );
        }
        for scope in [
            crate::platform::signing::Scope::Holder,
            crate::platform::signing::Scope::Drill,
        ] {
            let mixed = ingest_keys.keys_mixing(scope);
            if production && !mixed.is_empty() {
                bail!(
                    "HOLDFAST_INGEST_KEYS: in production a {scope} key grants no other scope (key_id:{scope}=…); {} does",
                    mixed.join(", ")
                );
            }
        }

        let priority_rules = match var("HOLDFAST_PRIORITY_RULES") {
            Some(path) => load_rules(Path::new(&path)).context("HOLDFAST_PRIORITY_RULES")?,
            None if Path::new("priority.toml").exists() => load_rules(Path::new("priority.toml"))?,
            None => PriorityRules::built_in(),
        };

        let playbooks_dir = PathBuf::from(var("HOLDFAST_PLAYBOOKS").unwrap_or_else(|| "playbooks".into()));
        let playbook_keys = match var("HOLDFAST_PLAYBOOK_KEYS") {
            Some(text) => PlaybookKeys::parse(&text).map_err(|e| anyhow::anyhow!("HOLDFAST_PLAYBOOK_KEYS: {e}"))?,
            None if production => {
                bail!("HOLDFAST_PLAYBOOK_KEYS: required in production; unsigned playbooks must not run")
            }
            None => PlaybookKeys::default(),
        };

        let exchange = match (
            var("HOLDFAST_ACCOUNT_CONTROL_URL"),
            var("HOLDFAST_NOTIFY_URL"),
            var("HOLDFAST_OUTBOUND_KEY"),
        ) {
            (None, None, _) if production => {
                bail!("HOLDFAST_ACCOUNT_CONTROL_URL and HOLDFAST_NOTIFY_URL: required in production")
            }
            (None, None, _) => {
                warnings.push(
                    "HOLDFAST_ACCOUNT_CONTROL_URL and HOLDFAST_NOTIFY_URL are unset: SIMULATING THE EXCHANGE. \
                     Holds and notifications are recorded, not sent; nothing reaches real accounts."
                        .into(),
                );
                None
            }
            (Some(account_control_url), Some(notify_url), Some(key)) => {
                // Plain http only to this machine (a TLS sidecar, say).
                check_http_url("HOLDFAST_ACCOUNT_CONTROL_URL", &account_control_url, production, true)?;
                check_http_url("HOLDFAST_NOTIFY_URL", &notify_url, production, true)?;
                let key = SigningKey::parse(&key).map_err(|e| anyhow::anyhow!("HOLDFAST_OUTBOUND_KEY: {e}"))?;
                Some(ExchangeConfig {
                    account_control_url,
                    notify_url,
                    key,
                })
            }
            (Some(_), Some(_), None) => {
                bail!("HOLDFAST_OUTBOUND_KEY: required when the exchange URLs are set")
            }
            (Some(_), None, _) => {
                bail!("HOLDFAST_NOTIFY_URL: required when HOLDFAST_ACCOUNT_CONTROL_URL is set")
            }
            (None, Some(_), _) => {
                bail!("HOLDFAST_ACCOUNT_CONTROL_URL: required when HOLDFAST_NOTIFY_URL is set")
            }
        };

        let risk_feedback = risk_feedback(&var, exchange.as_ref(), production)?;

        let public_url = match var("HOLDFAST_PUBLIC_URL") {
            Some(url) => {
                check_http_url("HOLDFAST_PUBLIC_URL", &url, production, false)?;
                Some(url.trim_end_matches('/').to_owned())
            }
            None if production => {
                bail!("HOLDFAST_PUBLIC_URL: required in production (the https address holders reach)")
            }
            None => None,
        };

        // Read by `telemetry` (the exporter's own variables); checked here,
        // with every other setting. The traces-only variable wins when both are set.
        for name in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] {
            if let Some(endpoint) = var(name) {
                check_otlp_endpoint(name, &endpoint, production)?;
            }
        }

        let outbound_timeout = duration_or(&var, "HOLDFAST_OUTBOUND_TIMEOUT", "10s")?;
        let outbound_lease = duration_or(&var, "HOLDFAST_OUTBOUND_LEASE", "30s")?;
        if outbound_lease <= outbound_timeout {
            bail!(
                "HOLDFAST_OUTBOUND_LEASE: must be longer than HOLDFAST_OUTBOUND_TIMEOUT, or a slow delivery could be sent twice at once"
            );
        }

        Ok(Config {
            environment,
            listen,
            admin_listen,
            exchange_listen,
            trusted_proxies,
            server: ServerLimits {
                header_read_timeout,
                max_connections,
                max_connections_per_client,
            },
            database_url,
            database_max_connections,
            redis_url,
            redis_prefix: var("HOLDFAST_REDIS_PREFIX").unwrap_or_else(|| "holdfast:".into()),
            ingest_keys,
            master_key,
            previous_master_keys,
            priority_rules,
            playbooks_dir,
            playbook_keys,
            exchange,
            risk_feedback,
            public_url,
            request_timeout: duration_or(&var, "HOLDFAST_REQUEST_TIMEOUT", "10s")?,
            outbound_retry: RetryPolicy {
                max_attempts: parse_or(&var, "HOLDFAST_OUTBOUND_MAX_ATTEMPTS", 8u32)?.max(1),
                timeout: outbound_timeout,
                lease: outbound_lease,
                base_delay: duration_or(&var, "HOLDFAST_OUTBOUND_RETRY_BASE", "1s")?,
                max_delay: duration_or(&var, "HOLDFAST_OUTBOUND_RETRY_MAX", "5m")?,
            },
            sla_check_interval: duration_or(&var, "HOLDFAST_SLA_CHECK_INTERVAL", "1m")?,
            gauge_interval: duration_or(&var, "HOLDFAST_GAUGE_INTERVAL", "15s")?,
            retention: Retention::from_vars(&var)?,
            warnings,
        })
    }
}

/// `HOLDFAST_RISK_FEEDBACK_URL` and `HOLDFAST_RISK_FEEDBACK_KEY`: both or
/// neither, plain http only to this machine in production, and a key of its
/// own (never the secret of `HOLDFAST_OUTBOUND_KEY`).
fn risk_feedback(
    var: &impl Fn(&str) -> Option<String>,
    exchange: Option<&ExchangeConfig>,
    production: bool,
) -> anyhow::Result<Option<RiskFeedbackConfig>> {
    match (var("HOLDFAST_RISK_FEEDBACK_URL"), var("HOLDFAST_RISK_FEEDBACK_KEY")) {
        (None, None) => Ok(None),
        (Some(_), None) => bail!("HOLDFAST_RISK_FEEDBACK_KEY: required when HOLDFAST_RISK_FEEDBACK_URL is set"),
        (None, Some(_)) => bail!("HOLDFAST_RISK_FEEDBACK_URL: required when HOLDFAST_RISK_FEEDBACK_KEY is set"),
        (Some(url), Some(key)) => {
            check_http_url("HOLDFAST_RISK_FEEDBACK_URL", &url, production, true)?;
            let key = SigningKey::parse(&key).map_err(|e| anyhow::anyhow!("HOLDFAST_RISK_FEEDBACK_KEY: {e}"))?;
            if exchange.is_some_and(|exchange| exchange.key.same_secret(&key)) {
                bail!("HOLDFAST_RISK_FEEDBACK_KEY: must be a key of its own, not the secret of HOLDFAST_OUTBOUND_KEY");
            }
            Ok(Some(RiskFeedbackConfig { url, key }))
        }
    }
}

pub fn load_rules(path: &Path) -> anyhow::Result<PriorityRules> {
    let text = std::fs::read_to_string(path).with_context(|| format!("Failed to read {}", path.display()))?;
    PriorityRules::parse(&path.display().to_string(), &text).map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests;
