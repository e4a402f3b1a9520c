//! Typed configuration from `HOLDFAST_*` environment variables (SPEC §1).
//!
//! Every value is parsed and checked at start; a bad value stops the start
//! with a message naming the variable. Secrets are wrapped so `Debug` never
//! prints them.
//!
//! (Over 400 lines: one typed, validated field per `HOLDFAST_*` variable,
//! each with the message naming it; its unit tests stay at the end.)

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;

use crate::domain::priority::PriorityRules;
use crate::domain::time::parse_duration;
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

/// The development ingest key, derived from the master key so every
/// installation has its own and `holdfast sign` can recompute it.
pub fn development_ingest_key(master_key: &MasterKey) -> SigningKey {
    SigningKey::new(
        DEVELOPMENT_KEY_ID,
        &master_key.derive("holdfast development ingest key v1"),
    )
}

pub fn load_rules(path: &Path) -> anyhow::Result<PriorityRules> {
    let text = std::fs::read_to_string(path).with_context(|| format!("Failed to read {}", path.display()))?;
    PriorityRules::parse(&path.display().to_string(), &text).map_err(anyhow::Error::msg)
}

/// Reads the development master key from `path`, creating it (mode 0600) if absent.
fn development_master_key(path: &Path) -> anyhow::Result<(MasterKey, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = MasterKey::parse_base64(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
                .map_err(|_| anyhow::anyhow!("the system random number generator failed"))?;
            let text = base64::engine::general_purpose::STANDARD.encode(bytes);
            write_private_file(path, text.as_bytes()).with_context(|| format!("Failed to write {}", path.display()))?;
            Ok((MasterKey::from_bytes(bytes), true))
        }
        Err(e) => Err(e).with_context(|| format!("Failed to read {}", path.display())),
    }
}

fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Checks an http(s) URL; with `https_only` (production), plain http is
/// refused, but to this machine when `loopback_allowed`.
fn check_http_url(name: &str, url: &str, https_only: bool, loopback_allowed: bool) -> anyhow::Result<()> {
    let rest = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => rest,
        (None, Some(rest)) if https_only && !(loopback_allowed && is_loopback(host_of(rest))) => {
            // The URL is not repeated: it may carry credentials.
            bail!("{name}: plain http:// is refused in production; use https://")
        }
        (None, Some(rest)) => rest,
        (None, None) => bail!("{name}: `{url}` must start with http:// or https://"),
    };
    if rest.is_empty() || rest.starts_with('/') {
        bail!("{name}: `{url}` has no host");
    }
    Ok(())
}

/// Checks a Redis URL: `redis://`, `rediss://` (TLS) or a Unix socket
/// (`redis+unix://`, `unix://`). In production a plain `redis://` may only
/// reach this machine: anything else would cross the network in clear.
fn check_redis_url(url: &str, production: bool) -> anyhow::Result<()> {
    const NAME: &str = "HOLDFAST_REDIS_URL";
    if ["rediss://", "redis+unix://", "unix://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
    {
        return Ok(());
    }
    // The URL is not repeated: it may carry a password.
    let Some(rest) = url.strip_prefix("redis://") else {
        bail!("{NAME}: must start with redis://, rediss:// or redis+unix://");
    };
    if production && !is_loopback(host_of(rest)) {
        bail!(
            "{NAME}: plain redis:// to another machine is refused in production; use rediss:// (TLS), a loopback address or a Unix socket (redis+unix://)"
        );
    }
    Ok(())
}

/// Checks an OTLP endpoint: in production it must be `https://` unless it
/// is on this machine (a loopback address or a Unix socket): spans carry
/// identifiers of accounts and incidents.
fn check_otlp_endpoint(name: &str, endpoint: &str, production: bool) -> anyhow::Result<()> {
    if !production || endpoint.starts_with("https://") || endpoint.starts_with("unix:") {
        return Ok(());
    }
    let loopback = endpoint
        .strip_prefix("http://")
        .is_some_and(|rest| is_loopback(host_of(rest)));
    if !loopback {
        bail!("{name}: production exports spans only over https:// (or to a loopback address or a Unix socket)");
    }
    Ok(())
}

/// The host of what follows a URL's `scheme://`: no credentials, port or path.
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    match host_port.strip_prefix('[') {
        // [IPv6]:port
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    }
}

/// Whether `host` names this machine: `localhost` or a loopback address.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

fn parse_or<T: std::str::FromStr>(var: &impl Fn(&str) -> Option<String>, name: &str, default: T) -> anyhow::Result<T> {
    match var(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}: `{text}` is not a valid number")),
    }
}

