//! Checkpoints: where the log was cut when its older entries were archived.
//!
//! `holdfast audit archive` moves each chain's entries before a cut into a
//! file and leaves a [`Checkpoint`] behind, in the database and as the
//! file's last line: for every chain, the segment it archived (from the
//! previous checkpoint's head, or genesis, to the cut's head), how many
//! entries that is, where the chain's `audit.checkpoint` entry went, and the
//! SHA-256 of the file's lines before it, all MACed under the audit key. The
//! live log then starts from the cut's heads instead of genesis; the entry
//! chained into every chain binds the checkpoint to the chain itself, so
//! neither can be changed or dropped without `audit verify` noticing.
//!
//! An archive file is JSON lines ([`ArchiveLine`]): a header, each archived
//! entry (chain by chain, in sequence order) with every column its MAC
//! covers, and the checkpoint.

use ring::hmac;
use serde::{Deserialize, Serialize};

use super::verify::{ChainHead, StoredEntry};
use super::{AuditAction, AuditRecord, GENESIS};
use crate::domain::ids::AccountId;
use crate::domain::time::Timestamp;

/// The action of the entry a checkpoint chains into every chain.
pub const CHECKPOINT_ACTION: &str = AuditAction::AuditCheckpoint.as_str();

/// What an archive's header names its format.
pub const ARCHIVE_FORMAT: &str = "holdfast-audit-archive-1";

/// One archiving of the log, as recorded in the database and at the end of
/// its archive file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// 1 for the first archiving, then one more each time.
    pub number: i64,
    /// Entries written before it were archived.
    pub cut: Timestamp,
    pub created_at: Timestamp,
    /// The SHA-256 of the archive's lines before its checkpoint line, hex.
    pub sha256: String,
    /// Every chain of the log, in chain order.
    pub chains: Vec<CheckpointChain>,
    /// The master key whose derived audit key made `mac`.
    pub key_id: String,
    /// [`Checkpoint::mac_under`] of the above, hex.
    pub mac: String,
}

/// What a checkpoint archived of one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointChain {
    pub chain: u16,
    /// The segment follows this entry (the previous checkpoint's head of the
    /// chain, or 0 and genesis)…
    pub from_seq: i64,
    pub from_mac: String,
    /// …and ends with this one, the head at the cut: the live chain goes on from it.
    pub through_seq: i64,
    pub through_mac: String,
    /// Entries archived: `through_seq - from_seq`.
    pub entries: i64,
    /// The sequence number of the `audit.checkpoint` entry in this chain.
    pub marker_seq: i64,
}

impl CheckpointChain {
    /// Where the archived segment starts (the point before its first entry).
    pub fn from(&self) -> Option<ChainHead> {
        head(self.chain, self.from_seq, &self.from_mac)
    }

    /// Where the archived segment ends and the live chain goes on from.
    pub fn through(&self) -> Option<ChainHead> {
        head(self.chain, self.through_seq, &self.through_mac)
    }
}

fn head(chain: u16, seq: i64, mac: &str) -> Option<ChainHead> {
    let mac: [u8; 32] = hex::decode(mac).ok()?.try_into().ok()?;
    Some(ChainHead { chain, seq, mac })
}

impl Checkpoint {
    /// The MAC of everything the checkpoint says (all but `key_id` and `mac`).
    /// Each field is length-prefixed, like an entry's, under a format name of
    /// its own, so no checkpoint's MAC is ever an entry's.
    pub fn mac_under(&self, key: &hmac::Key) -> [u8; 32] {
        let mut context = hmac::Context::with_key(key);
        let mut field = |bytes: &[u8]| {
            context.update(&(bytes.len() as u64).to_be_bytes());
            context.update(bytes);
        };
        field(b"holdfast-audit-checkpoint-v1");
        field(&self.number.to_be_bytes());
        field(&self.cut.micros().to_be_bytes());
        field(&self.created_at.micros().to_be_bytes());
        field(self.sha256.as_bytes());
        field(&(self.chains.len() as u64).to_be_bytes());
        for chain in &self.chains {
            field(&chain.chain.to_be_bytes());
            field(&chain.from_seq.to_be_bytes());
            field(chain.from_mac.as_bytes());
            field(&chain.through_seq.to_be_bytes());
            field(chain.through_mac.as_bytes());
            field(&chain.entries.to_be_bytes());
            field(&chain.marker_seq.to_be_bytes());
        }
        context.sign().as_ref().try_into().expect("HMAC-SHA256 is 32 bytes")
    }

