//! Which accounts may have holds: the holds check's shortcut for the
//! accounts that have none, which are nearly all of them.
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
//!   SQLite (one instance) in-process;
//! - an account announced while a reload reads the database is kept, so a
//!   reload never drops a change it did not see.
//!
//! Only without Redis: with Redis, instances share one hold cache that the
//! committing instance invalidates before it answers, and an index told of
//! another instance's change a few milliseconds late would weaken that.
//!
//! Until the set is loaded, or while the PostgreSQL listener is down (an
//! announcement may have been missed), the index answers "don't know" and
//! every check takes the usual path. It also gives up (and says so) past
//! [`MAX_ACCOUNTS`] frozen accounts, so memory stays bounded.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::storage::Database;

/// How often the whole set is read again.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);
/// The most frozen accounts the index holds; past it, every check reads the cache.
pub const MAX_ACCOUNTS: usize = 1_000_000;

#[derive(Default)]
pub struct HoldIndex {
    // A std mutex: held for a hash lookup or a swap, never across an await.
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The accounts that may have holds; `None` while unknown.
    accounts: Option<HashSet<String>>,
    /// Accounts announced since the running reload began.
    announced_during_reload: Option<Vec<String>>,
}

impl HoldIndex {
    /// Whether the account certainly has no hold (so the check needs no read).
    pub fn certainly_free(&self, account_id: &str) -> bool {
        let inner = self.inner.lock().expect("hold index lock");
        inner
            .accounts
            .as_ref()
            .is_some_and(|accounts| !accounts.contains(account_id))
    }

    /// An account whose holds changed (after the change committed).
    pub fn announce(&self, account_id: &str) {
        let mut inner = self.inner.lock().expect("hold index lock");
        if let Some(accounts) = inner.accounts.as_mut() {
            accounts.insert(account_id.to_owned());
        }
        if let Some(during) = inner.announced_during_reload.as_mut() {
            during.push(account_id.to_owned());
        }
    }

    /// Forgets the set until the next reload (an announcement may be lost).
    pub fn forget(&self) {
        self.inner.lock().expect("hold index lock").accounts = None;
    }

    /// Reads the set from the database again.
    pub async fn reload(&self, db: &Database) {
        self.begin_reload();
        let loaded = db.accounts_with_unlifted_holds(MAX_ACCOUNTS as i64 + 1).await;
        self.finish_reload(loaded);
    }

    fn begin_reload(&self) {
        self.inner.lock().expect("hold index lock").announced_during_reload = Some(Vec::new());
    }

    fn finish_reload(&self, loaded: Result<Vec<String>, sqlx::Error>) {
        let mut inner = self.inner.lock().expect("hold index lock");
        let announced = inner.announced_during_reload.take().unwrap_or_default();
        inner.accounts = match loaded {
            Ok(accounts) if accounts.len() <= MAX_ACCOUNTS => {
                let mut accounts: HashSet<String> = accounts.into_iter().collect();
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
    }

    /// Keeps the index current until `cancel` fires: listens for other
    /// instances' announcements (PostgreSQL) and reloads on a timer.
    pub async fn maintain(&self, db: &Database, cancel: CancellationToken) {
        let listening = CancellationToken::new();
        let listener = db.listen_for_hold_changes(
            |account| self.announce(account),
            // (Re)connected: anything may have been missed while down.
            || async { self.reload(db).await },
            || self.forget(),
            listening.clone(),
        );
        let reloads = async {
            loop {
                tokio::time::sleep(RELOAD_EVERY).await;
                self.reload(db).await;
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => listening.cancel(),
            _ = listener => {}
            _ = reloads => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(accounts: &[&str]) -> HoldIndex {
        let index = HoldIndex::default();
        index.inner.lock().unwrap().accounts = Some(accounts.iter().map(|a| a.to_string()).collect());
        index
    }

    #[test]
    fn an_index_not_yet_loaded_knows_nothing() {
        let index = HoldIndex::default();
        assert!(!index.certainly_free("acct-1"));
    }

    #[test]
    fn only_accounts_outside_the_set_are_certainly_free() {
        let index = loaded(&["frozen"]);
        assert!(index.certainly_free("never-frozen"));
        assert!(!index.certainly_free("frozen"));
    }

    #[test]
    fn an_announced_account_is_no_longer_certainly_free() {
        let index = loaded(&[]);
        index.announce("acct-1");
        assert!(!index.certainly_free("acct-1"));
    }

    #[test]
    fn an_announcement_during_a_reload_survives_it() {
        let index = loaded(&[]);
        index.begin_reload();
        index.announce("acct-1");
        // What the reload read from the database did not include acct-1 yet.
        index.finish_reload(Ok(vec!["acct-2".to_owned()]));
        assert!(!index.certainly_free("acct-1"));
        assert!(!index.certainly_free("acct-2"));
        assert!(index.certainly_free("acct-3"));
    }

    #[test]
    fn a_failed_reload_leaves_the_index_knowing_nothing() {
        let index = loaded(&[]);
        index.begin_reload();
        index.finish_reload(Err(sqlx::Error::PoolTimedOut));
        assert!(!index.certainly_free("acct-1"));
    }

    #[test]
    fn a_forgotten_index_knows_nothing() {
        let index = loaded(&[]);
        index.forget();
        assert!(!index.certainly_free("acct-1"));
    }
}
