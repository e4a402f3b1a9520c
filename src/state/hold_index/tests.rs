use super::*;

fn id(text: &str) -> AccountId {
    AccountId::parse(text).unwrap()
}

/// An index whose feed is current, with `accounts` loaded.
fn loaded(accounts: &[&str]) -> HoldIndex {
    let index = HoldIndex::new(false);
    index.listening();
    let ticket = index.begin_reload();
    assert!(index.finish_reload(ticket, Ok(accounts.iter().map(|a| id(a)).collect())));
    index
}

#[test]
fn an_index_not_yet_loaded_sends_every_check_to_the_database() {
    let index = HoldIndex::new(false);
    assert_eq!(index.lookup(&id("acct-1")), Lookup::Database);
    index.listening();
    assert_eq!(
        index.lookup(&id("acct-1")),
        Lookup::Database,
        "listening, not yet reloaded"
    );
}

#[test]
fn only_accounts_outside_the_set_are_certainly_free() {
    let index = loaded(&["frozen"]);
    assert_eq!(index.lookup(&id("never-frozen")), Lookup::Free);
    assert_eq!(index.lookup(&id("frozen")), Lookup::Cached);
}

#[test]
fn an_announced_account_is_no_longer_certainly_free() {
    let index = loaded(&[]);
    index.announce(&id("acct-1"));
    assert_eq!(index.lookup(&id("acct-1")), Lookup::Cached);
}

#[test]
fn an_announcement_during_a_reload_survives_it() {
    let index = loaded(&[]);
    let ticket = index.begin_reload();
    index.announce(&id("acct-1"));
    // What the reload read from the database did not include acct-1 yet.
    index.finish_reload(ticket, Ok(vec![id("acct-2")]));
    assert_eq!(index.lookup(&id("acct-1")), Lookup::Cached);
    assert_eq!(index.lookup(&id("acct-2")), Lookup::Cached);
    assert_eq!(index.lookup(&id("acct-3")), Lookup::Free);
}

#[test]
fn a_failed_reload_leaves_the_index_knowing_nothing() {
    let index = loaded(&[]);
    let ticket = index.begin_reload();
    index.finish_reload(ticket, Err(sqlx::Error::PoolTimedOut));
    assert_eq!(index.lookup(&id("acct-1")), Lookup::Cached);
}

#[test]
fn a_lost_feed_sends_every_check_to_the_database_until_listening_and_reloaded() {
    let index = loaded(&[]);
    index.lost();
    assert_eq!(index.lookup(&id("acct-1")), Lookup::Database);
    assert!(!index.is_current());

    index.listening();
    let ticket = index.begin_reload();
    assert!(index.finish_reload(ticket, Ok(vec![])), "the reload makes it current");
    assert_eq!(index.lookup(&id("acct-1")), Lookup::Free);
}

#[test]
fn a_reload_begun_before_a_loss_does_not_make_the_feed_current() {
    let index = loaded(&[]);
    let ticket = index.begin_reload();
    index.lost();
    index.listening();
    assert!(!index.finish_reload(ticket, Ok(vec![])));
    assert_eq!(index.lookup(&id("acct-1")), Lookup::Database);
}

#[test]
fn a_reload_while_the_listener_is_away_does_not_make_the_feed_current() {
    let index = loaded(&[]);
    index.lost();
    let ticket = index.begin_reload();
    assert!(!index.finish_reload(ticket, Ok(vec![])));
    assert_eq!(index.lookup(&id("acct-1")), Lookup::Database);
}

#[test]
fn with_redis_the_index_never_answers_alone() {
    let index = HoldIndex::new(true);
    index.listening();
    let ticket = index.begin_reload();
    index.finish_reload(ticket, Ok(vec![]));
    assert_eq!(index.lookup(&id("acct-1")), Lookup::Cached);
}
