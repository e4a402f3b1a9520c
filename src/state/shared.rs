//! Ephemeral state every instance must agree on: the hold cache and its
//! invalidation, rate-limit buckets, and the fast path for repeated alerts.
//!
//! Without `HOLDFAST_REDIS_URL` it lives in the process (one instance);
//! cached holds are then served for at most a second, and another
//! instance's change to an account's holds drops it from the cache as soon
//! as the database announces it (`hold_index`). With it, it lives in Redis
//! under `HOLDFAST_REDIS_PREFIX`:
//!
//! - `holds:<account>`: the account's holds in force (JSON, 60 s) with the
//!   cache's epoch they were loaded in, and `holds:v:<account>`: a version
//!   bumped by every change after its commit. A reader stores what it loaded
//!   only if neither the version nor the epoch moved while it read the
//!   database (a Lua compare-and-set), so a load that raced with a change
//!   never puts stale holds back.
//! - `holds-epoch`: the cache's epoch. An entry of another epoch is a miss.
//! - `rl:<limit>:<key>`: a GCRA bucket (the theoretical arrival time), kept
//!   by a Lua script on Redis's own clock.
//! - `alert:<alert id>`: the incident of an alert already stored, so a retry
//!   is answered from a read instead of a write transaction.
//!
//! Redis is the change feed of holds for an instance that uses it (SPEC §6).
//! Any failed Redis command, or a dropped connection (RESP3 reports it; on
//! RESP2 the next command fails), means the feed is lost: an invalidation
//! may have failed, or Redis may have restarted from a snapshot or failed
//! over to a replica that never saw one. From then on the instance answers
//! holds checks from the database, and as soon as Redis answers again it
//! bumps the epoch, which turns every entry cached before (by any instance)
//! into a miss, and trusts the cache again ([`Shared::resync_until_cancelled`]).
//! The gauge `holdfast_holds_feed_current` and the counter
//! `holdfast_hold_index_resyncs_total{feed="redis"}` follow it; both moments
//! are logged. A transient error thus costs every instance a cold cache once.
//!
//! TOTP replay marks are not here: an agent's last accepted time step is a
//! compare-and-set in the database, which every instance shares and which a
//! Redis flush cannot reset.

mod feed;
mod limits;
mod redis_state;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use redis::{AsyncCommands, PushInfo, PushKind, Script};
use tokio_util::sync::CancellationToken;

use self::feed::CacheFeed;
pub use self::limits::Limit;
use self::limits::too_many;
pub use self::redis_state::RedisState;
use crate::domain::hold::Hold;
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::time::Timestamp;
use crate::state::cache::LocalCache;
use crate::state::ratelimit::{KeyedLimiter, Refusal};
use crate::storage::Database;

/// How many accounts (and alert ids) the in-process caches remember.
const LOCAL_CAPACITY: usize = 100_000;
/// How long this process serves an account's holds from memory without
/// Redis. What keeps them current is not this age but the change feed: its
/// own changes invalidate at once, another instance's as soon as
/// PostgreSQL's notification arrives (milliseconds), and while the feed is
/// lost every check reads the database. A freeze already rests on the feed
/// alone (an account the index calls free is never read), so a lift may as
/// well: the age is a backstop, long enough that a warm account's check is
/// not a database read every second (load/REPORT.md, "The holds check").
const LOCAL_HOLDS_MAX_AGE: Duration = Duration::from_secs(30);
/// How long Redis keeps an account's cached holds.
const HOLDS_TTL_SECONDS: u64 = 60;
/// How long Redis keeps the version of an account's holds.
const VERSION_TTL_SECONDS: u64 = 86_400;
/// How long a stored alert id is remembered for the fast path.
const ALERT_TTL_SECONDS: u64 = 86_400;
/// How soon after losing Redis, and then how often, the cache is resynced.
const RESYNC_EVERY: Duration = Duration::from_secs(1);

pub enum Shared {
    InProcess(InProcess),
    Redis(RedisState),
}

pub struct InProcess {
    // Keyed by the id's text, as every `LocalCache` is: a lookup borrows it, so the hot path allocates nothing.
    holds: LocalCache<Arc<[Hold]>>,
    alerts: LocalCache<IncidentId>,
    limiters: Vec<(Limit, KeyedLimiter)>,
}