fn duration_or(var: &impl Fn(&str) -> Option<String>, name: &str, default: &str) -> anyhow::Result<Duration> {
    let text = var(name).unwrap_or_else(|| default.to_owned());
    if let Some(ms) = text.trim().strip_suffix("ms") {
        return ms
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| anyhow::anyhow!("{name}: `{text}` is not a duration"));
    }
    parse_duration(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))
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

    fn from_vars(var: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_vars(|name| vars.get(name).cloned())
    }

    fn production() -> Vec<(&'static str, String)> {
        vec![
            ("HOLDFAST_ENV", "production".into()),
            ("HOLDFAST_DATABASE_URL", "postgres://db/holdfast".into()),
            ("HOLDFAST_REDIS_URL", "rediss://redis:6380".into()),
            ("HOLDFAST_MASTER_KEY", SECRET.into()),
            (
                "HOLDFAST_INGEST_KEYS",
                format!("engine:alerts={SECRET},exchange:holds={SECRET}"),
            ),
            ("HOLDFAST_ACCOUNT_CONTROL_URL", "https://exchange/control".into()),
            ("HOLDFAST_NOTIFY_URL", "https://exchange/notify".into()),
            ("HOLDFAST_OUTBOUND_KEY", format!("holdfast={SECRET}")),
            ("HOLDFAST_PUBLIC_URL", "https://holdfast.example".into()),
            ("HOLDFAST_ADMIN_LISTEN", "10.0.0.5:9090".into()),
            (
                "HOLDFAST_PLAYBOOK_KEYS",
                "team=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into(),
            ),
        ]
    }

    /// The production settings with `name` set to `value`.
    fn with(vars: &[(&'static str, String)], name: &'static str, value: &str) -> anyhow::Result<Config> {
        let mut vars = vars.to_vec();
        vars.retain(|(k, _)| *k != name);
        vars.push((name, value.to_owned()));
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        config(&vars)
    }

    fn without(vars: &[(&'static str, String)], name: &str) -> anyhow::Result<Config> {
        let vars: Vec<(&str, &str)> = vars
            .iter()
            .filter(|(k, _)| *k != name)
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        config(&vars)
    }

    #[test]
    fn retention_defaults_follow_the_spec_and_bad_durations_name_their_variable() {
        let vars = production();
        let config = config(&vars.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).unwrap();
        let days = |n: u64| Duration::from_secs(n * 86_400);
        assert_eq!(config.retention.alerts, days(90));
        assert_eq!(config.retention.messages, days(365));
        assert_eq!(config.retention.incidents, days(5 * 365));
        assert_eq!(config.retention.audit, days(5 * 365));
        let config = with(&vars, "HOLDFAST_RETENTION_AUDIT", "7y").unwrap();
        assert_eq!(config.retention.audit, days(7 * 365));
        let config = with(&vars, "HOLDFAST_RETENTION_ALERTS", "12h").unwrap();
        assert_eq!(config.retention.alerts, Duration::from_secs(12 * 3600));
        for garbage in ["90", "ninety days", "90 days", "-1d", "0d", "1.5y"] {
            let error = with(&vars, "HOLDFAST_RETENTION_MESSAGES", garbage).unwrap_err();
            assert!(
                error.to_string().starts_with("HOLDFAST_RETENTION_MESSAGES: "),
                "{garbage}: {error}"
            );
        }
    }

    #[test]
    fn a_complete_production_configuration_loads() {
        let vars = production();
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let config = config(&vars).unwrap();
        assert_eq!(config.environment, Environment::Production);
        assert!(config.warnings.is_empty());
    }

    #[test]
    fn production_refuses_every_insecure_default() {
        let vars = production();
        for name in [
            "HOLDFAST_MASTER_KEY",
            "HOLDFAST_INGEST_KEYS",
            "HOLDFAST_PUBLIC_URL",
            "HOLDFAST_PLAYBOOK_KEYS",
            "HOLDFAST_REDIS_URL",
            "HOLDFAST_ADMIN_LISTEN",
        ] {
            let error = without(&vars, name).unwrap_err().to_string();
            assert!(error.starts_with(name), "{name}: {error}");
        }
        let error = without(&vars, "HOLDFAST_DATABASE_URL").unwrap_err().to_string();
        assert!(error.contains("production needs PostgreSQL"), "{error}");
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let error = config(&[("HOLDFAST_LISTEN", "nowhere"), ("HOLDFAST_MASTER_KEY", SECRET)]).unwrap_err();
        assert!(error.to_string().starts_with("HOLDFAST_LISTEN"));
        let error = config(&[("HOLDFAST_MASTER_KEY", "c2hvcnQ=")]).unwrap_err();
        assert!(
            error.to_string().contains("HOLDFAST_MASTER_KEY: decodes to 5 bytes"),
            "{error}"
        );
        let error = config(&[("HOLDFAST_MASTER_KEY", SECRET), ("HOLDFAST_INGEST_KEYS", "k=c2hvcnQ=")]).unwrap_err();
        assert!(error.to_string().starts_with("HOLDFAST_INGEST_KEYS"));
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let config = config(&[
            ("HOLDFAST_MASTER_KEY", SECRET),
            ("HOLDFAST_INGEST_KEYS", &format!("engine={SECRET}")),
        ])
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains(SECRET));
        assert!(!printed.contains("0123456789abcdef"));
    }

    #[test]
    fn production_with_postgresql_needs_redis_and_development_does_not() {
        let error = without(&production(), "HOLDFAST_REDIS_URL").unwrap_err().to_string();
        assert!(
            error.starts_with("HOLDFAST_REDIS_URL: required in production"),
            "{error}"
        );
        let development = config(&[
            ("HOLDFAST_MASTER_KEY", SECRET),
            ("HOLDFAST_DATABASE_URL", "postgres://db/holdfast"),
        ])
        .unwrap();
        assert!(development.redis_url.is_none());
    }

    #[test]
    fn production_needs_every_ingest_key_to_name_its_scopes() {
        let error = with(
            &production(),
            "HOLDFAST_INGEST_KEYS",
            &format!("engine:alerts={SECRET},legacy={SECRET}"),
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("HOLDFAST_INGEST_KEYS"), "{error}");
        assert!(error.contains("legacy does not"), "{error}");
        assert!(!error.contains(SECRET), "{error}");
        let both = with(
            &production(),
            "HOLDFAST_INGEST_KEYS",
            &format!("engine:alerts+holds={SECRET}"),
        );
        assert!(both.is_ok(), "{both:?}");
    }

    #[test]
    fn production_refuses_a_holder_key_that_grants_another_scope() {
        let error = with(
            &production(),
            "HOLDFAST_INGEST_KEYS",
            &format!("engine:alerts+holds={SECRET},app:holder+holds={SECRET}"),
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("HOLDFAST_INGEST_KEYS"), "{error}");
        assert!(error.contains("app does"), "{error}");
        let apart = with(
            &production(),
            "HOLDFAST_INGEST_KEYS",
            &format!("engine:alerts+holds={SECRET},app:holder={SECRET}"),
        );
        assert!(apart.is_ok(), "{apart:?}");
    }

    #[test]
    fn production_refuses_plain_http_urls_and_development_allows_them() {
        for name in [
            "HOLDFAST_ACCOUNT_CONTROL_URL",
            "HOLDFAST_NOTIFY_URL",
            "HOLDFAST_PUBLIC_URL",
        ] {
            let error = with(&production(), name, "http://exchange.internal/endpoint")
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(name), "{name}: {error}");
            assert!(error.contains("https://"), "{name}: {error}");
        }
        for name in ["HOLDFAST_ACCOUNT_CONTROL_URL", "HOLDFAST_NOTIFY_URL"] {
            let sidecar = with(&production(), name, "http://127.0.0.1:8443/endpoint");
            assert!(sidecar.is_ok(), "{name} to this machine: {sidecar:?}");
        }
        let error = with(&production(), "HOLDFAST_PUBLIC_URL", "http://127.0.0.1:8080")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("HOLDFAST_PUBLIC_URL"), "{error}");
        let development = config(&[
            ("HOLDFAST_MASTER_KEY", SECRET),
            ("HOLDFAST_ACCOUNT_CONTROL_URL", "http://127.0.0.1:1/control"),
            ("HOLDFAST_NOTIFY_URL", "http://127.0.0.1:1/notify"),
            ("HOLDFAST_OUTBOUND_KEY", &format!("holdfast={SECRET}")),
            ("HOLDFAST_PUBLIC_URL", "http://127.0.0.1:8080"),
        ]);
        assert!(development.is_ok(), "{development:?}");
    }

    #[test]
    fn production_needs_the_admin_listener_so_metrics_stay_off_the_public_one() {
        let error = without(&production(), "HOLDFAST_ADMIN_LISTEN").unwrap_err().to_string();
        assert!(
            error.starts_with("HOLDFAST_ADMIN_LISTEN: required in production"),
            "{error}"
        );
        let development = config(&[("HOLDFAST_MASTER_KEY", SECRET)]).unwrap();
        assert!(development.admin_listen.is_none());
    }

    #[test]
    fn production_refuses_plain_redis_to_another_machine() {
        for url in [
            "redis://redis.internal:6379",
            "redis://:secret@10.0.0.7:6379/0",
            "redis://[2001:db8::7]:6379",
        ] {
            let error = with(&production(), "HOLDFAST_REDIS_URL", url).unwrap_err().to_string();
            assert!(error.starts_with("HOLDFAST_REDIS_URL"), "{url}: {error}");
            assert!(error.contains("rediss://"), "{url}: {error}");
            assert!(!error.contains("secret"), "{url}: {error}");
            let development = config(&[("HOLDFAST_MASTER_KEY", SECRET), ("HOLDFAST_REDIS_URL", url)]);
            assert!(development.is_ok(), "{url}: {development:?}");
        }
        for url in [
            "rediss://redis.internal:6380",
            "rediss://:secret@10.0.0.7:6380/0",
            "redis://127.0.0.1:6379",
            "redis://localhost",
            "redis://:secret@127.0.0.2:6379/1",
            "redis://[::1]:6379",
            "redis+unix:///run/redis.sock",
            "unix:///run/redis.sock",
        ] {
            let loaded = with(&production(), "HOLDFAST_REDIS_URL", url);
            assert!(loaded.is_ok(), "{url}: {loaded:?}");
        }
        let error = with(&production(), "HOLDFAST_REDIS_URL", "http://redis:6379")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("HOLDFAST_REDIS_URL: must start with"), "{error}");
    }

    #[test]
    fn production_exports_spans_only_over_tls_or_on_this_machine() {
        for name in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] {
            for endpoint in [
                "http://collector.internal:4317",
                "http://10.0.0.9:4317",
                "collector:4317",
            ] {
                let error = with(&production(), name, endpoint).unwrap_err().to_string();
                assert!(error.starts_with(name), "{name}={endpoint}: {error}");
                assert!(error.contains("https://"), "{error}");
                let development = config(&[("HOLDFAST_MASTER_KEY", SECRET), (name, endpoint)]);
                assert!(development.is_ok(), "{name}={endpoint}: {development:?}");
            }
            for endpoint in [
                "https://collector.internal:4317",
                "http://127.0.0.1:4317",
                "http://localhost:4317",
                "http://[::1]:4317",
                "unix:///run/otel.sock",
            ] {
                let loaded = with(&production(), name, endpoint);
                assert!(loaded.is_ok(), "{name}={endpoint}: {loaded:?}");
            }
        }
    }

    #[test]
    fn edge_settings_are_parsed_and_bad_ones_name_their_variable() {
        let config_with = |name: &str, value: &str| config(&[("HOLDFAST_MASTER_KEY", SECRET), (name, value)]);
        let defaults = config(&[("HOLDFAST_MASTER_KEY", SECRET)]).unwrap();
        assert_eq!(defaults.server.header_read_timeout, Duration::from_secs(10));
        assert_eq!(defaults.server.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(defaults.server.max_connections_per_client, 64);
        assert!(defaults.admin_listen.is_none());
        assert!(defaults.exchange_listen.is_none());
        assert!(defaults.trusted_proxies.is_empty());

        let set = config(&[
            ("HOLDFAST_MASTER_KEY", SECRET),
            ("HOLDFAST_HEADER_READ_TIMEOUT", "500ms"),
            ("HOLDFAST_MAX_CONNECTIONS", "64"),
            ("HOLDFAST_MAX_CONNECTIONS_PER_CLIENT", "8"),
            ("HOLDFAST_ADMIN_LISTEN", "127.0.0.1:9090"),
            ("HOLDFAST_EXCHANGE_LISTEN", "10.0.0.5:8081"),
            ("HOLDFAST_TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32"),
        ])
        .unwrap();
        assert_eq!(set.server.header_read_timeout, Duration::from_millis(500));
        assert_eq!(set.server.max_connections, 64);
        assert_eq!(set.server.max_connections_per_client, 8);
        assert_eq!(set.admin_listen, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(set.exchange_listen, Some("10.0.0.5:8081".parse().unwrap()));
        assert!(set.trusted_proxies.contains("10.2.3.4".parse().unwrap()));
        assert!(set.trusted_proxies.contains("2001:db8::7".parse().unwrap()));

        for (name, value) in [
            ("HOLDFAST_HEADER_READ_TIMEOUT", "11s"),
            ("HOLDFAST_HEADER_READ_TIMEOUT", "0s"),
            ("HOLDFAST_MAX_CONNECTIONS", "0"),
            ("HOLDFAST_MAX_CONNECTIONS", "many"),
            ("HOLDFAST_MAX_CONNECTIONS_PER_CLIENT", "0"),
            ("HOLDFAST_MAX_CONNECTIONS_PER_CLIENT", "-1"),
            ("HOLDFAST_MAX_CONNECTIONS_PER_CLIENT", "lots"),
            ("HOLDFAST_ADMIN_LISTEN", "metrics"),
            ("HOLDFAST_EXCHANGE_LISTEN", "exchange.internal"),
            ("HOLDFAST_TRUSTED_PROXIES", "10.0.0.0/8, lb.internal"),
            ("HOLDFAST_TRUSTED_PROXIES", "10.0.0.0/40"),
        ] {
            let error = config_with(name, value).unwrap_err().to_string();
            assert!(error.starts_with(name), "{name}={value}: {error}");
        }
    }

    #[test]
    fn risk_feedback_needs_its_own_key_and_https_in_production() {
        const OTHER: &str = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=";
        let mut vars = production();
        vars.push(("HOLDFAST_RISK_FEEDBACK_URL", "https://risk-engine/feedback".into()));
        vars.push(("HOLDFAST_RISK_FEEDBACK_KEY", format!("feedback={OTHER}")));
        let set = with(&vars, "HOLDFAST_RISK_FEEDBACK_URL", "https://risk-engine/feedback").unwrap();
        assert_eq!(set.risk_feedback.unwrap().key.id(), "feedback");
        assert!(
            without(&production(), "HOLDFAST_RISK_FEEDBACK_URL")
                .unwrap()
                .risk_feedback
                .is_none()
        );

        let plain = with(&vars, "HOLDFAST_RISK_FEEDBACK_URL", "http://risk-engine/feedback").unwrap_err();
        assert!(plain.to_string().starts_with("HOLDFAST_RISK_FEEDBACK_URL"), "{plain}");
        assert!(with(&vars, "HOLDFAST_RISK_FEEDBACK_URL", "http://127.0.0.1:9000/feedback").is_ok());
        let shared = with(&vars, "HOLDFAST_RISK_FEEDBACK_KEY", &format!("other-id={SECRET}")).unwrap_err();
        assert!(shared.to_string().contains("HOLDFAST_OUTBOUND_KEY"), "{shared}");
        let keyless = without(&vars, "HOLDFAST_RISK_FEEDBACK_KEY").unwrap_err();
        assert!(
            keyless.to_string().starts_with("HOLDFAST_RISK_FEEDBACK_KEY"),
            "{keyless}"
        );
    }

    #[test]
    fn in_production_a_drill_key_grants_no_other_scope() {
        let vars = production();
        let alone = format!("engine:alerts={SECRET},exchange:holds={SECRET},rehearse:drill={SECRET}");
        assert!(with(&vars, "HOLDFAST_INGEST_KEYS", &alone).is_ok());
        let mixed = format!("engine:alerts={SECRET},rehearse:drill+alerts={SECRET}");
        let error = with(&vars, "HOLDFAST_INGEST_KEYS", &mixed).unwrap_err().to_string();
        assert!(
            error.starts_with("HOLDFAST_INGEST_KEYS") && error.contains("rehearse"),
            "{error}"
        );
    }

    #[test]
    fn the_audit_logs_retention_defaults_to_five_years_and_a_bad_one_is_named() {
        let year = Duration::from_secs(365 * 86_400);
        let default = config(&[("HOLDFAST_MASTER_KEY", SECRET)]).unwrap();
        assert_eq!(default.retention.audit, 5 * year);
        let retention = |text: &str| {
            config(&[("HOLDFAST_MASTER_KEY", SECRET), ("HOLDFAST_RETENTION_AUDIT", text)]).map(|c| c.retention.audit)
        };
        assert_eq!(retention("7y").unwrap(), 7 * year);
        assert_eq!(retention("90d").unwrap(), Duration::from_secs(90 * 86_400));
        assert_eq!(retention("12h").unwrap(), Duration::from_secs(12 * 3600));
        for bad in ["5", "y", "5 years", "-1y", "5w"] {
            let error = retention(bad).unwrap_err().to_string();
            assert!(error.starts_with("HOLDFAST_RETENTION_AUDIT: "), "{bad}: {error}");
        }
    }
}
