//! Who is asking: the client address every per-client limit keys on (SPEC §1).
//!
//! A request's client address is its TCP peer, unless the peer is one of the
//! load balancers named in `HOLDFAST_TRUSTED_PROXIES`. Then it is taken from
//! `X-Forwarded-For`: walking from the right (the entry the nearest proxy
//! appended), the first entry that is not itself a trusted proxy. Entries left
//! of it were written by the client and are never believed; if every entry is
//! a trusted proxy, the left-most is the client. A request from any other peer
//! has its `X-Forwarded-For` ignored, so a client cannot pick its own bucket.
//!
//! Rate-limit keys are coarser than addresses for IPv6: one subscriber is
//! routinely given a whole /64, so an IPv6 client is keyed by its /64 prefix
//! (a client that could pick any of 2^64 addresses would otherwise have as
//! many buckets). IPv4-mapped IPv6 addresses count as the IPv4 address.
//!
//! The address is never logged.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

pub const FORWARDED_FOR_HEADER: &str = "x-forwarded-for";

/// The networks of the load balancers in front of Holdfast.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses comma-separated CIDRs (`10.0.0.0/8, fd00::/8`); a bare address
    /// is a network of one.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut networks = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            let network = match entry.parse::<IpNet>() {
                Ok(network) => network.trunc(),
                Err(_) => entry
                    .parse::<IpAddr>()
                    .map(|address| IpNet::from(address.to_canonical()))
                    .map_err(|_| format!("`{entry}` is not a CIDR such as 10.0.0.0/8 or fd00::/8"))?,
            };
            networks.push(network);
        }
        Ok(Self(networks))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client address of a request from `peer` with these headers.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> Result<IpAddr, MalformedForwardedFor> {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return Ok(peer);
        }
        let mut leftmost = None;
        // Several header lines form one list, in order (RFC 9110 §5.3).
        let entries: Vec<&[u8]> = headers
            .get_all(FORWARDED_FOR_HEADER)
            .iter()
            .flat_map(|value| value.as_bytes().split(|&byte| byte == b','))
            .collect();
        for entry in entries.iter().rev() {
            let address = parse_entry(entry).ok_or(MalformedForwardedFor)?;
            if !self.contains(address) {
                return Ok(address);
            }
            leftmost = Some(address);
        }
        // No header (the proxy's own health check, say), or every hop trusted.
        Ok(leftmost.unwrap_or(peer))
    }
}

/// A trusted proxy sent an `X-Forwarded-For` entry that is not an address
/// where the client's address should be: the proxy is misconfigured, and no
/// other address may stand in for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MalformedForwardedFor;

/// One `X-Forwarded-For` entry: an address, optionally with a port
/// (`203.0.113.9:4711`, `[2001:db8::1]:4711`), as some proxies write it.
fn parse_entry(entry: &[u8]) -> Option<IpAddr> {
    let entry = std::str::from_utf8(entry).ok()?.trim();
    let address = if let Ok(address) = entry.parse::<IpAddr>() {
        address
    } else if let Ok(socket) = entry.parse::<SocketAddr>() {
        socket.ip()
    } else {
        entry
            .strip_prefix('[')?
            .strip_suffix(']')?
            .parse::<Ipv6Addr>()
            .ok()?
            .into()
    };
    Some(address.to_canonical())
}

/// The key a client's rate-limit buckets are kept under: the IPv4 address, or
/// the /64 of an IPv6 address.
pub fn limit_key(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", Ipv6Addr::from(network))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(text: &str) -> TrustedProxies {
        TrustedProxies::parse(text).unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(FORWARDED_FOR_HEADER, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn cidrs_of_both_families_and_bare_addresses_parse() {
        let trusted = proxies("10.0.0.0/8, fd00::/8,192.0.2.7");
        assert!(trusted.contains(ip("10.1.2.3")));
        assert!(trusted.contains(ip("fd12::1")));
        assert!(trusted.contains(ip("192.0.2.7")));
        assert!(trusted.contains(ip("::ffff:10.9.9.9")), "IPv4-mapped counts as IPv4");
        assert!(!trusted.contains(ip("192.0.2.8")));
        assert!(!trusted.contains(ip("fe80::1")));
    }

    #[test]
    fn a_bad_cidr_is_refused_naming_it() {
        for bad in ["10.0.0.0/33", "example.com", "10.0.0/8", "fd00::/129"] {
            let error = TrustedProxies::parse(bad).unwrap_err();
            assert!(error.contains(bad), "{error}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = proxies("10.0.0.0/8");
        let client = trusted.client_of(ip("203.0.113.9"), &forwarded(&["198.51.100.1"]));
        assert_eq!(client, Ok(ip("203.0.113.9")));
        let nobody_trusted = TrustedProxies::default();
        let client = nobody_trusted.client_of(ip("10.0.0.1"), &forwarded(&["198.51.100.1"]));
        assert_eq!(client, Ok(ip("10.0.0.1")));
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_entry_is_the_client() {
        let trusted = proxies("10.0.0.0/8");
        let headers = forwarded(&["1.1.1.1, 198.51.100.1", "10.0.0.2"]);
        assert_eq!(trusted.client_of(ip("10.0.0.1"), &headers), Ok(ip("198.51.100.1")));
    }

    #[test]
    fn when_every_entry_is_trusted_the_leftmost_is_the_client() {
        let trusted = proxies("10.0.0.0/8");
        let headers = forwarded(&["10.0.0.5, 10.0.0.6"]);
        assert_eq!(trusted.client_of(ip("10.0.0.1"), &headers), Ok(ip("10.0.0.5")));
        assert_eq!(
            trusted.client_of(ip("10.0.0.1"), &HeaderMap::new()),
            Ok(ip("10.0.0.1")),
            "no header: the proxy itself is the client"
        );
    }

    #[test]
    fn forwarded_entries_may_carry_ports_and_garbage_left_of_the_client_is_ignored() {
        let trusted = proxies("10.0.0.0/8");
        let headers = forwarded(&["not-an-address, [2001:db8::1]:4711"]);
        assert_eq!(trusted.client_of(ip("10.0.0.1"), &headers), Ok(ip("2001:db8::1")));
        let headers = forwarded(&["unknown, 198.51.100.1:80"]);
        assert_eq!(trusted.client_of(ip("10.0.0.1"), &headers), Ok(ip("198.51.100.1")));
    }

    #[test]
    fn a_trusted_proxy_forwarding_garbage_as_the_client_is_refused() {
        let trusted = proxies("10.0.0.0/8");
        let headers = forwarded(&["unknown"]);
        assert_eq!(trusted.client_of(ip("10.0.0.1"), &headers), Err(MalformedForwardedFor));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix_and_ipv4_by_the_address() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(limit_key(ip("2001:db8:1:2:bbbb::9")), "2001:db8:1:2::/64");
        assert_ne!(limit_key(ip("2001:db8:1:3::1")), limit_key(ip("2001:db8:1:2::1")));
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(limit_key(ip("192.0.2.1")), "192.0.2.1");
    }
}
