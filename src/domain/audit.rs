//! The audit log's hash chain.
//!
//! Entry `n` stores the MAC of entry `n - 1` (`prev_hash`) and its own MAC
//! (HMAC-SHA256 under a key derived from the master key, never stored in the
//! database) over its sequence number, contents and `prev_hash`. Changing an
//! entry breaks its own MAC, and without the key nobody can recompute it or
//! any after it; removing or inserting one breaks the link of the entry after
//! it or leaves a gap in the sequence; removing entries at the end leaves the
//! chain shorter than the head the database keeps beside it — and should the
//! head be rewound too, shorter than the [`Anchor`] an operator keeps outside
//! the database.

use ring::hmac;
use serde::Serialize;
use serde_json::Value;

use super::ids::IncidentId;
use super::time::Timestamp;

/// The `prev_hash` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// One event to record. Never put a secret, code, token or IP address in it.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    pub at: Timestamp,
    /// Who did it: `system`, `risk-engine:<key id>`, `agent:<username>`, `holder`.
    pub actor: String,
    /// What happened, as `noun.verb`: `alert.received`, `hold.placed`, …
    pub action: String,
    pub incident_id: Option<String>,
    pub account_id: Option<String>,
    /// Details as compact JSON text; the hash covers these exact bytes.
    pub detail: String,
}

impl AuditRecord {
    pub fn new(at: Timestamp, actor: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            at,
            actor: actor.into(),
            action: action.into(),
            incident_id: None,
            account_id: None,
            detail: "{}".into(),
        }
    }

    pub fn incident(mut self, incident_id: &IncidentId, account_id: &str) -> Self {
        self.incident_id = Some(incident_id.to_string());
        self.account_id = Some(account_id.to_owned());
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

/// The MAC of entry `seq` holding `record`, chained to `prev_hash`:
/// HMAC-SHA256 under `key`, a key derived from the master key and never
/// stored in the database, so whoever can write the database still cannot
/// rewrite an entry and recompute the chain after it.
///
/// Each field is length-prefixed, so no two different entries encode to the
/// same bytes.
pub fn entry_mac(key: &hmac::Key, seq: i64, record: &AuditRecord, prev_hash: &[u8]) -> [u8; 32] {
    let mut context = hmac::Context::with_key(key);
    let mut field = |bytes: &[u8]| {
        context.update(&(bytes.len() as u64).to_be_bytes());
        context.update(bytes);
    };
    field(b"holdfast-audit-v2");
    field(&seq.to_be_bytes());
    field(&record.at.micros().to_be_bytes());
    field(record.actor.as_bytes());
    field(record.action.as_bytes());
    field(record.incident_id.as_deref().unwrap_or("\u{0}").as_bytes());
    field(record.account_id.as_deref().unwrap_or("\u{0}").as_bytes());
    field(record.detail.as_bytes());
    field(prev_hash);
    context.sign().as_ref().try_into().expect("HMAC-SHA256 is 32 bytes")
}

/// The MAC an entry carries while it waits to be chained: the chain's MAC
/// for sequence number 0, which no chained entry has (the first is 1), so a
/// waiting entry's MAC is never a valid link. The sealer refuses an entry
/// whose MAC does not match: it was forged or changed while it waited.
pub fn pending_mac(key: &hmac::Key, record: &AuditRecord) -> [u8; 32] {
    entry_mac(key, 0, record, &GENESIS)
}

/// One chained entry: its sequence number, `prev_hash` and hash.
pub type Link = (i64, [u8; 32], [u8; 32]);

/// Chains `records` after the entry (`head_seq`, `head_hash`) under `key`,
/// returning each entry's sequence number, `prev_hash` and MAC, and the new head.
pub fn chain(
    key: &hmac::Key,
    head_seq: i64,
    head_hash: [u8; 32],
    records: &[AuditRecord],
) -> (Vec<Link>, i64, [u8; 32]) {
    let mut seq = head_seq;
    let mut prev = head_hash;
    let mut links = Vec::with_capacity(records.len());
    for record in records {
        seq += 1;
        let hash = entry_mac(key, seq, record, &prev);
        links.push((seq, prev, hash));
        prev = hash;
    }
    (links, seq, prev)
}

/// An entry as stored, for verification.
pub struct StoredEntry {
    pub seq: i64,
    pub record: AuditRecord,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    /// The id of the master key whose derived key made the MAC.
    pub key_id: Option<String>,
}

/// A point of the chain an operator keeps outside the database
/// (`holdfast audit head`): the sequence number and MAC of an entry. A chain
/// that no longer reaches it was cut, even if its head row was rewound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub mac: [u8; 32],
}

