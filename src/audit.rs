//! `holdfast audit verify` walks the audit log's chain; `holdfast audit head`
//! prints the point of it an operator keeps outside the database.

use crate::crypto::AuditKeys;
use crate::domain::audit::{Anchor, ChainBreak, ChainVerifier, StoredEntry};
use crate::storage::Database;

/// How many entries are read per query while walking.
const PAGE: i64 = 1000;

/// The outcome of a walk.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry verified; this many of them.
    Intact(i64),
    /// The first place the chain is broken.
    Broken(ChainBreak),
}

/// The current head of the chain (sequence number and MAC of the last
/// entry), to keep outside the database and give back to [`verify`].
pub async fn head(db: &Database) -> anyhow::Result<Anchor> {
    let (seq, mac) = db.audit_head().await?;
    let mac = mac
        .try_into()
        .map_err(|_| anyhow::anyhow!("the audit head's MAC is not 32 bytes"))?;
    Ok(Anchor { seq, mac })
}

/// Verifies every entry up to the head recorded when the walk starts, so it
/// can run while Holdfast keeps appending; with an `anchor`, also that the
/// chain still reaches that point, unchanged.
pub async fn verify(db: &Database, keys: &AuditKeys, anchor: Option<Anchor>) -> anyhow::Result<Verdict> {
    let (head_seq, head_hash) = db.audit_head().await?;
    let mut verifier = ChainVerifier::reaching(anchor);
    let mut after = 0;
    while after < head_seq {
        let page = db.audit_page(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in page.into_iter().take_while(|row| row.seq <= head_seq) {
            let key = row.key_id.as_deref().and_then(|id| keys.find(id));
            if let Err(problem) = verifier.check(&StoredEntry::from(row), key) {
                return Ok(Verdict::Broken(problem));
            }
        }
    }
    // An entry past the head is legitimate only if the head has moved on
    // since the walk started (Holdfast appended it meanwhile).
    if let Some(beyond) = db.audit_page(head_seq, 1).await?.first() {
        let (current_head, _) = db.audit_head().await?;
        if current_head < beyond.seq {
            return Ok(Verdict::Broken(ChainBreak {
                seq: beyond.seq,
                problem: format!("not written by Holdfast: the log's recorded head is entry {current_head} (inserted)"),
            }));
        }
    }
    match verifier.finish(head_seq, &head_hash) {
        Ok(count) => Ok(Verdict::Intact(count)),
        Err(problem) => Ok(Verdict::Broken(problem)),
    }
}
