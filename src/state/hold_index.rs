//! Which accounts may have holds, and whether this instance hears of every
//! change to them: the holds check's shortcut for the accounts that have
//! none, which are nearly all of them, and the feed that keeps it true.
//!
//! The exchange asks before every login and withdrawal, mostly about
//! accounts Holdfast has never frozen. Answering those from the per-account
//! cache costs a database (or Redis) round trip for every account not seen
//! in the last second. Instead, each instance keeps the set of accounts with
//! an unlifted hold, and an account outside it is answered "no holds" at
//! once; an account inside it takes the usual path (cache, then database),
//! which filters expired cool-offs and reads the holds themselves.
//!
//! The set is a superset of the accounts with holds in force, as of a moment
//! a few milliseconds ago:
//! - it is loaded from the database at start, and reloaded every
//!   [`RELOAD_EVERY`] (which drops accounts whose holds were lifted);
//! - every transaction that changes an account's holds announces the
//!   account after commit: on PostgreSQL with `NOTIFY` to every instance
//!   (listening starts before the first load, so nothing falls between), on
//!   SQLite (one instance) in-process; an announcement also drops the
//!   account from the in-process cache;
//! - an account announced while a reload reads the database is kept, so a
//!   reload never drops a change it did not see.
//!
//! **The change feed.** What an instance keeps in memory (this set, the
//! in-process cache) is only as good as the announcements it hears. The
//! feed is *current* once the listener is in place and the set has been
//! reloaded since; it is *lost* the moment the listener's connection is lost
//! or fails (an announcement may have gone by: `storage` reports every loss
//! instead of letting the listener reconnect silently). While it is lost,
//! [`HoldIndex::lookup`] sends every check to the database; once the
//! listener is back and a reload has finished, the in-process cache is
//! emptied and the feed is current again. Both moments are logged, the
//! gauge `holdfast_holds_feed_current` follows it, and
//! `holdfast_hold_index_resyncs_total{feed="database"}` counts the returns.
//! A reload that began before a loss cannot make the feed current.
//!
//! **With Redis** instances share one hold cache that the committing
//! instance invalidates before it answers, and an index told of another
//! instance's change a few milliseconds late would weaken that: the set
//! stays unloaded, and Redis is the feed (`shared` says when it is lost).
//! The listener still runs: every announcement is invalidated in Redis once
//! more, so a change whose own instance failed to reach Redis is not
//! served stale by the others for longer than the notification takes.
//!
//! The index also gives up (and says so) past [`MAX_ACCOUNTS`] frozen
//! accounts, so memory stays bounded: every check then takes the usual path.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::domain::ids::AccountId;
use crate::state::shared::Shared;
use crate::storage::{Announcement, Database};

/// How often the whole set is read again.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);
/// How soon a reload that failed is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// The most frozen accounts the index holds; past it, every check reads the cache.
pub const MAX_ACCOUNTS: usize = 1_000_000;
/// Accounts invalidated in Redis per round trip, for announcements (with Redis).
const INVALIDATION_BATCH: usize = 64;

/// Where the holds check finds an account's holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The account certainly has none: no read needed.
    Free,
    /// It may have some: ask the cache, which asks the database on a miss.
    Cached,
    /// The change feed is lost: only the database knows.
    Database,
}

