//! The audit log's chain: the sealer that chains entries changes left
//! waiting (PostgreSQL), `holdfast audit verify`, which walks the chain, and
//! `holdfast audit head`, which prints the point of it an operator keeps
//! outside the database.
//!
//! On PostgreSQL a change's entries are committed with the change but wait
//! in `audit_pending` to be chained, so that no writer queues behind another
//! for the chain's head. Each instance runs a sealer, woken by its own
//! commits and sweeping every [`SWEEP`] for other instances' (and a crashed
//! one's) entries. An entry usually waits some tens of milliseconds. While
//! it waits it carries its own MAC under the audit key, so one forged or
//! changed in the meantime is refused when sealed (`audit.entry_refused`
//! takes its place); removing one before it is sealed is not detected, which
//! is the price of not serialising every change on the head. The gauge
//! `holdfast_audit_waiting` shows how many wait.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::crypto::AuditKeys;
use crate::domain::audit::{Anchor, ChainBreak, ChainVerifier, StoredEntry};
use crate::storage::Database;

/// How many entries are read per query while walking.
const PAGE: i64 = 1000;

/// The most waiting entries one sealing transaction chains.
const SEAL_BATCH: i64 = 5000;

/// How often the sealer looks for entries it was not told about (other
/// instances', or left by a crash).
const SWEEP: Duration = Duration::from_secs(1);

/// The least time between two sealing transactions: under load, entries
/// gather meanwhile and one transaction chains them all.
const SEAL_PAUSE: Duration = Duration::from_millis(20);

/// How long the sealer waits after a failed attempt.
const RETRY: Duration = Duration::from_millis(500);

/// Chains entries as changes leave them waiting, until `cancel` fires; then
/// chains what is left. Nothing to do on SQLite, which chains at commit.
pub async fn seal_until_cancelled(db: Database, cancel: CancellationToken) {
    if db.kind() == crate::storage::DatabaseKind::Sqlite {
        return;
    }
    loop {
        if let Err(error) = seal_all(&db).await {
            tracing::warn!(%error, "sealing audit entries failed; trying again");
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(RETRY) => continue,
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = db.audit_entries_queued() => {}
            _ = tokio::time::sleep(SWEEP) => {}
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(SEAL_PAUSE) => {}
        }
    }
    if let Err(error) = seal_all(&db).await {
        tracing::warn!(%error, "sealing audit entries at shutdown failed; the next start chains them");
    }
}

/// Chains every entry waiting now; returns how many.
pub async fn seal_all(db: &Database) -> Result<usize, sqlx::Error> {
    let mut total = 0;
    loop {
        let sealed = db.seal_pending_audit(SEAL_BATCH).await?;
        total += sealed;
        if (sealed as i64) < SEAL_BATCH {
            return Ok(total);
        }
    }
}

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
/// chain still reaches that point, unchanged. Entries still waiting to be
/// chained are not part of it yet: a running instance chains them (the
/// walk does not, as it may run with other keys than the instances').
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
