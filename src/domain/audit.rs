//! The audit log's chains.
//!
//! The log is a fixed number of chains (stored in the database, fixed by the
//! migration that made them), each with its own head. An entry's chain is
//! chosen by its account ([`chain_of`]), so the changes of different accounts
//! do not queue for one head. Entry `n` of a chain stores the MAC of entry
//! `n - 1` of the same chain (`prev_hash`) and its own MAC (HMAC-SHA256 under
//! a key derived from the master key, never stored in the database) over its
//! chain (as one of how many), its sequence number in that chain, its
//! contents and `prev_hash` ([`entry_mac`]). Changing an entry breaks its own
//! MAC, and without the key nobody can recompute it or any after it; moving
//! one to another chain or position breaks it too, and so does removing a
//! whole chain, head and all, for every entry of the others; removing or
//! inserting one breaks the link of the
//! entry after it or leaves a gap in the sequence; removing entries at the
//! end leaves the chain shorter than the head the database keeps beside it —
//! and should the head be rewound too, shorter than the head an operator
//! keeps outside the database ([`verify::ChainHead`]).

use ring::hmac;
use serde::Serialize;
use serde_json::Value;

use super::ids::{AccountId, IncidentId};
use super::time::Timestamp;

pub mod action;
pub mod checkpoint;
pub mod verify;

pub use action::AuditAction;

/// The `prev_hash` of a chain's first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// The action of an entry chained in place of one that could not be chained
/// as written. `holdfast audit verify` fails on it.
pub const ENTRY_REFUSED: &str = AuditAction::AuditEntryRefused.as_str();

/// One event to record. Never put a secret, code, token or IP address in it.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    pub at: Timestamp,
    /// Who did it: `system`, `risk-engine:<key id>`, `agent:<username>`, `holder`.
    pub actor: String,
    /// What happened, as `noun.verb`: an [`AuditAction`]'s text when written;
    /// as read back, it may be one this version no longer writes.
    pub action: String,
    pub incident_id: Option<String>,
    /// The account it concerns; an entry about an incident always names the
    /// incident's account, so an incident's entries share one chain.
    pub account_id: Option<AccountId>,
    /// Details as compact JSON text; the hash covers these exact bytes.
    pub detail: String,
}

impl AuditRecord {
    pub fn new(at: Timestamp, actor: impl Into<String>, action: AuditAction) -> Self {
        Self::with_action_text(at, actor, action.as_str())
    }

    /// A record whose action is given as text: one read back, or written by
    /// an older version (the verifier's and the log's own tests make these).
    pub fn with_action_text(at: Timestamp, actor: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            at,
            actor: actor.into(),
            action: action.into(),
            incident_id: None,
            account_id: None,
            detail: "{}".into(),
        }
    }

    pub fn incident(mut self, incident_id: &IncidentId, account_id: &AccountId) -> Self {
        self.incident_id = Some(incident_id.to_string());
        self.account_id = Some(account_id.clone());
        self
    }

    pub fn detail(mut self, detail: impl Serialize) -> Self {
        self.detail = serde_json::to_string(&detail).unwrap_or_else(|_| "{}".into());
        self
    }

    pub fn detail_value(&self) -> Value {
        serde_json::from_str(&self.detail).unwrap_or(Value::Null)
    }
}

/// A stable hash of an account id (or an actor): the same in every instance
/// and every version, unlike the standard library's hashers. It picks an
/// entry's chain ([`chain_of`]) and an alert's intake shard, so that when the
/// number of chains is a multiple of the number of intake workers, one
/// worker's batches lock only chains of their own.
pub fn stable_hash(text: &str) -> u64 {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    u64::from_be_bytes(digest.as_ref()[..8].try_into().expect("SHA-256 is 32 bytes"))
}

/// One chain of the log: its number, and how many chains the log has (fixed
/// by the migration that made them). Both are bound into its entries' MACs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Chain {
    pub number: u16,
    pub of: u16,
}