    /// Seals the checkpoint under `key`, the derived key of master key `key_id`.
    pub fn seal(mut self, key_id: &str, key: &hmac::Key) -> Self {
        self.key_id = key_id.to_owned();
        self.mac = hex::encode(self.mac_under(key));
        self
    }

    /// Whether `mac` is the MAC of the rest under `key` (in constant time).
    pub fn is_sealed_by(&self, key: &hmac::Key) -> bool {
        let Ok(mac) = hex::decode(&self.mac) else {
            return false;
        };
        let mut context = hmac::Context::with_key(key);
        context.update(&self.mac_under(key));
        // Comparing two MACs of the MACs keeps the comparison's timing from
        // telling how many leading bytes matched.
        let expected = context.sign();
        let mut context = hmac::Context::with_key(key);
        context.update(&mac);
        expected.as_ref() == context.sign().as_ref()
    }

    /// What this checkpoint archived of `chain`.
    pub fn chain(&self, chain: u16) -> Option<&CheckpointChain> {
        self.chains.iter().find(|archived| archived.chain == chain)
    }

    /// The `audit.checkpoint` entry this checkpoint chains into `chain`.
    pub fn marker(&self, archived: &CheckpointChain) -> AuditRecord {
        AuditRecord::new(self.created_at, "system", AuditAction::AuditCheckpoint).detail(MarkerDetail {
            checkpoint: self.number,
            cut: self.cut,
            through_seq: archived.through_seq,
            through_mac: archived.through_mac.clone(),
            entries: archived.entries,
            sha256: self.sha256.clone(),
        })
    }

    /// Whether `record` is exactly the entry [`Checkpoint::marker`] chains into `archived`'s chain.
    pub fn is_marker(&self, archived: &CheckpointChain, record: &AuditRecord) -> bool {
        let expected = self.marker(archived);
        record.action == expected.action && record.actor == expected.actor && record.detail == expected.detail
    }
}

/// The details of an `audit.checkpoint` entry: the cut, the chain's archived
/// head and count, and the archive's SHA-256.
#[derive(Serialize)]
struct MarkerDetail {
    checkpoint: i64,
    cut: Timestamp,
    through_seq: i64,
    through_mac: String,
    entries: i64,
    sha256: String,
}

/// The checkpoint number an `audit.checkpoint` entry claims, if it is one.
pub fn marker_claims(record: &AuditRecord) -> Option<i64> {
    (record.action == CHECKPOINT_ACTION).then(|| record.detail_value()["checkpoint"].as_i64().unwrap_or(0))
}

/// What is wrong with the recorded checkpoints as a whole, oldest first:
/// one whose MAC does not match (`key` finds the audit key of a master key
/// id), a number skipped, a chain's segment that does not start where the
/// previous checkpoint's ended, or a chain of the log's `of` left out.
pub fn history_problems<'k>(
    checkpoints: &[Checkpoint],
    key: impl Fn(&str) -> Option<&'k hmac::Key>,
    of: u16,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut previous: Option<&Checkpoint> = None;
    for (expected, checkpoint) in (1..).zip(checkpoints) {
        let n = checkpoint.number;
        let mut problem = |text: String| problems.push(format!("audit checkpoint {n}: {text}"));
        match key(&checkpoint.key_id) {
            None => problem(format!(
                "was sealed under master key `{}`, which is not configured (set HOLDFAST_MASTER_KEY_PREVIOUS)",
                checkpoint.key_id
            )),
            Some(key) if !checkpoint.is_sealed_by(key) => problem("its record does not match its MAC (changed)".into()),
            Some(_) => {}
        }
        if n != expected {
            problem(format!("expected checkpoint {expected} here (removed or inserted)"));
        }
        for chain in 0..of {
            let Some(archived) = checkpoint.chain(chain) else {
                problem(format!("records nothing of audit chain {chain} (removed)"));
                continue;
            };
            let from = previous
                .and_then(|previous| previous.chain(chain))
                .map_or((0, hex::encode(GENESIS)), |before| {
                    (before.through_seq, before.through_mac.clone())
                });
            let consistent = (archived.from_seq, archived.from_mac.clone()) == from
                && archived.entries == archived.through_seq - archived.from_seq
                && archived.through_seq >= archived.from_seq
                && archived.marker_seq > archived.through_seq;
            if !consistent {
                problem(format!(
                    "its segment of audit chain {chain} does not follow the previous checkpoint's (changed)"
                ));
            }
        }
        if checkpoint.chains.len() != usize::from(of) {
            problem(format!(
                "records {} chains; the log has {of} (changed)",
                checkpoint.chains.len()
            ));
        }
        previous = Some(checkpoint);
    }
    problems
}