impl Shared {
    pub async fn connect(redis_url: Option<&str>, prefix: &str) -> anyhow::Result<Self> {
        let Some(url) = redis_url else {
            let limiters = Limit::ALL
                .into_iter()
                .map(|limit| {
                    let (name, refill, burst) = limit.spec();
                    (limit, KeyedLimiter::new(name, refill, burst))
                })
                .collect();
            return Ok(Shared::InProcess(InProcess {
                holds: LocalCache::with_max_age(LOCAL_CAPACITY, LOCAL_HOLDS_MAX_AGE),
                alerts: LocalCache::new(LOCAL_CAPACITY),
                limiters,
            }));
        };
        let client = redis::Client::open(url).context("HOLDFAST_REDIS_URL is not a valid Redis URL")?;
        let feed = Arc::new(CacheFeed::new());
        let mut config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2);
        if client
            .get_connection_info()
            .redis_settings()
            .protocol()
            .supports_resp3()
        {
            // RESP3 connections reconnect by themselves, without a failed
            // command to tell: hear of every disconnection instead.
            let told = feed.clone();
            config = config.set_push_sender(move |push: PushInfo| {
                if push.kind == PushKind::Disconnection {
                    told.lost(&"the connection to Redis dropped");
                }
                Ok::<(), std::convert::Infallible>(())
            });
        }
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .context("Failed to connect to Redis (HOLDFAST_REDIS_URL)")?;
        Ok(Shared::Redis(RedisState {
            connection,
            prefix: prefix.to_owned(),
            feed,
            store_if_unchanged: Script::new(
                "if (redis.call('GET', KEYS[2]) or '') == ARGV[1] and (redis.call('GET', KEYS[3]) or '') == ARGV[2] then
                     redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4]) return 1
                 end
                 return 0",
            ),
            // GCRA: KEYS[1] holds the theoretical arrival time in ms. A request
            // is allowed if it arrives no earlier than `burst` intervals before
            // it; the answer is 0 (allowed) or the milliseconds to wait.
            take_token: Script::new(
                "local interval = tonumber(ARGV[1])
                 local burst = tonumber(ARGV[2])
                 local t = redis.call('TIME')
                 local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
                 local tat = tonumber(redis.call('GET', KEYS[1]) or now)
                 if tat < now then tat = now end
                 local new_tat = tat + interval
                 local allow_at = new_tat - burst * interval
                 if now < allow_at then return allow_at - now end
                 redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
                 return 0",
            ),
        }))
    }

    /// Answers when the shared state does (for `/readyz`).
    pub async fn ping(&self) -> Result<(), Refusal> {
        match self {
            Shared::InProcess(_) => Ok(()),
            Shared::Redis(redis) => {
                let mut connection = redis.connection.clone();
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
                    .map(drop)
                    .map_err(|error| {
                        redis.feed.lost(&error);
                        Refusal::Unavailable("Redis does not answer")
                    })
            }
        }
    }

    /// Takes one request from `key`'s bucket of `limit`, or says when to retry.
    /// If Redis fails, the request is allowed: a limit is a brake, not a lock.
    pub async fn check(&self, limit: Limit, key: &str) -> Result<(), Refusal> {
        match self {
            Shared::InProcess(local) => {
                let limiter = &local
                    .limiters
                    .iter()
                    .find(|(l, _)| *l == limit)
                    .expect("every limit has a limiter")
                    .1;
                limiter.check(key)
            }
            Shared::Redis(redis) => {
                let (_, refill, burst) = limit.spec();
                let mut connection = redis.connection.clone();
                let wait: Result<u64, _> = redis
                    .take_token
                    .key(format!("{}rl:{}:{key}", redis.prefix, limit.key()))
                    .arg(refill.as_millis() as u64)
                    .arg(burst)
                    .invoke_async(&mut connection)
                    .await;
                match wait {
                    Ok(0) => Ok(()),
                    Ok(ms) => Err(too_many(limit, Duration::from_millis(ms))),
                    Err(error) => {
                        redis.feed.lost(&error);
                        tracing::warn!(error = %error, "Redis rate limit unavailable; allowing the request");
                        Ok(())
                    }
                }
            }
        }
    }

    /// The account's holds in force, from the cache or the database.
    pub async fn holds(&self, db: &Database, account_id: &AccountId, now: Timestamp) -> Result<Arc<[Hold]>, Refusal> {
        match self {
            Shared::InProcess(local) => match local.holds.get(account_id.as_str()) {
                Ok(holds) => Ok(holds),
                Err(ticket) => {
                    let holds: Arc<[Hold]> = db.holds_in_force(account_id, now).await?.into();
                    local.holds.finish_load(ticket, account_id.as_str(), holds.clone());
                    Ok(holds)
                }
            },
            Shared::Redis(redis) => redis.holds(db, account_id, now).await,
        }
    }

    /// Whether Redis holds the shared state.
    pub fn is_redis(&self) -> bool {
        matches!(self, Shared::Redis(_))
    }

    /// The id Redis knows this instance's connection by (`CLIENT ID`), to
    /// find it in `CLIENT LIST`; `None` without Redis or when it does not answer.
    pub async fn redis_client_id(&self) -> Option<i64> {
        let Shared::Redis(redis) = self else {
            return None;
        };
        let mut connection = redis.connection.clone();
        redis::cmd("CLIENT").arg("ID").query_async(&mut connection).await.ok()
    }

    /// Drops an account's holds from the in-process cache (another
    /// instance changed them). Redis is invalidated by [`Self::invalidate_holds`].
    pub fn forget_cached_holds(&self, account_id: &AccountId) {
        if let Shared::InProcess(local) = self {
            local.holds.invalidate(account_id.as_str());
        }
    }

    /// Empties the in-process hold cache (the change feed was lost: an
    /// entry may have missed an invalidation).
    pub fn forget_all_cached_holds(&self) {
        if let Shared::InProcess(local) = self {
            local.holds.clear();
        }
    }

    /// Whenever Redis was lost, resyncs the hold cache as soon as Redis
    /// answers again (bumps the epoch, then trusts the cache), until `cancel`
    /// fires. Without Redis there is nothing to resync.
    pub async fn resync_until_cancelled(&self, cancel: CancellationToken) {
        let Shared::Redis(redis) = self else {
            return cancel.cancelled().await;
        };
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = redis.feed.lost.notified() => {}
            }
            while !redis.feed.is_current() {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(RESYNC_EVERY) => {}
                }
                let losses = redis.feed.losses();
                let mut connection = redis.connection.clone();
                let bumped: Result<i64, _> = connection.incr(redis.epoch_key(), 1).await;
                match bumped {
                    Ok(_) => {
                        redis.feed.resynced(losses);
                    }
                    Err(error) => {
                        tracing::debug!(error = %error, "Redis does not answer yet; the hold cache stays unused")
                    }
                }
            }
        }
    }

    /// Forgets cached holds of accounts whose holds changed (after commit).
    pub async fn invalidate_holds(&self, accounts: &[AccountId]) {
        match self {
            Shared::InProcess(local) => accounts
                .iter()
                .for_each(|account| local.holds.invalidate(account.as_str())),
            Shared::Redis(redis) => {
                if accounts.is_empty() {
                    return;
                }
                let mut pipe = redis::pipe();
                pipe.atomic();
                for account in accounts {
                    let version = format!("{}holds:v:{account}", redis.prefix);
                    pipe.incr(&version, 1).ignore();
                    pipe.expire(&version, VERSION_TTL_SECONDS as i64).ignore();
                    pipe.del(format!("{}holds:{account}", redis.prefix)).ignore();
                }
                let mut connection = redis.connection.clone();
                for attempt in 1..=3 {
                    match pipe.query_async::<()>(&mut connection).await {
                        Ok(()) => return,
                        Err(error) if attempt == 3 => {
                            // The resync bumps the epoch, which forgets these
                            // holds too; other instances also invalidate them
                            // when the database announces the change.
                            tracing::error!(error = %error, "invalidating cached holds in Redis failed");
                        }
                        Err(error) => {
                            redis.feed.lost(&error);
                            tokio::time::sleep(Duration::from_millis(20 * attempt)).await
                        }
                    }
                }
            }
        }
    }

    /// Remembers that these alerts are stored, with their incidents.
    pub async fn remember_alerts(&self, alerts: &[(String, IncidentId)]) {
        match self {
            Shared::InProcess(local) => {
                for (alert_id, incident_id) in alerts {
                    local.alerts.insert(alert_id, incident_id.clone());
                }
            }
            Shared::Redis(redis) => {
                if alerts.is_empty() {
                    return;
                }
                let mut pipe = redis::pipe();
                for (alert_id, incident_id) in alerts {
                    pipe.set_ex(
                        format!("{}alert:{alert_id}", redis.prefix),
                        incident_id.as_str(),
                        ALERT_TTL_SECONDS,
                    )
                    .ignore();
                }
                let mut connection = redis.connection.clone();
                if let Err(error) = pipe.query_async::<()>(&mut connection).await {
                    redis.feed.lost(&error);
                    tracing::warn!(error = %error, "remembering alert ids in Redis failed");
                }
            }
        }
    }

    /// The incident of an alert id already stored, if remembered.
    pub async fn known_alert(&self, alert_id: &str) -> Option<IncidentId> {
        match self {
            Shared::InProcess(local) => local.alerts.get(alert_id).ok(),
            Shared::Redis(redis) => {
                let mut connection = redis.connection.clone();
                let id: Result<Option<String>, _> = connection.get(format!("{}alert:{alert_id}", redis.prefix)).await;
                id.unwrap_or_else(|error| {
                    redis.feed.lost(&error);
                    None
                })
                .map(IncidentId::from_string)
            }
        }
    }

    /// Drops idle in-process rate-limit buckets.
    pub fn forget_idle(&self) {
        if let Shared::InProcess(local) = self {
            local.limiters.iter().for_each(|(_, limiter)| limiter.forget_idle());
        }
    }
}
