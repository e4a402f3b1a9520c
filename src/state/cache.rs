//! A bounded, sharded in-process cache with race-free invalidation.
//!
//! Used for the exchange's hot path (an account's holds) when Holdfast runs
//! as one instance without Redis. Changes invalidate after commit. A load
//! that raced with a change must not put stale values back: each shard
//! counts its invalidations, and a load stores its result only if no
//! invalidation happened in its shard since it began.
//!
//! Invalidation reaches only this process. Where other processes change
//! the same data (several instances without Redis), a cache made
//! [`with_max_age`](LocalCache::with_max_age) also forgets each entry after a
//! fixed time, which bounds how long any other instance's change goes unseen.
//!
//! Memory stays bounded: each shard keeps at most `capacity / SHARDS`
//! entries and drops an arbitrary one when full.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 64;

pub struct LocalCache<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    hasher: RandomState,
    per_shard: usize,
    /// How long an entry is served after it was stored; `None`: until invalidated.
    max_age: Option<Duration>,
}

struct Shard<V> {
    /// Each value with the (monotonic) time it was stored.
    entries: HashMap<String, (V, Instant)>,
    /// Bumped by every invalidation in this shard.
    generation: u64,
}

/// A ticket from a cache miss, redeemed by [`LocalCache::finish_load`].
pub struct LoadTicket {
    shard: usize,
    generation: u64,
}

impl<V: Clone> LocalCache<V> {
    /// A cache whose entries live until invalidated (for values that never go stale).
    pub fn new(capacity: usize) -> Self {
        Self::build(capacity, None)
    }

    /// A cache whose entries are served for at most `max_age` after they were stored.
    pub fn with_max_age(capacity: usize, max_age: Duration) -> Self {
        Self::build(capacity, Some(max_age))
    }

    fn build(capacity: usize, max_age: Option<Duration>) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        entries: HashMap::new(),
                        generation: 0,
                    })
                })
                .collect(),
            hasher: RandomState::new(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            max_age,
        }
    }

    fn is_fresh(&self, stored_at: Instant) -> bool {
        self.max_age.is_none_or(|max_age| stored_at.elapsed() < max_age)
    }

    fn shard_of(&self, key: &str) -> usize {
        (self.hasher.hash_one(key) as usize) % SHARDS
    }

    /// The cached value, or a ticket to load it.
    pub fn get(&self, key: &str) -> Result<V, LoadTicket> {
        let shard = self.shard_of(key);
        // A std mutex: held for a hash lookup only, never across an await.
        let guard = self.shards[shard].lock().expect("cache lock");
        match guard.entries.get(key) {
            Some((value, stored_at)) if self.is_fresh(*stored_at) => Ok(value.clone()),
            // A stale entry is a miss; the load that follows replaces it.
            _ => Err(LoadTicket {
                shard,
                generation: guard.generation,
            }),
        }
    }

    /// Stores a loaded value unless the shard was invalidated since the ticket.
    pub fn finish_load(&self, ticket: LoadTicket, key: &str, value: V) {
        let mut guard = self.shards[ticket.shard].lock().expect("cache lock");
        if guard.generation != ticket.generation {
            return;
        }
        if guard.entries.len() >= self.per_shard
            && !guard.entries.contains_key(key)
            && let Some(victim) = guard.entries.keys().next().cloned()
        {
            guard.entries.remove(&victim);
        }
        guard.entries.insert(key.to_owned(), (value, Instant::now()));
    }

    pub fn invalidate(&self, key: &str) {
        let mut guard = self.shards[self.shard_of(key)].lock().expect("cache lock");
        guard.generation += 1;
        guard.entries.remove(key);
    }

    /// Forgets every entry; loads begun before store nothing.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let mut guard = shard.lock().expect("cache lock");
            guard.generation += 1;
            guard.entries.clear();
        }
    }

    /// Stores a value outright (for values that never go stale).
    pub fn insert(&self, key: &str, value: V) {
        let ticket = match self.get(key) {
            Ok(_) => return,
            Err(ticket) => ticket,
        };
        self.finish_load(ticket, key, value);
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().expect("cache lock").entries.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_load_that_raced_with_an_invalidation_is_not_stored() {
        let cache = LocalCache::<Arc<str>>::new(100);
        let ticket = cache.get("a").unwrap_err();
        cache.invalidate("a");
        cache.finish_load(ticket, "a", Arc::from(""));
        assert!(cache.get("a").is_err());
    }

    #[test]
    fn a_clean_load_is_served_until_invalidated() {
        let cache = LocalCache::<Arc<str>>::new(100);
        let ticket = cache.get("a").unwrap_err();
        cache.finish_load(ticket, "a", Arc::from(""));
        assert!(cache.get("a").is_ok());
        cache.invalidate("a");
        assert!(cache.get("a").is_err());
    }

    #[test]
    fn a_cleared_cache_forgets_everything_and_a_load_begun_before_stores_nothing() {
        let cache = LocalCache::<Arc<str>>::new(100);
        cache.insert("a", Arc::from("held"));
        let ticket = cache.get("b").unwrap_err();
        cache.clear();
        cache.finish_load(ticket, "b", Arc::from("stale"));
        assert!(cache.get("a").is_err());
        assert!(cache.get("b").is_err());
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let cache = LocalCache::<Arc<str>>::new(128);
        for i in 0..10_000 {
            let account = format!("acct-{i}");
            if let Err(ticket) = cache.get(&account) {
                cache.finish_load(ticket, &account, Arc::from(""));
            }
        }
        assert!(cache.len() <= 128, "{} entries", cache.len());
    }

    #[test]
    fn an_entry_older_than_the_max_age_is_a_miss() {
        let lasting = LocalCache::<Arc<str>>::with_max_age(100, Duration::from_secs(3600));
        let expired = LocalCache::<Arc<str>>::with_max_age(100, Duration::ZERO);
        for cache in [&lasting, &expired] {
            let ticket = cache.get("a").unwrap_err();
            cache.finish_load(ticket, "a", Arc::from("stored"));
        }

        assert!(lasting.get("a").is_ok(), "an entry younger than its max age is served");
        let ticket = expired.get("a").expect_err("an entry past its max age is not served");
        expired.finish_load(ticket, "a", Arc::from("reloaded"));
        assert_eq!(expired.len(), 1, "the reload replaces the stale entry");
    }
}