impl Anchor {
    /// Parses `<seq>:<64 hex digits>`, the form `holdfast audit head` prints.
    pub fn parse(text: &str) -> Option<Self> {
        let (seq, mac) = text.trim().split_once(':')?;
        let mac: [u8; 32] = hex::decode(mac).ok()?.try_into().ok()?;
        Some(Self {
            seq: seq.parse().ok().filter(|seq: &i64| *seq >= 0)?,
            mac,
        })
    }
}

impl std::fmt::Display for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, hex::encode(self.mac))
    }
}

/// The first place the chain is broken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq}: {problem}")]
pub struct ChainBreak {
    pub seq: i64,
    pub problem: String,
}

/// Walks stored entries in sequence order and reports the first break.
#[derive(Default)]
pub struct ChainVerifier {
    /// The last entry verified, and its MAC.
    last: Option<(i64, Vec<u8>)>,
    /// A point kept outside the database that the chain must reach.
    anchor: Option<Anchor>,
}

impl ChainVerifier {
    pub fn reaching(anchor: Option<Anchor>) -> Self {
        Self { last: None, anchor }
    }

    fn expected_seq(&self) -> i64 {
        self.last.as_ref().map_or(1, |(seq, _)| seq + 1)
    }

    /// Checks the next entry; `key` is the chain key its `key_id` names, if
    /// it is configured.
    pub fn check(&mut self, entry: &StoredEntry, key: Option<&hmac::Key>) -> Result<(), ChainBreak> {
        let broken = |problem: &str| {
            Err(ChainBreak {
                seq: entry.seq,
                problem: problem.to_owned(),
            })
        };
        let expected = self.expected_seq();
        if entry.seq != expected {
            let problem = if entry.seq > expected {
                format!(
                    "expected entry {expected} next; entries {expected}..{} are missing (removed)",
                    entry.seq - 1
                )
            } else {
                format!("out of sequence after entry {} (inserted)", expected - 1)
            };
            return Err(ChainBreak {
                seq: entry.seq,
                problem,
            });
        }
        let prev = self.last.as_ref().map_or(&GENESIS[..], |(_, mac)| mac.as_slice());
        if entry.prev_hash != prev {
            return broken(
                "does not link to the entry before it (an entry was removed, inserted or changed before it)",
            );
        }
        let Some(key) = key else {
            return broken(&match &entry.key_id {
                Some(id) => format!(
                    "was sealed under master key `{id}`, which is not configured (set HOLDFAST_MASTER_KEY_PREVIOUS)"
                ),
                None => "carries no key id: it was not written by this version of Holdfast (inserted)".into(),
            });
        };
        if entry_mac(key, entry.seq, &entry.record, &entry.prev_hash).as_slice() != entry.hash.as_slice() {
            return broken("its contents do not match its MAC (the entry was changed)");
        }
        if let Some(anchor) = self.anchor
            && anchor.seq == entry.seq
            && anchor.mac.as_slice() != entry.hash.as_slice()
        {
            return broken("does not match the head kept outside the database (the chain was rewritten from here)");
        }
        self.last = Some((entry.seq, entry.hash.clone()));
        Ok(())
    }