pub struct HoldIndex {
    /// Whether Redis holds the cache (and is the feed): the set then stays unloaded.
    uses_redis: bool,
    // A std mutex: held for a hash lookup or a swap, never across an await.
    inner: Mutex<Inner>,
    /// Held for a whole reload: two at once would share the announcements
    /// made during them, and the one to finish last could drop one.
    reloading: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Inner {
    /// The accounts that may have holds; `None` while unknown.
    accounts: Option<HashSet<AccountId>>,
    /// Accounts announced since the running reload began.
    announced_during_reload: Option<Vec<AccountId>>,
    /// Whether the listener is in place.
    listening: bool,
    /// Whether the feed is current: listening, and reloaded since.
    current: bool,
    /// Counts the listener's losses, so a reload that began before the
    /// latest one cannot make the feed current.
    losses: u64,
}

/// A reload under way: what it needs to know when it finishes.
struct ReloadTicket {
    losses: u64,
}

impl HoldIndex {
    /// An index for an instance whose shared state is in Redis (`uses_redis`) or in process.
    pub fn new(uses_redis: bool) -> Self {
        if !uses_redis {
            // Not current until the listener is in place and the set loaded.
            metrics::gauge!("holdfast_holds_feed_current").set(0.0);
        }
        Self {
            uses_redis,
            inner: Mutex::default(),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// Where the holds check finds `account_id`'s holds.
    pub fn lookup(&self, account_id: &AccountId) -> Lookup {
        if self.uses_redis {
            return Lookup::Cached;
        }
        let inner = self.inner.lock().expect("hold index lock");
        if !inner.current {
            return Lookup::Database;
        }
        match &inner.accounts {
            Some(accounts) if !accounts.contains(account_id) => Lookup::Free,
            _ => Lookup::Cached,
        }
    }

    /// Whether the feed is current (without Redis; with it, see `shared`).
    pub fn is_current(&self) -> bool {
        self.inner.lock().expect("hold index lock").current
    }

    /// An account whose holds changed (after the change committed).
    pub fn announce(&self, account_id: &AccountId) {
        let mut inner = self.inner.lock().expect("hold index lock");
        if let Some(accounts) = inner.accounts.as_mut() {
            accounts.insert(account_id.clone());
        }
        if let Some(during) = inner.announced_during_reload.as_mut() {
            during.push(account_id.clone());
        }
    }

    /// The listener is in place: announcements arrive from now on.
    fn listening(&self) {
        let mut inner = self.inner.lock().expect("hold index lock");
        inner.listening = true;
        if self.uses_redis && inner.losses > 0 {
            tracing::info!("listening again for the database's announcements of hold changes");
        }
    }

    /// The listener was lost: an announcement may have gone by.
    fn lost(&self) {
        let mut inner = self.inner.lock().expect("hold index lock");
        inner.listening = false;
        inner.losses += 1;
        inner.accounts = None;
        if self.uses_redis {
            tracing::warn!(
                "lost the database's announcements of hold changes; Redis is still invalidated by each committing instance"
            );
            return;
        }
        if std::mem::take(&mut inner.current) {
            metrics::gauge!("holdfast_holds_feed_current").set(0.0);
            tracing::warn!(
                "lost the change feed of holds; every holds check reads the database until it is back and reloaded"
            );
        }
    }

    /// Reads the set from the database again; once the listener is in
    /// place, this makes the feed current (emptying the in-process cache,
    /// which may hold what an announcement missed while it was lost).
    pub async fn reload(&self, db: &Database, shared: &Shared) {
        if self.uses_redis {
            return;
        }
        let _one_at_a_time = self.reloading.lock().await;
        let ticket = self.begin_reload();
        let after_loss = ticket.losses > 0;
        let loaded = db.accounts_with_unlifted_holds(MAX_ACCOUNTS as i64 + 1).await;
        if !self.is_current() && loaded.is_ok() {
            shared.forget_all_cached_holds();
        }
        if self.finish_reload(ticket, loaded) {
            metrics::gauge!("holdfast_holds_feed_current").set(1.0);
            if after_loss {
                metrics::counter!("holdfast_hold_index_resyncs_total", "feed" => "database").increment(1);
                tracing::info!("the change feed of holds is back: listening again, and reloaded");
            }
        }
    }

    fn begin_reload(&self) -> ReloadTicket {
        let mut inner = self.inner.lock().expect("hold index lock");
        inner.announced_during_reload = Some(Vec::new());
        ReloadTicket { losses: inner.losses }
    }

    /// Installs what a reload read; returns whether it made the feed current
    /// (it was not, the listener is in place and was not lost meanwhile).
    fn finish_reload(&self, ticket: ReloadTicket, loaded: Result<Vec<AccountId>, sqlx::Error>) -> bool {
        let mut inner = self.inner.lock().expect("hold index lock");
        let announced = inner.announced_during_reload.take().unwrap_or_default();
        if inner.losses != ticket.losses {
            // The listener was lost while the set was read: it may miss an announcement.
            return false;
        }
        let reloaded = loaded.is_ok();
        inner.accounts = match loaded {
            Ok(accounts) if accounts.len() <= MAX_ACCOUNTS => {
                let mut accounts: HashSet<AccountId> = accounts.into_iter().collect();
                accounts.extend(announced);
                Some(accounts)
            }
            Ok(_) => {
                tracing::warn!(
                    limit = MAX_ACCOUNTS,
                    "too many frozen accounts for the hold index; every holds check reads the cache"
                );
                None
            }
            Err(error) => {
                tracing::warn!(error = %error, "reading the frozen accounts failed; every holds check reads the cache until the next reload");
                None
            }
        };
        let resynced = reloaded && inner.listening && !inner.current;
        if resynced {
            inner.current = true;
        }
        resynced
    }

    /// Keeps the index and the feed current until `cancel` fires: listens
    /// for every instance's announcements (PostgreSQL), reloads on a timer
    /// (and soon again after a failed reload), and with Redis resyncs the
    /// shared cache whenever its connection was lost.
    ///
    /// The one listening connection carries the other announcements too:
    /// they go to `heard`, and `relistened` runs each time the listener is
    /// (again) in place, for whoever must look for what went by unheard.
    pub async fn maintain(
        &self,
        db: &Database,
        shared: &Shared,
        heard: impl Fn(Announcement),
        relistened: impl Fn(),
        cancel: CancellationToken,
    ) {
        let (to_invalidate, mut invalidations) = mpsc::unbounded_channel::<AccountId>();
        let listening = CancellationToken::new();
        let listener = db.listen_for_announcements(
            |announcement| match announcement {
                Announcement::HoldsChanged(account) => {
                    self.announce(&account);
                    if self.uses_redis {
                        // Closed only when `maintain` returns.
                        let _ = to_invalidate.send(account);
                    } else {
                        shared.forget_cached_holds(&account);
                    }
                }
                other => heard(other),
            },
            // (Re)connected: anything may have been missed while away.
            || async {
                self.listening();
                relistened();
                self.reload(db, shared).await;
            },
            || self.lost(),
            listening.clone(),
        );
        let reloads = async {
            if self.uses_redis {
                return std::future::pending().await;
            }
            loop {
                let wait = if self.is_current() { RELOAD_EVERY } else { RETRY_EVERY };
                tokio::time::sleep(wait).await;
                // Without the listener a reload cannot make the feed current.
                if self.inner.lock().expect("hold index lock").listening {
                    self.reload(db, shared).await;
                }
            }
        };
        let invalidate = async {
            let mut batch = Vec::with_capacity(INVALIDATION_BATCH);
            while invalidations.recv_many(&mut batch, INVALIDATION_BATCH).await > 0 {
                shared.invalidate_holds(&batch).await;
                batch.clear();
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => listening.cancel(),
            _ = listener => {}
            _ = reloads => {}
            _ = invalidate => {}
            _ = shared.resync_until_cancelled(cancel.clone()) => {}
        }
    }
}

#[cfg(test)]
mod tests;
