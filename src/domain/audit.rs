//! The audit log's hash chain.
//!
//! Entry `n` stores the SHA-256 of entry `n - 1` (`prev_hash`) and its own
//! hash over its sequence number, contents and `prev_hash`. Changing an
//! entry breaks its own hash; removing or inserting one breaks the link of
//! the entry after it or leaves a gap in the sequence; removing entries at the
//! end leaves the chain shorter than the head the database keeps beside it.

use ring::digest::{Context, SHA256};
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

/// The hash of entry `seq` holding `record`, chained to `prev_hash`.
///
/// Each field is length-prefixed, so no two different entries encode to the
/// same bytes.
pub fn entry_hash(seq: i64, record: &AuditRecord, prev_hash: &[u8]) -> [u8; 32] {
    let mut context = Context::new(&SHA256);
    let mut field = |bytes: &[u8]| {
        context.update(&(bytes.len() as u64).to_be_bytes());
        context.update(bytes);
    };
    field(b"holdfast-audit-v1");
    field(&seq.to_be_bytes());
    field(&record.at.micros().to_be_bytes());
    field(record.actor.as_bytes());
    field(record.action.as_bytes());
    field(record.incident_id.as_deref().unwrap_or("\u{0}").as_bytes());
    field(record.account_id.as_deref().unwrap_or("\u{0}").as_bytes());
    field(record.detail.as_bytes());
    field(prev_hash);
    context.finish().as_ref().try_into().expect("SHA-256 is 32 bytes")
}

/// One chained entry: its sequence number, `prev_hash` and hash.
pub type Link = (i64, [u8; 32], [u8; 32]);

/// Chains `records` after the entry (`head_seq`, `head_hash`), returning each
/// entry's sequence number, `prev_hash` and hash, and the new head.
pub fn chain(head_seq: i64, head_hash: [u8; 32], records: &[AuditRecord]) -> (Vec<Link>, i64, [u8; 32]) {
    let mut seq = head_seq;
    let mut prev = head_hash;
    let mut links = Vec::with_capacity(records.len());
    for record in records {
        seq += 1;
        let hash = entry_hash(seq, record, &prev);
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
}

/// The first place the chain is broken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq}: {problem}")]
pub struct ChainBreak {
    pub seq: i64,
    pub problem: String,
}

/// Walks stored entries in sequence order and reports the first break.
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: Vec<u8>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS.to_vec(),
        }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, entry: &StoredEntry) -> Result<(), ChainBreak> {
        let broken = |problem: &str| {
            Err(ChainBreak {
                seq: entry.seq,
                problem: problem.to_owned(),
            })
        };
        if entry.seq != self.expected_seq {
            let problem = if entry.seq > self.expected_seq {
                format!(
                    "expected entry {} next; entries {}..{} are missing (removed)",
                    self.expected_seq,
                    self.expected_seq,
                    entry.seq - 1
                )
            } else {
                format!("out of sequence after entry {} (inserted)", self.expected_seq - 1)
            };
            return Err(ChainBreak {
                seq: entry.seq,
                problem,
            });
        }
        if entry.prev_hash != self.prev_hash {
            return broken(
                "does not link to the entry before it (an entry was removed, inserted or changed before it)",
            );
        }
        if entry_hash(entry.seq, &entry.record, &entry.prev_hash).as_slice() != entry.hash.as_slice() {
            return broken("its contents do not match its hash (the entry was changed)");
        }
        self.expected_seq += 1;
        self.prev_hash = entry.hash.clone();
        Ok(())
    }

    /// Compares the end of the chain with the head kept beside it; returns the
    /// number of entries verified.
    pub fn finish(self, head_seq: i64, head_hash: &[u8]) -> Result<i64, ChainBreak> {
        let last = self.expected_seq - 1;
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
        if self.prev_hash != head_hash {
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

    fn records(n: usize) -> Vec<AuditRecord> {
        let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
        (0..n)
            .map(|i| AuditRecord::new(at, "system", format!("test.event{i}")))
            .collect()
    }

    fn stored(records: &[AuditRecord]) -> (Vec<StoredEntry>, i64, [u8; 32]) {
        let (links, head_seq, head_hash) = chain(0, GENESIS, records);
        let entries = links
            .into_iter()
            .zip(records)
            .map(|((seq, prev, hash), record)| StoredEntry {
                seq,
                record: record.clone(),
                prev_hash: prev.to_vec(),
                hash: hash.to_vec(),
            })
            .collect();
        (entries, head_seq, head_hash)
    }

    fn verify(entries: &[StoredEntry], head_seq: i64, head_hash: &[u8]) -> Result<i64, ChainBreak> {
        let mut verifier = ChainVerifier::default();
        for entry in entries {
            verifier.check(entry)?;
        }
        verifier.finish(head_seq, head_hash)
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
    fn an_entry_appended_behind_the_heads_back_is_caught() {
        let all = records(6);
        let (entries, _, _) = stored(&all);
        let (_, seq, hash) = stored(&all[..5]);
        assert_eq!(verify(&entries, seq, &hash).unwrap_err().seq, 6);
    }

    #[test]
    fn a_renumbered_insertion_breaks_the_chain() {
        let (mut entries, seq, hash) = stored(&records(4));
        let forged = StoredEntry {
            seq: 3,
            record: records(1).remove(0),
            prev_hash: entries[1].hash.clone(),
            hash: vec![0; 32],
        };
        for entry in &mut entries[2..] {
            entry.seq += 1;
        }
        entries.insert(2, forged);
        assert_eq!(verify(&entries, seq, &hash).unwrap_err().seq, 3);
    }
}
