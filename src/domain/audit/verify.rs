//! Walking a chain: what `holdfast audit verify` checks of each entry, and
//! the heads an operator keeps outside the database.
//!
//! (Over 400 lines: the walk of one chain is short; the unit tests at the
//! end, one per way of tampering with a chain, are most of it.)

use ring::hmac;

use super::{AuditRecord, Chain, ENTRY_REFUSED, GENESIS, entry_mac, legacy_entry_mac};

/// An entry as stored, for verification.
pub struct StoredEntry {
    pub chain: u16,
    pub seq: i64,
    pub record: AuditRecord,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    /// The id of the master key whose derived key made the MAC.
    pub key_id: Option<String>,
}

/// A point of one chain: the sequence number and MAC of an entry (or 0 and
/// [`GENESIS`] for a chain with none yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub chain: u16,
    pub seq: i64,
    pub mac: [u8; 32],
}

/// The head of every chain, as `holdfast audit head` prints it and an
/// operator keeps outside the database (a ticket, a log shipped elsewhere):
/// `<chain>:<seq>:<mac>` for each chain, joined by `,`. A chain that no longer
/// reaches its head was cut, even if its head row in the database was rewound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heads(pub Vec<ChainHead>);

impl Heads {
    /// Parses the form [`Heads`] prints: each chain once, MACs as 64 hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        let mut heads = Vec::new();
        for item in text.trim().split(',') {
            let mut parts = item.trim().splitn(3, ':');
            let chain: u16 = parts.next()?.parse().ok()?;
            let seq: i64 = parts.next()?.parse().ok().filter(|seq: &i64| *seq >= 0)?;
            let mac: [u8; 32] = hex::decode(parts.next()?).ok()?.try_into().ok()?;
            if heads.iter().any(|head: &ChainHead| head.chain == chain) {
                return None;
            }
            heads.push(ChainHead { chain, seq, mac });
        }
        Some(Self(heads))
    }

    /// The head of `chain`, if this names one.
    pub fn of(&self, chain: u16) -> Option<ChainHead> {
        self.0.iter().find(|head| head.chain == chain).copied()
    }
}

impl std::fmt::Display for Heads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, head) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{}:{}", head.chain, head.seq, hex::encode(head.mac))?;
        }
        Ok(())
    }
}

/// A place where the log is broken: an entry of a chain, or (`seq` 0) a
/// chain as a whole.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ChainBreak {
    pub chain: u16,
    pub seq: i64,
    pub problem: String,
}

impl ChainBreak {
    pub fn new(chain: u16, seq: i64, problem: impl Into<String>) -> Self {
        Self {
            chain,
            seq,
            problem: problem.into(),
        }
    }

    fn describe(&self) -> String {
        match self.seq {
            0 => format!("audit chain {}: {}", self.chain, self.problem),
            seq => format!("audit chain {}, entry {seq}: {}", self.chain, self.problem),
        }
    }
}

/// Walks the stored entries of one chain in sequence order and reports the
/// first break; entries recording a refusal are noted and the walk goes on,
/// so a refusal does not hide a break after it.
pub struct ChainVerifier {
    chain: Chain,
    /// Entries `1..=legacy_until` carry the MAC format from before there
    /// were chains (chain 0 only).
    legacy_until: i64,
    /// The last entry verified, and its MAC (or the point the walk starts
    /// after: genesis, or a checkpoint's head of the chain).
    last: Option<(i64, Vec<u8>)>,
    /// The sequence number the walk starts after.
    start: i64,
    /// The head of this chain kept outside the database, which it must reach.
    kept: Option<ChainHead>,
    /// The first entry that records something could not be chained.
    refused: Option<ChainBreak>,
}

impl ChainVerifier {
    /// A walk of `chain`, whose first `legacy_until` entries predate chains,
    /// that must reach `kept`. Only chain 0 continues the log from before
    /// chains: a claim of legacy entries in another is itself a break (the
    /// legacy format binds no chain, so such entries could be copies).
    pub fn new(chain: Chain, legacy_until: i64, kept: Option<ChainHead>) -> Result<Self, ChainBreak> {
        if legacy_until < 0 || (chain.number != 0 && legacy_until != 0) {
            return Err(ChainBreak::new(
                chain.number,
                0,
                "its head claims entries from before the log had chains, which only chain 0 has (changed)",
            ));
        }
        Ok(Self {
            chain,
            legacy_until,
            last: None,
            start: 0,
            kept,
            refused: None,
        })
    }