/// The chain, of `chains`, that `record` goes to: its account's, or for an
/// entry about no account (an agent signing in, a campaign recognised), its
/// actor's. Either way the same key always gives the same chain.
pub fn chain_of(record: &AuditRecord, chains: u16) -> Chain {
    let key = record
        .account_id
        .as_ref()
        .map_or(record.actor.as_str(), AccountId::as_str);
    let of = chains.max(1);
    Chain {
        number: (stable_hash(key) % u64::from(of)) as u16,
        of,
    }
}

/// The MAC of entry `seq` of `chain` holding `record`, chained to
/// `prev_hash`: HMAC-SHA256 under `key`, a key derived from the master key
/// and never stored in the database, so whoever can write the database still
/// cannot rewrite an entry and recompute the chain after it.
///
/// Each field is length-prefixed, so no two different entries encode to the
/// same bytes; the first names the format, so a MAC of this format is never
/// one of [`legacy_entry_mac`]'s.
pub fn entry_mac(key: &hmac::Key, chain: Chain, seq: i64, record: &AuditRecord, prev_hash: &[u8]) -> [u8; 32] {
    mac_of(key, b"holdfast-audit-v3", Some(chain), seq, record, prev_hash)
}

/// The MAC of an entry written before the log had chains (format v2, which
/// binds no chain). Only the first entries of chain 0 — the single chain the
/// upgrade found — carry it; `ChainVerifier` accepts it nowhere else.
pub fn legacy_entry_mac(key: &hmac::Key, seq: i64, record: &AuditRecord, prev_hash: &[u8]) -> [u8; 32] {
    mac_of(key, b"holdfast-audit-v2", None, seq, record, prev_hash)
}

/// The MAC an older version gave an entry it left waiting to be chained: the
/// legacy MAC of sequence number 0, which no chained entry has. Read once, by
/// the upgrade that chains those entries.
pub fn legacy_waiting_mac(key: &hmac::Key, record: &AuditRecord) -> [u8; 32] {
    legacy_entry_mac(key, 0, record, &GENESIS)
}

fn mac_of(
    key: &hmac::Key,
    format: &[u8],
    chain: Option<Chain>,
    seq: i64,
    record: &AuditRecord,
    prev_hash: &[u8],
) -> [u8; 32] {
    let mut context = hmac::Context::with_key(key);
    let mut field = |bytes: &[u8]| {
        context.update(&(bytes.len() as u64).to_be_bytes());
        context.update(bytes);
    };
    field(format);
    if let Some(chain) = chain {
        field(&chain.number.to_be_bytes());
        field(&chain.of.to_be_bytes());
    }
    field(&seq.to_be_bytes());
    field(&record.at.micros().to_be_bytes());
    field(record.actor.as_bytes());
    field(record.action.as_bytes());
    field(record.incident_id.as_deref().unwrap_or("\u{0}").as_bytes());
    field(record.account_id.as_ref().map_or("\u{0}", AccountId::as_str).as_bytes());
    field(record.detail.as_bytes());
    field(prev_hash);
    context.sign().as_ref().try_into().expect("HMAC-SHA256 is 32 bytes")
}

/// One chained entry: its sequence number, `prev_hash` and hash.
pub type Link = (i64, [u8; 32], [u8; 32]);

