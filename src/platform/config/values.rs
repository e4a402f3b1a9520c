//! Reading one variable and checking it: numbers and durations with their
//! defaults, and the URLs Holdfast calls (https in production unless on this
//! machine), each error naming its variable.

use std::time::Duration;

use anyhow::bail;

use crate::domain::time::parse_duration;

/// Checks an http(s) URL; with `https_only` (production), plain http is
/// refused, but to this machine when `loopback_allowed`.
pub(super) fn check_http_url(name: &str, url: &str, https_only: bool, loopback_allowed: bool) -> anyhow::Result<()> {
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
pub(super) fn check_redis_url(url: &str, production: bool) -> anyhow::Result<()> {
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
pub(super) fn check_otlp_endpoint(name: &str, endpoint: &str, production: bool) -> anyhow::Result<()> {
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
pub(super) fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    match host_port.strip_prefix('[') {
        // [IPv6]:port
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    }
}

/// Whether `host` names this machine: `localhost` or a loopback address.
pub(super) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

pub(super) fn parse_or<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> anyhow::Result<T> {
    match var(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}: `{text}` is not a valid number")),
    }
}

pub(super) fn duration_or(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: &str,
) -> anyhow::Result<Duration> {
    let text = var(name).unwrap_or_else(|| default.to_owned());
    if let Some(ms) = text.trim().strip_suffix("ms") {
        return ms
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| anyhow::anyhow!("{name}: `{text}` is not a duration"));
    }
    parse_duration(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))
}