    /// Starts the walk after `from` (a checkpoint's head of the chain)
    /// instead of genesis: the first entry must be the one after it, linked
    /// to its MAC. A head kept outside at that very point must be it.
    pub fn starting_after(mut self, from: ChainHead) -> Result<Self, ChainBreak> {
        if let Some(kept) = self.kept
            && kept.seq == from.seq
            && kept.mac != from.mac
        {
            return Err(ChainBreak::new(
                self.chain.number,
                from.seq,
                "does not match the head kept outside the database (the chain was rewritten from here)",
            ));
        }
        self.start = from.seq;
        self.last = (from.seq > 0).then(|| (from.seq, from.mac.to_vec()));
        Ok(self)
    }

    /// The number of the chain walked.
    pub fn chain(&self) -> u16 {
        self.chain.number
    }

    fn expected_seq(&self) -> i64 {
        self.last.as_ref().map_or(1, |(seq, _)| seq + 1)
    }

    /// How many entries verified so far.
    pub fn checked(&self) -> i64 {
        self.expected_seq() - 1 - self.start
    }

    /// The first entry that records something could not be chained, if any.
    pub fn refused(&self) -> Option<&ChainBreak> {
        self.refused.as_ref()
    }

    /// Checks the next entry; `key` is the chain key its `key_id` names, if
    /// it is configured.
    pub fn check(&mut self, entry: &StoredEntry, key: Option<&hmac::Key>) -> Result<(), ChainBreak> {
        let broken = |problem: String| Err(ChainBreak::new(self.chain.number, entry.seq, problem));
        if entry.chain != self.chain.number {
            return broken(format!("is stored as part of chain {} (moved)", entry.chain));
        }
        let expected = self.expected_seq();
        if entry.seq != expected {
            return broken(if entry.seq > expected {
                format!(
                    "expected entry {expected} next; entries {expected}..{} are missing (removed)",
                    entry.seq - 1
                )
            } else {
                format!("out of sequence after entry {} (inserted)", expected - 1)
            });
        }
        let prev = self.last.as_ref().map_or(&GENESIS[..], |(_, mac)| mac.as_slice());
        if entry.prev_hash != prev {
            return broken(
                "does not link to the entry before it (an entry was removed, inserted or changed before it)".into(),
            );
        }
        let Some(key) = key else {
            return broken(match &entry.key_id {
                Some(id) => format!(
                    "was sealed under master key `{id}`, which is not configured (set HOLDFAST_MASTER_KEY_PREVIOUS)"
                ),
                None => "carries no key id: it was not written by this version of Holdfast (inserted)".into(),
            });
        };
        let mac = match entry.seq <= self.legacy_until {
            true => legacy_entry_mac(key, entry.seq, &entry.record, &entry.prev_hash),
            false => entry_mac(key, self.chain, entry.seq, &entry.record, &entry.prev_hash),
        };
        if mac.as_slice() != entry.hash.as_slice() {
            return broken(
                "its contents do not match its MAC (the entry was changed, copied or moved, or the log's chains were)"
                    .into(),
            );
        }
        if let Some(kept) = self.kept
            && kept.seq == entry.seq
            && kept.mac.as_slice() != entry.hash.as_slice()
        {
            return broken(
                "does not match the head kept outside the database (the chain was rewritten from here)".into(),
            );
        }
        if entry.record.action == ENTRY_REFUSED && self.refused.is_none() {
            let claimed = entry.record.detail_value()["claimed_action"]
                .as_str()
                .unwrap_or("unknown")
                .to_owned();
            self.refused = Some(ChainBreak::new(
                self.chain.number,
                entry.seq,
                format!(
                    "records an entry (`{claimed}`) that could not be chained: it did not match its MAC when it was to be chained"
                ),
            ));
        }
        self.last = Some((entry.seq, entry.hash.clone()));
        Ok(())
    }

    /// Compares the end of the chain with its head in the database and the
    /// head kept outside; returns the number of entries verified.
    pub fn finish(self, head_seq: i64, head_hash: &[u8]) -> Result<i64, ChainBreak> {
        let last = self.expected_seq() - 1;
        let broken = |seq: i64, problem: String| Err(ChainBreak::new(self.chain.number, seq, problem));
        if let Some(kept) = self.kept
            && kept.seq > last
        {
            return broken(
                last + 1,
                format!(
                    "missing: the chain ends at entry {last} but the head kept outside the database is entry {} (the end was cut)",
                    kept.seq
                ),
            );
        }
        if last < head_seq {
            return broken(
                last + 1,
                format!("missing: the chain ends at entry {last} but {head_seq} entries were written (removed)"),
            );
        }
        if last > head_seq {
            return broken(
                head_seq + 1,
                format!("not written by Holdfast: only {head_seq} entries were written to this chain (inserted)"),
            );
        }
        let prev = self.last.as_ref().map_or(&GENESIS[..], |(_, mac)| mac.as_slice());
        if prev != head_hash {
            return broken(last, "does not match the recorded head of the chain (changed)".into());
        }
        Ok(last - self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{chain, legacy_entry_mac};
    use super::*;
    use crate::domain::time::Timestamp;

    fn key() -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, b"test audit chain key, 32 bytes!!")
    }

