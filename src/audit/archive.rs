//! `holdfast audit archive`, which moves the entries before a cut into a
//! file and leaves a checkpoint behind, and the check of such a file that
//! `holdfast audit verify --archive` runs.
//!
//! The archive is one transaction: it locks every chain's head (appends
//! wait for it), writes the entries before the cut to `<out>.partial` and
//! syncs it, chains an `audit.checkpoint` entry into every chain, records the
//! checkpoint, deletes the archived entries, and commits; only then is the
//! file renamed to `<out>`. A crash before the commit leaves the log as it
//! was (and a `.partial` file to remove); one after it, the archive under its
//! `.partial` name.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::domain::audit::Chain;
use crate::domain::audit::checkpoint::{
    ARCHIVE_FORMAT, ArchiveLine, ArchivedEntry, Checkpoint, CheckpointChain, SegmentStart, genesis,
};
use crate::domain::audit::verify::{ChainBreak, ChainHead, ChainVerifier};
use crate::domain::time::Timestamp;
use crate::platform::crypto::AuditKeys;
use crate::storage::{ChainHeadRow, Database};

mod check;

pub use check::{ArchiveReport, check};

/// How many entries are read per query while archiving.
const PAGE: i64 = 1000;

/// Archives every chain's entries written before `cut` to `out`; `None`
/// when there were none (then nothing is written or changed).
pub async fn archive(
    db: &Database,
    keys: &AuditKeys,
    cut: Timestamp,
    now: Timestamp,
    retention: Duration,
    out: &Path,
) -> anyhow::Result<Option<Checkpoint>> {
    let kept_from = now.minus(retention);
    if cut > kept_from {
        bail!(
            "--before: {cut} is too recent: the audit log is kept for HOLDFAST_RETENTION_AUDIT ({} days); choose a cut at or before {kept_from}",
            retention.as_secs() / 86_400
        );
    }
    if out.exists() {
        bail!("--out: {} exists; an archive never overwrites a file", out.display());
    }
    let partial = partial_path(out);
    let file = File::options().write(true).create_new(true).open(&partial).map_err(|e| {
        anyhow::anyhow!(
            "Failed to create {} ({e}); if it is left from an interrupted archive, `holdfast audit verify --archive` it: \
             if it passes it is that archive (rename it), otherwise remove it",
            partial.display()
        )
    })?;
    let written = write(db, keys, cut, now, file).await;
    match written {
        Ok(Some(checkpoint)) => {
            std::fs::hard_link(&partial, out)
                .and_then(|()| std::fs::remove_file(&partial))
                .and_then(|()| sync_directory_of(out))
                .with_context(|| {
                    format!(
                        "Failed to rename {} to {} (the archive is committed: rename it by hand)",
                        partial.display(),
                        out.display()
                    )
                })?;
            Ok(Some(checkpoint))
        }
        other => {
            let _ = std::fs::remove_file(&partial);
            other
        }
    }
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn sync_directory_of(path: &Path) -> std::io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(directory)?.sync_all()
}