/// Chains `records` after the entry (`head_seq`, `head_hash`) of `chain`
/// under `key`, returning each entry's sequence number, `prev_hash` and MAC,
/// and the chain's new head.
pub fn chain(
    key: &hmac::Key,
    chain: Chain,
    head_seq: i64,
    head_hash: [u8; 32],
    records: &[AuditRecord],
) -> (Vec<Link>, i64, [u8; 32]) {
    let mut seq = head_seq;
    let mut prev = head_hash;
    let mut links = Vec::with_capacity(records.len());
    for record in records {
        seq += 1;
        let hash = entry_mac(key, chain, seq, record, &prev);
        links.push((seq, prev, hash));
        prev = hash;
    }
    (links, seq, prev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, b"test audit chain key, 32 bytes!!")
    }

    fn record() -> AuditRecord {
        let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
        AuditRecord::with_action_text(at, "system", "test.event")
    }

    #[test]
    fn an_entrys_mac_binds_its_chain_and_its_place_in_it() {
        let record = record();
        let chain = Chain { number: 3, of: 16 };
        let mac = entry_mac(&key(), chain, 7, &record, &GENESIS);
        let other = Chain { number: 4, ..chain };
        assert_ne!(entry_mac(&key(), other, 7, &record, &GENESIS), mac, "another chain");
        let fewer = Chain { of: 15, ..chain };
        assert_ne!(
            entry_mac(&key(), fewer, 7, &record, &GENESIS),
            mac,
            "a log of fewer chains"
        );
        assert_ne!(entry_mac(&key(), chain, 8, &record, &GENESIS), mac, "another position");
        assert_ne!(
            entry_mac(&key(), chain, 7, &record, &[1; 32]),
            mac,
            "another predecessor"
        );
    }

    #[test]
    fn the_chained_format_and_the_legacy_one_never_give_the_same_mac() {
        let record = record();
        assert_ne!(
            entry_mac(&key(), Chain { number: 0, of: 16 }, 7, &record, &GENESIS),
            legacy_entry_mac(&key(), 7, &record, &GENESIS)
        );
    }

    #[test]
    fn a_legacy_waiting_mac_changes_with_its_contents_and_key() {
        let record = record();
        let mac = legacy_waiting_mac(&key(), &record);
        let mut changed = record.clone();
        changed.actor = "agent:mallory".into();
        assert_ne!(legacy_waiting_mac(&key(), &changed), mac);
        let other_key = hmac::Key::new(hmac::HMAC_SHA256, b"another key, also 32 bytes long!");
        assert_ne!(legacy_waiting_mac(&other_key, &record), mac);
    }

    #[test]
    fn an_accounts_entries_share_a_chain_and_entries_without_one_follow_the_actor() {
        let mut a = record();
        a.account_id = Some(AccountId::parse("acct-1").unwrap());
        let mut b = record();
        b.account_id = Some(AccountId::parse("acct-1").unwrap());
        b.actor = "agent:alice".into();
        assert_eq!(chain_of(&a, 16), chain_of(&b, 16));
        let mut c = record();
        c.actor = "agent:alice".into();
        assert_eq!(chain_of(&c, 16).number, (stable_hash("agent:alice") % 16) as u16);
        assert!(
            (0..200)
                .map(|i| {
                    let mut r = record();
                    r.account_id = Some(AccountId::parse(&format!("acct-{i}")).unwrap());
                    chain_of(&r, 16)
                })
                .all(|chain| chain.number < 16 && chain.of == 16)
        );
    }

    #[test]
    fn with_a_multiple_of_the_shards_a_shards_accounts_keep_to_its_own_chains() {
        for i in 0..500 {
            let account = format!("acct-{i}");
            let mut r = record();
            r.account_id = Some(AccountId::parse(&account).unwrap());
            assert_eq!(u64::from(chain_of(&r, 16).number) % 4, stable_hash(&account) % 4);
        }
    }

    #[test]
    fn the_stable_hash_does_not_change() {
        // The first 8 bytes of SHA-256("acct-1"), fixed for good: entries'
        // chains and intake shards are chosen by it in every version.
        assert_eq!(stable_hash("acct-1"), 0xba36_a4ed_d92d_37c6);
    }

    #[test]
    fn chaining_continues_from_the_head() {
        let records = vec![record(), record()];
        let two = Chain { number: 2, of: 16 };
        let (links, seq, hash) = chain(&key(), two, 5, [9; 32], &records);
        assert_eq!(links[0].0, 6);
        assert_eq!(links[0].1, [9; 32]);
        assert_eq!(links[1].1, links[0].2);
        assert_eq!((seq, hash), (7, links[1].2));
        assert_eq!(links[1].2, entry_mac(&key(), two, 7, &records[1], &links[0].2));
    }
}