    fn records(n: usize) -> Vec<AuditRecord> {
        let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
        (0..n)
            .map(|i| AuditRecord::new(at, "system", format!("test.event{i}")))
            .collect()
    }

    const CHAIN: Chain = Chain { number: 5, of: 16 };
    const ZERO: Chain = Chain { number: 0, of: 16 };

    fn stored_under(key: &hmac::Key, records: &[AuditRecord]) -> (Vec<StoredEntry>, i64, [u8; 32]) {
        let (links, head_seq, head_hash) = chain(key, CHAIN, 0, GENESIS, records);
        let entries = links
            .into_iter()
            .zip(records)
            .map(|((seq, prev, hash), record)| StoredEntry {
                chain: CHAIN.number,
                seq,
                record: record.clone(),
                prev_hash: prev.to_vec(),
                hash: hash.to_vec(),
                key_id: Some("k".into()),
            })
            .collect();
        (entries, head_seq, head_hash)
    }

    fn stored(records: &[AuditRecord]) -> (Vec<StoredEntry>, i64, [u8; 32]) {
        stored_under(&key(), records)
    }

    fn walk(
        mut verifier: ChainVerifier,
        entries: &[StoredEntry],
        head_seq: i64,
        head_hash: &[u8],
    ) -> Result<i64, ChainBreak> {
        let key = key();
        for entry in entries {
            verifier.check(entry, Some(&key))?;
        }
        verifier.finish(head_seq, head_hash)
    }