/// The archive's transaction, writing to `file`.
async fn write(
    db: &Database,
    keys: &AuditKeys,
    cut: Timestamp,
    now: Timestamp,
    file: File,
) -> anyhow::Result<Option<Checkpoint>> {
    let mut tx = db.begin().await.context("Failed to begin the archive's transaction")?;
    let heads = tx
        .lock_audit_heads()
        .await
        .context("Failed to lock the audit chains' heads")?;
    let previous = tx.audit_checkpoints().await?.pop();
    let number = previous.as_ref().map_or(1, |previous| previous.number + 1);
    let of = u16::try_from(heads.len()).context("too many audit chains")?;
    let starts = heads
        .iter()
        .map(|head| match &previous {
            None => Ok(genesis(head.chain)),
            Some(previous) => previous
                .chain(head.chain)
                .and_then(CheckpointChain::through)
                .with_context(|| {
                    format!(
                        "checkpoint {} records no head of audit chain {}: run `holdfast audit verify`",
                        previous.number, head.chain
                    )
                }),
        })
        .collect::<anyhow::Result<Vec<ChainHead>>>()?;

    let mut out = Lines::new(file);
    out.write(&ArchiveLine::Header {
        format: ARCHIVE_FORMAT.into(),
        checkpoint: number,
        cut,
        chains: starts
            .iter()
            .map(|start| SegmentStart {
                chain: start.chain,
                from_seq: start.seq,
                from_mac: hex::encode(start.mac),
            })
            .collect(),
    })?;
    let mut chains = Vec::with_capacity(heads.len());
    for (head, start) in heads.iter().zip(&starts) {
        let chain = Chain { number: head.chain, of };
        let through = write_segment(&mut tx, keys, &mut out, chain, head, *start, cut).await?;
        chains.push(CheckpointChain {
            chain: head.chain,
            from_seq: start.seq,
            from_mac: hex::encode(start.mac),
            through_seq: through.seq,
            through_mac: hex::encode(through.mac),
            entries: through.seq - start.seq,
            marker_seq: head.seq + 1,
        });
    }
    if chains.iter().all(|chain| chain.entries == 0) {
        return Ok(None);
    }
    let sha256 = out.sha256_so_far();
    let (key_id, key) = keys.current();
    let checkpoint = Checkpoint {
        number,
        cut,
        created_at: now,
        sha256,
        chains,
        key_id: String::new(),
        mac: String::new(),
    }
    .seal(key_id, key);
    tx.record_audit_checkpoint(&checkpoint)
        .await
        .context("Failed to record the checkpoint and drop the archived entries")?;
    out.write(&ArchiveLine::Checkpoint(checkpoint.clone()))?;
    out.sync()?;
    tx.commit()
        .await
        .context("Failed to commit the archive")?
        .no_follow_up();
    Ok(Some(checkpoint))
}

/// Writes the entries of `chain` after `start` written before `cut` (up to
/// the first written at or after it); returns the last one written (or `start`).
/// An entry that does not verify stops the archive: nothing broken is dropped.
async fn write_segment(
    tx: &mut crate::storage::WriteTx,
    keys: &AuditKeys,
    out: &mut Lines,
    chain: Chain,
    head: &ChainHeadRow,
    start: ChainHead,
    cut: Timestamp,
) -> anyhow::Result<ChainHead> {
    let refuse = |problem: ChainBreak| anyhow::anyhow!("refusing to archive a log that does not verify: {problem}");
    let mut verifier = ChainVerifier::new(chain, head.legacy_until, None)
        .and_then(|verifier| verifier.starting_after(start))
        .map_err(refuse)?;
    let mut through = start;
    'pages: while through.seq < head.seq {
        let page = tx.audit_page_in_tx(head.chain, through.seq, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for entry in page {
            if entry.seq > head.seq || entry.record.at >= cut {
                break 'pages;
            }
            let key = entry.key_id.as_deref().and_then(|id| keys.find(id));
            verifier.check(&entry, key).map_err(refuse)?;
            out.write(&ArchiveLine::Entry(ArchivedEntry::from(&entry)))?;
            through = ChainHead {
                chain: head.chain,
                seq: entry.seq,
                mac: entry.hash.as_slice().try_into().unwrap_or_default(),
            };
        }
    }
    Ok(through)
}

/// An archive being written: JSON lines, and the SHA-256 of those written.
struct Lines {
    file: BufWriter<File>,
    digest: ring::digest::Context,
}

impl Lines {
    fn new(file: File) -> Self {
        Self {
            file: BufWriter::new(file),
            digest: ring::digest::Context::new(&ring::digest::SHA256),
        }
    }

    fn write(&mut self, line: &ArchiveLine) -> anyhow::Result<()> {
        let mut text = serde_json::to_string(line)?;
        text.push('\n');
        self.digest.update(text.as_bytes());
        self.file
            .write_all(text.as_bytes())
            .context("Failed to write the archive")
    }

    fn sha256_so_far(&self) -> String {
        hex::encode(self.digest.clone().finish())
    }

    fn sync(&mut self) -> anyhow::Result<()> {
        self.file.flush().context("Failed to write the archive")?;
        self.file
            .get_ref()
            .sync_all()
            .context("Failed to sync the archive to disk")
    }
}