    /// Compares the end of the chain with the head kept beside it; returns the
    /// number of entries verified.
    pub fn finish(self, head_seq: i64, head_hash: &[u8]) -> Result<i64, ChainBreak> {
        let last = self.expected_seq() - 1;
        if let Some(anchor) = self.anchor
            && anchor.seq > last
        {
            return Err(ChainBreak {
                seq: last + 1,
                problem: format!(
                    "missing: the log ends at entry {last} but the head kept outside the database is entry {} (the end was cut)",
                    anchor.seq
                ),
            });
        }
        if last < head_seq {
            return Err(ChainBreak {
                seq: last + 1,
                problem: format!("missing: the log ends at entry {last} but {head_seq} entries were written (removed)"),
            });
        }
        if last > head_seq {
            return Err(ChainBreak {
                seq: head_seq + 1,
                problem: format!("not written by Holdfast: only {head_seq} entries were written (inserted)"),
            });
        }
        let prev = self.last.as_ref().map_or(&GENESIS[..], |(_, mac)| mac.as_slice());
        if prev != head_hash {
            return Err(ChainBreak {
                seq: last,
                problem: "does not match the recorded head of the chain (changed)".into(),
            });
        }
        Ok(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, b"test audit chain key, 32 bytes!!")
    }

    fn records(n: usize) -> Vec<AuditRecord> {
        let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
        (0..n)
            .map(|i| AuditRecord::new(at, "system", format!("test.event{i}")))
            .collect()
    }

    fn stored_under(key: &hmac::Key, records: &[AuditRecord]) -> (Vec<StoredEntry>, i64, [u8; 32]) {
        let (links, head_seq, head_hash) = chain(key, 0, GENESIS, records);
        let entries = links
            .into_iter()
            .zip(records)
            .map(|((seq, prev, hash), record)| StoredEntry {
                seq,
                record: record.clone(),
                prev_hash: prev.to_vec(),
                hash: hash.to_vec(),
                key_id: Some("k".into()),
            })
            .collect();
        (entries, head_seq, head_hash)
    }

    #[test]
    fn a_waiting_entrys_mac_changes_with_its_contents_and_is_never_a_link() {
        let record = records(1).remove(0);
        let mac = pending_mac(&key(), &record);
        let mut changed = record.clone();
        changed.actor = "agent:mallory".into();
        assert_ne!(pending_mac(&key(), &changed), mac);
        let other_key = hmac::Key::new(hmac::HMAC_SHA256, b"another key, also 32 bytes long!");
        assert_ne!(pending_mac(&other_key, &record), mac);
        let (links, _, _) = chain(&key(), 0, GENESIS, &[record]);
        assert_ne!(links[0].2, mac, "the first link is entry 1, not entry 0");
    }

    fn stored(records: &[AuditRecord]) -> (Vec<StoredEntry>, i64, [u8; 32]) {
        stored_under(&key(), records)
    }

    fn verify_reaching(
        anchor: Option<Anchor>,
        entries: &[StoredEntry],
        head_seq: i64,
        head_hash: &[u8],
    ) -> Result<i64, ChainBreak> {
        let key = key();
        let mut verifier = ChainVerifier::reaching(anchor);
        for entry in entries {
            verifier.check(entry, Some(&key))?;
        }
        verifier.finish(head_seq, head_hash)
    }

    fn verify(entries: &[StoredEntry], head_seq: i64, head_hash: &[u8]) -> Result<i64, ChainBreak> {
        verify_reaching(None, entries, head_seq, head_hash)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (entries, seq, hash) = stored(&records(5));
        assert_eq!(verify(&entries, seq, &hash), Ok(5));
    }

    #[test]
    fn a_changed_entry_is_named() {
        let (mut entries, seq, hash) = stored(&records(5));
        entries[2].record.actor = "agent:mallory".into();
        assert_eq!(verify(&entries, seq, &hash).unwrap_err().seq, 3);
    }

