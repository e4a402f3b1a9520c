//! One client cannot take every connection slot: each TCP peer holds at most
//! `HOLDFAST_MAX_CONNECTIONS_PER_CLIENT` connections on a listener.
//!
//! Peers are counted by the key per-client limits use
//! ([`crate::platform::client_address::limit_key`]: the IPv4 address, or the /64 of an
//! IPv6 one), so a client cannot spread its connections over the addresses
//! of its own network. Trusted proxies are exempt: behind a load balancer,
//! every connection comes from it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::platform::client_address::{TrustedProxies, limit_key};

/// The connections each client holds on one listener.
pub(super) struct ClientConnections {
    limit: usize,
    exempt: TrustedProxies,
    /// Open connections by client key; a client with none has no entry.
    open: Mutex<HashMap<String, usize>>,
}

/// A client's share of its listener, held for as long as one of its
/// connections is open; dropping it gives the share back.
pub(super) struct ClientSlot {
    clients: Arc<ClientConnections>,
    /// `None` for a trusted proxy, which is not counted.
    key: Option<String>,
}

impl ClientConnections {
    pub(super) fn new(limit: usize, exempt: TrustedProxies) -> Arc<Self> {
        Arc::new(Self {
            limit,
            exempt,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more connection from `peer`, or `None` when it already
    /// holds its limit.
    pub(super) fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<ClientSlot> {
        if self.exempt.contains(peer) {
            return Some(ClientSlot {
                clients: self.clone(),
                key: None,
            });
        }
        let key = limit_key(peer);
        let mut open = self.open.lock().expect("client connections lock");
        let held = open.entry(key.clone()).or_insert(0);
        if *held >= self.limit {
            return None;
        }
        *held += 1;
        Some(ClientSlot {
            clients: self.clone(),
            key: Some(key),
        })
    }

    #[cfg(test)]
    fn held_by(&self, peer: &str) -> usize {
        let open = self.open.lock().expect("client connections lock");
        open.get(&limit_key(peer.parse().unwrap())).copied().unwrap_or(0)
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut open = self.clients.open.lock().expect("client connections lock");
        if let Entry::Occupied(mut held) = open.entry(key) {
            *held.get_mut() -= 1;
            if *held.get() == 0 {
                held.remove();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_client_past_its_limit_is_refused_and_others_are_not() {
        let clients = ClientConnections::new(2, TrustedProxies::default());

        let held = [clients.admit(ip("192.0.2.1")), clients.admit(ip("192.0.2.1"))];
        let third = clients.admit(ip("192.0.2.1"));
        let other = clients.admit(ip("192.0.2.2"));

        assert!(held.iter().all(Option::is_some));
        assert!(third.is_none());
        assert!(other.is_some());
    }

    #[test]
    fn a_closed_connection_gives_its_slot_back_and_an_idle_client_is_forgotten() {
        let clients = ClientConnections::new(1, TrustedProxies::default());
        let first = clients.admit(ip("192.0.2.1"));
        assert!(clients.admit(ip("192.0.2.1")).is_none());

        drop(first);

        assert_eq!(clients.held_by("192.0.2.1"), 0);
        assert!(clients.open.lock().unwrap().is_empty(), "no entry is kept for it");
        assert!(clients.admit(ip("192.0.2.1")).is_some());
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let clients = ClientConnections::new(1, TrustedProxies::default());

        let first = clients.admit(ip("2001:db8:1:2::1"));
        let same_network = clients.admit(ip("2001:db8:1:2:ffff::9"));
        let other_network = clients.admit(ip("2001:db8:1:3::1"));

        assert!(first.is_some());
        assert!(same_network.is_none());
        assert!(other_network.is_some());
    }

    #[test]
    fn trusted_proxies_are_not_counted() {
        let clients = ClientConnections::new(1, TrustedProxies::parse("10.0.0.0/8").unwrap());

        let slots: Vec<_> = (0..5).map(|_| clients.admit(ip("10.0.0.7"))).collect();

        assert!(slots.iter().all(Option::is_some));
        assert_eq!(clients.held_by("10.0.0.7"), 0);
    }
}