/// What is wrong with `entry` (verified as part of its chain) as far as the
/// checkpoints go: it is where a checkpoint chained its `audit.checkpoint`
/// entry but is not that entry, or it is such an entry of a checkpoint the
/// database does not record.
pub fn marker_problem(checkpoints: &[Checkpoint], entry: &StoredEntry) -> Option<String> {
    let placed = checkpoints.iter().find_map(|checkpoint| {
        checkpoint
            .chain(entry.chain)
            .filter(|archived| archived.marker_seq == entry.seq)
            .map(|archived| (checkpoint, archived))
    });
    match (placed, marker_claims(&entry.record)) {
        (Some((checkpoint, archived)), _) if !checkpoint.is_marker(archived, &entry.record) => Some(format!(
            "is not the `{CHECKPOINT_ACTION}` entry checkpoint {} recorded here (changed)",
            checkpoint.number
        )),
        (None, Some(claimed)) => Some(format!(
            "records audit checkpoint {claimed}, which the database does not (removed)"
        )),
        _ => None,
    }
}

/// A line of an archive file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ArchiveLine {
    /// The first line: the format, and where each chain's segment starts.
    Header {
        format: String,
        checkpoint: i64,
        cut: Timestamp,
        chains: Vec<SegmentStart>,
    },
    Entry(ArchivedEntry),
    /// The last line.
    Checkpoint(Checkpoint),
}

/// Where one chain's archived segment starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentStart {
    pub chain: u16,
    pub from_seq: i64,
    pub from_mac: String,
}

impl SegmentStart {
    /// The point before the segment's first entry.
    pub fn head(&self) -> Option<ChainHead> {
        head(self.chain, self.from_seq, &self.from_mac)
    }
}

/// An archived entry: every column its MAC covers, and its place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchivedEntry {
    pub chain: u16,
    pub seq: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub incident_id: Option<String>,
    pub account_id: Option<AccountId>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
    pub key_id: Option<String>,
}

impl From<&StoredEntry> for ArchivedEntry {
    fn from(entry: &StoredEntry) -> Self {
        Self {
            chain: entry.chain,
            seq: entry.seq,
            at: entry.record.at,
            actor: entry.record.actor.clone(),
            action: entry.record.action.clone(),
            incident_id: entry.record.incident_id.clone(),
            account_id: entry.record.account_id.clone(),
            detail: entry.record.detail.clone(),
            prev_hash: hex::encode(&entry.prev_hash),
            hash: hex::encode(&entry.hash),
            key_id: entry.key_id.clone(),
        }
    }
}

impl From<ArchivedEntry> for StoredEntry {
    /// A MAC that is not hex reads as no bytes, which no MAC matches.
    fn from(entry: ArchivedEntry) -> Self {
        StoredEntry {
            chain: entry.chain,
            seq: entry.seq,
            record: AuditRecord {
                at: entry.at,
                actor: entry.actor,
                action: entry.action,
                incident_id: entry.incident_id,
                account_id: entry.account_id,
                detail: entry.detail,
            },
            prev_hash: hex::decode(entry.prev_hash).unwrap_or_default(),
            hash: hex::decode(entry.hash).unwrap_or_default(),
            key_id: entry.key_id,
        }
    }
}

/// The point a chain starts from when no checkpoint precedes it.
pub fn genesis(chain: u16) -> ChainHead {
    ChainHead {
        chain,
        seq: 0,
        mac: GENESIS,
    }
}

#[cfg(test)]
mod tests;
