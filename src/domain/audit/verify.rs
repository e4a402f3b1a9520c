//! Walking a chain: what `holdfast audit verify` checks of each entry, and
//! the heads an operator keeps outside the database.

use ring::hmac;

use super::{AuditRecord, Chain, ENTRY_REFUSED, GENESIS, entry_mac, legacy_entry_mac};

/// An entry as stored, for verification.
#[derive(Clone, Debug)]
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
mod tests;