    fn verify_reaching(
        kept: Option<ChainHead>,
        entries: &[StoredEntry],
        head_seq: i64,
        head_hash: &[u8],
    ) -> Result<i64, ChainBreak> {
        walk(
            ChainVerifier::new(CHAIN, 0, kept).unwrap(),
            entries,
            head_seq,
            head_hash,
        )
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
    fn a_changed_entry_is_named_with_its_chain() {
        let (mut entries, seq, hash) = stored(&records(5));
        entries[2].record.actor = "agent:mallory".into();
        let broken = verify(&entries, seq, &hash).unwrap_err();
        assert_eq!((broken.chain, broken.seq), (CHAIN.number, 3));
        assert!(broken.to_string().starts_with("audit chain 5, entry 3: "), "{broken}");
    }

    #[test]
    fn an_entry_moved_to_another_chain_does_not_verify_there() {
        let (entries, _, _) = stored(&records(1));
        let next = Chain {
            number: CHAIN.number + 1,
            ..CHAIN
        };
        let mut verifier = ChainVerifier::new(next, 0, None).unwrap();
        let mut moved = StoredEntry {
            chain: next.number,
            ..entries.into_iter().next().unwrap()
        };
        assert!(
            verifier
                .check(&moved, Some(&key()))
                .unwrap_err()
                .problem
                .contains("MAC")
        );
        moved.chain = CHAIN.number;
        assert!(
            verifier
                .check(&moved, Some(&key()))
                .unwrap_err()
                .problem
                .contains("moved")
        );
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
    fn a_cut_tail_with_a_rewound_head_is_caught_only_by_the_head_kept_outside() {
        let (mut entries, _, _) = stored(&records(5));
        let kept = ChainHead {
            chain: CHAIN.number,
            seq: 5,
            mac: entries[4].hash.clone().try_into().unwrap(),
        };
        entries.truncate(3);
        let (rewound_seq, rewound_hash) = (3, entries[2].hash.clone());
        assert_eq!(
            verify(&entries, rewound_seq, &rewound_hash),
            Ok(3),
            "consistent without the head kept outside"
        );
        let cut = verify_reaching(Some(kept), &entries, rewound_seq, &rewound_hash).unwrap_err();
        assert_eq!(cut.seq, 4);
        assert!(cut.problem.contains("kept outside"), "{cut}");
    }

    #[test]
    fn heads_round_trip_and_a_wrong_one_is_named() {
        let (entries, seq, hash) = stored(&records(3));
        let kept = ChainHead {
            chain: CHAIN.number,
            seq: 2,
            mac: entries[1].hash.clone().try_into().unwrap(),
        };
        let heads = Heads(vec![
            ChainHead {
                chain: 0,
                seq: 0,
                mac: GENESIS,
            },
            kept,
        ]);
        assert_eq!(Heads::parse(&heads.to_string()), Some(heads.clone()));
        assert_eq!(heads.to_string().split(',').count(), 2);
        assert_eq!(Heads::parse("2:zz"), None);
        assert_eq!(Heads::parse("5:2:00"), None, "a MAC is 32 bytes");
        assert_eq!(
            Heads::parse(&format!("{kept},{kept}", kept = Heads(vec![kept]))),
            None,
            "each chain once"
        );
        assert_eq!(verify_reaching(Some(kept), &entries, seq, &hash), Ok(3));
        let wrong = ChainHead { mac: [7; 32], ..kept };
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
        let mut verifier = ChainVerifier::new(CHAIN, 0, None).unwrap();
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
            chain: CHAIN.number,
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

    #[test]
    fn a_recorded_refusal_is_named_and_the_walk_goes_on_past_it() {
        let mut all = records(4);
        all[1] = AuditRecord::new(all[1].at, "system", ENTRY_REFUSED)
            .detail(serde_json::json!({"claimed_action": "hold.placed"}));
        let (entries, seq, hash) = stored(&all);
        let mut verifier = ChainVerifier::new(CHAIN, 0, None).unwrap();
        for entry in &entries {
            verifier.check(entry, Some(&key())).unwrap();
        }
        let refused = verifier.refused().cloned().unwrap();
        assert_eq!(refused.seq, 2);
        assert!(refused.problem.contains("hold.placed"), "{refused}");
        assert_eq!(verifier.finish(seq, &hash), Ok(4));
    }

    #[test]
    fn legacy_entries_verify_in_chain_0_up_to_where_the_upgrade_found_it_and_nowhere_else() {
        let all = records(4);
        let mut prev = GENESIS;
        let mut entries = Vec::new();
        for (i, record) in all.iter().enumerate() {
            let seq = i as i64 + 1;
            let hash = match seq <= 2 {
                true => legacy_entry_mac(&key(), seq, record, &prev),
                false => entry_mac(&key(), ZERO, seq, record, &prev),
            };
            entries.push(StoredEntry {
                chain: 0,
                seq,
                record: record.clone(),
                prev_hash: prev.to_vec(),
                hash: hash.to_vec(),
                key_id: Some("k".into()),
            });
            prev = hash;
        }
        let verifier = ChainVerifier::new(ZERO, 2, None).unwrap();
        assert_eq!(walk(verifier, &entries, 4, &prev), Ok(4));

        // Moving the boundary either way breaks the entry it crosses: a new
        // entry cannot be passed off as a legacy one, nor the reverse.
        let raised = ChainVerifier::new(ZERO, 3, None).unwrap();
        assert_eq!(walk(raised, &entries, 4, &prev).unwrap_err().seq, 3);
        let lowered = ChainVerifier::new(ZERO, 1, None).unwrap();
        assert_eq!(walk(lowered, &entries, 4, &prev).unwrap_err().seq, 2);
        // A copy of the legacy entries is never accepted in another chain.
        assert!(ChainVerifier::new(CHAIN, 2, None).is_err());
    }

    #[test]
    fn a_walk_resumed_after_a_checkpoint_counts_and_links_from_there() {
        let (entries, seq, hash) = stored(&records(5));
        let from = ChainHead {
            chain: CHAIN.number,
            seq: 2,
            mac: entries[1].hash.clone().try_into().unwrap(),
        };
        let resumed = || {
            ChainVerifier::new(CHAIN, 0, None)
                .unwrap()
                .starting_after(from)
                .unwrap()
        };
        assert_eq!(walk(resumed(), &entries[2..], seq, &hash), Ok(3));
        let cut = walk(resumed(), &entries[3..], seq, &hash).unwrap_err();
        assert_eq!(cut.seq, 4);
        assert!(cut.problem.contains("entries 3..3 are missing"), "{cut}");
        let elsewhere = ChainHead { mac: [8; 32], ..from };
        let unlinked = ChainVerifier::new(CHAIN, 0, None)
            .unwrap()
            .starting_after(elsewhere)
            .unwrap();
        assert_eq!(walk(unlinked, &entries[2..], seq, &hash).unwrap_err().seq, 3);
        let kept = ChainHead { mac: [9; 32], ..from };
        assert!(
            ChainVerifier::new(CHAIN, 0, Some(kept))
                .unwrap()
                .starting_after(from)
                .is_err()
        );
    }
}