    #[test]
    fn a_chain_rewritten_without_the_key_is_caught_at_the_first_changed_entry() {
        let mut all = records(5);
        all[2].actor = "agent:mallory".into();
        let forger = hmac::Key::new(hmac::HMAC_SHA256, b"whoever owns the database only..");
        let (entries, seq, hash) = stored_under(&forger, &all);
        assert_eq!(
            verify(&entries, seq, &hash).unwrap_err().seq,
            1,
            "no entry verifies under a guessed key"
        );
    }

    #[test]
    fn a_removed_entry_is_named() {
        let (mut entries, seq, hash) = stored(&records(5));
        entries.remove(1);
        assert_eq!(verify(&entries, seq, &hash).unwrap_err().seq, 3);
    }

    #[test]
    fn removing_the_last_entries_is_caught_by_the_head() {
        let (mut entries, seq, hash) = stored(&records(5));
        entries.truncate(3);
        assert_eq!(verify(&entries, seq, &hash).unwrap_err().seq, 4);
    }

    #[test]
    fn a_cut_tail_with_a_rewound_head_is_caught_only_by_the_anchor_kept_outside() {
        let (mut entries, _, _) = stored(&records(5));
        let anchor = Anchor {
            seq: 5,
            mac: entries[4].hash.clone().try_into().unwrap(),
        };
        entries.truncate(3);
        let (rewound_seq, rewound_hash) = (3, entries[2].hash.clone());
        assert_eq!(
            verify(&entries, rewound_seq, &rewound_hash),
            Ok(3),
            "consistent without the anchor"
        );
        let cut = verify_reaching(Some(anchor), &entries, rewound_seq, &rewound_hash).unwrap_err();
        assert_eq!(cut.seq, 4);
        assert!(cut.problem.contains("kept outside"), "{cut}");
    }

    #[test]
    fn an_anchor_round_trips_and_a_wrong_one_is_named() {
        let (entries, seq, hash) = stored(&records(3));
        let anchor = Anchor {
            seq: 2,
            mac: entries[1].hash.clone().try_into().unwrap(),
        };
        assert_eq!(Anchor::parse(&anchor.to_string()), Some(anchor));
        assert_eq!(Anchor::parse("2:zz"), None);
        assert_eq!(verify_reaching(Some(anchor), &entries, seq, &hash), Ok(3));
        let wrong = Anchor { mac: [7; 32], ..anchor };
        assert_eq!(verify_reaching(Some(wrong), &entries, seq, &hash).unwrap_err().seq, 2);
    }

    #[test]
    fn an_entry_appended_behind_the_heads_back_is_caught() {
        let all = records(6);
        let (entries, _, _) = stored(&all);
        let (_, seq, hash) = stored(&all[..5]);
        assert_eq!(verify(&entries, seq, &hash).unwrap_err().seq, 6);
    }

    #[test]
    fn an_entry_without_a_key_id_or_with_an_unknown_key_is_refused() {
        let (mut entries, seq, hash) = stored(&records(2));
        entries[0].key_id = None;
        let mut verifier = ChainVerifier::default();
        let refused = verifier.check(&entries[0], None).unwrap_err();
        assert!(refused.problem.contains("no key id"), "{refused}");
        assert!(
            verify(&entries, seq, &hash).is_ok(),
            "the key, not the id, decides when it is configured"
        );
    }

    #[test]
    fn a_renumbered_insertion_breaks_the_chain() {
        let (mut entries, seq, hash) = stored(&records(4));
        let forged = StoredEntry {
            seq: 3,
            record: records(1).remove(0),
            prev_hash: entries[1].hash.clone(),
            hash: vec![0; 32],
            key_id: Some("k".into()),
        };
        for entry in &mut entries[2..] {
            entry.seq += 1;
        }
        entries.insert(2, forged);
        assert_eq!(verify(&entries, seq, &hash).unwrap_err().seq, 3);
    }
}
