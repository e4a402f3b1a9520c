//! The in-process cache behind the exchange's hot path.
//!
//! Entries are an account's holds in force when loaded (cool-offs included,
//! filtered by expiry when served, so expiry needs no invalidation). Changes
//! invalidate after commit. A load that raced with a change must not put
//! stale holds back: each shard counts its invalidations, and a load stores
//! its result only if no invalidation happened in its shard since it began.
//!
//! Memory stays bounded: each shard keeps at most `capacity / SHARDS`
//! accounts and drops an arbitrary one when full.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use crate::domain::hold::Hold;

const SHARDS: usize = 64;

pub struct LocalHoldCache {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    per_shard: usize,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<String, Arc<[Hold]>>,
    /// Bumped by every invalidation in this shard.
    generation: u64,
}

/// A ticket from [`LocalHoldCache::begin_load`], redeemed by [`LocalHoldCache::finish_load`].
pub struct LoadTicket {
    shard: usize,
    generation: u64,
}

impl LocalHoldCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: RandomState::new(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn shard_of(&self, account_id: &str) -> usize {
        (self.hasher.hash_one(account_id) as usize) % SHARDS
    }

    /// The cached holds, or a ticket to load them.
    pub fn get(&self, account_id: &str) -> Result<Arc<[Hold]>, LoadTicket> {
        let shard = self.shard_of(account_id);
        // A std mutex: held for a hash lookup only, never across an await.
        let guard = self.shards[shard].lock().expect("hold cache lock");
        match guard.entries.get(account_id) {
            Some(holds) => Ok(holds.clone()),
            None => Err(LoadTicket {
                shard,
                generation: guard.generation,
            }),
        }
    }

    /// Stores a loaded value unless the shard was invalidated since the ticket.
    pub fn finish_load(&self, ticket: LoadTicket, account_id: &str, holds: Arc<[Hold]>) {
        let mut guard = self.shards[ticket.shard].lock().expect("hold cache lock");
        if guard.generation != ticket.generation {
            return;
        }
        if guard.entries.len() >= self.per_shard
            && let Some(victim) = guard.entries.keys().next().cloned()
        {
            guard.entries.remove(&victim);
        }
        guard.entries.insert(account_id.to_owned(), holds);
    }

    pub fn invalidate(&self, account_id: &str) {
        let mut guard = self.shards[self.shard_of(account_id)].lock().expect("hold cache lock");
        guard.generation += 1;
        guard.entries.remove(account_id);
    }

    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let mut guard = shard.lock().expect("hold cache lock");
            guard.generation += 1;
            guard.entries.clear();
        }
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().expect("hold cache lock").entries.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_that_raced_with_an_invalidation_is_not_stored() {
        let cache = LocalHoldCache::new(100);
        let ticket = cache.get("a").unwrap_err();
        cache.invalidate("a");
        cache.finish_load(ticket, "a", Arc::from(vec![]));
        assert!(cache.get("a").is_err());
    }

    #[test]
    fn a_clean_load_is_served_until_invalidated() {
        let cache = LocalHoldCache::new(100);
        let ticket = cache.get("a").unwrap_err();
        cache.finish_load(ticket, "a", Arc::from(vec![]));
        assert!(cache.get("a").is_ok());
        cache.invalidate("a");
        assert!(cache.get("a").is_err());
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let cache = LocalHoldCache::new(128);
        for i in 0..10_000 {
            let account = format!("acct-{i}");
            if let Err(ticket) = cache.get(&account) {
                cache.finish_load(ticket, &account, Arc::from(vec![]));
            }
        }
        assert!(cache.len() <= 128, "{} entries", cache.len());
    }
}
