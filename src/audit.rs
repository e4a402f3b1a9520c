//! `holdfast audit head`, which prints the head of every chain for an
//! operator to keep outside the database, and `holdfast audit verify`, which
//! walks every chain from the latest checkpoint (and, given archives, checks
//! them: `archive`).
//!
//! There is no background work: a change's entries are chained in the
//! transaction that commits it (`storage::WriteTx::commit`), so nothing
//! committed waits anywhere to be chained.

use std::path::PathBuf;

use anyhow::Context;

use crate::domain::audit::Chain;
use crate::domain::audit::checkpoint::{Checkpoint, CheckpointChain, genesis, history_problems, marker_problem};
use crate::domain::audit::verify::{ChainBreak, ChainHead, ChainVerifier, Heads};
use crate::platform::crypto::AuditKeys;
use crate::storage::{ChainHeadRow, Database};

pub mod archive;

pub use archive::ArchiveReport;

/// How many entries are read per query while walking.
const PAGE: i64 = 1000;

/// What a walk of the whole log found.
#[derive(Debug)]
pub struct Report {
    /// Each chain walked, in chain order.
    pub chains: Vec<ChainReport>,
    /// Problems of the log as a whole: a chain without a head, entries in no
    /// chain, a head kept outside older than the checkpoint and in no archive.
    pub problems: Vec<ChainBreak>,
    /// The latest checkpoint, which the live chains start from.
    pub checkpoint: Option<Checkpoint>,
    /// Problems of the recorded checkpoints.
    pub checkpoint_problems: Vec<String>,
    /// Each archive checked, in the order given.
    pub archives: Vec<ArchiveReport>,
}

/// What the walk of one chain found.
#[derive(Debug)]
pub struct ChainReport {
    pub chain: u16,
    /// Entries verified (up to the first break, if any).
    pub checked: i64,
    /// The first entry recording a refusal and the first break, in sequence order.
    pub problems: Vec<ChainBreak>,
}

impl Report {
    /// The first problem: of the checkpoints, then of the archives, then of
    /// the live log in chain and then sequence order; `None` when all is intact.
    pub fn first_problem(&self) -> Option<String> {
        let archived = self.archives.iter().find_map(|archive| {
            let problem = archive.problems.first()?;
            Some(format!("archive {}: {problem}", archive.path.display()))
        });
        let live = self
            .problems
            .iter()
            .chain(self.chains.iter().flat_map(|chain| &chain.problems))
            .min_by_key(|problem| (problem.chain, problem.seq));
        self.checkpoint_problems
            .first()
            .cloned()
            .or(archived)
            .or_else(|| live.map(ChainBreak::to_string))
    }

    /// Entries verified in all chains.
    pub fn checked(&self) -> i64 {
        self.chains.iter().map(|chain| chain.checked).sum()
    }
}

/// The head of every chain (sequence number and MAC of its last entry).
pub async fn heads(db: &Database) -> anyhow::Result<Heads> {
    let heads = read_heads(db).await?;
    heads.iter().map(head_of).collect::<anyhow::Result<_>>().map(Heads)
}

async fn read_heads(db: &Database) -> anyhow::Result<Vec<ChainHeadRow>> {
    db.audit_heads()
        .await
        .context("Failed to read the heads of the audit chains (has `holdfast migrate` run on this database?)")
}

fn head_of(row: &ChainHeadRow) -> anyhow::Result<ChainHead> {
    Ok(ChainHead {
        chain: row.chain,
        seq: row.seq,
        mac: row
            .hash
            .as_slice()
            .try_into()
            .map_err(|_| anyhow::anyhow!("the head of audit chain {} is not 32 bytes", row.chain))?,
    })
}

/// Verifies every chain, from the latest checkpoint, up to the head it had
/// when the walk started, so it can run while Holdfast keeps appending; with
/// `kept` (heads printed earlier by [`heads`]), also that every chain still
/// reaches its head there; with `archives`, each archive file end to end and
/// against its checkpoint (a head kept outside that is older than the latest
/// checkpoint passes only when one of them holds it).
pub async fn verify(
    db: &Database,
    keys: &AuditKeys,
    kept: Option<&Heads>,
    archives: &[PathBuf],
) -> anyhow::Result<Report> {
    // An archive committing during the walk moves the start; walk again then.
    let mut report = verify_once(db, keys, kept, archives).await?;
    if read_checkpoints(db).await?.last() != report.checkpoint.as_ref() {
        report = verify_once(db, keys, kept, archives).await?;
    }
    Ok(report)
}

async fn read_checkpoints(db: &Database) -> anyhow::Result<Vec<Checkpoint>> {
    db.audit_checkpoints()
        .await
        .context("Failed to read the audit log's checkpoints")
}

async fn verify_once(
    db: &Database,
    keys: &AuditKeys,
    kept: Option<&Heads>,
    archives: &[PathBuf],
) -> anyhow::Result<Report> {
    let checkpoints = read_checkpoints(db).await?;
    let heads = read_heads(db).await?;
    // The log's chains are numbered from 0: as many as the last one's number
    // and one (a head missing below it is one of the problems below).
    let of = heads.last().map_or(0, |head| head.chain + 1);
    let latest = checkpoints.last();
    let mut report = Report {
        chains: Vec::with_capacity(heads.len()),
        problems: missing_chains(db, &heads, kept).await?,
        checkpoint: latest.cloned(),
        checkpoint_problems: history_problems(&checkpoints, |id| keys.find(id), of),
        archives: Vec::new(),
    };
    for path in archives {
        report
            .archives
            .push(archive::check(path, keys, &checkpoints, &heads, kept)?);
    }
    for head in &heads {
        let chain = Chain { number: head.chain, of };
        let start = match latest {
            None => genesis(head.chain),
            Some(latest) => latest
                .chain(head.chain)
                .and_then(CheckpointChain::through)
                .unwrap_or(genesis(head.chain)),
        };
        let kept = kept.and_then(|kept| kept.of(head.chain));
        let kept = match kept {
            Some(old) if old.seq < start.seq => {
                if !report
                    .archives
                    .iter()
                    .any(|archive| archive.covers(head.chain, old.seq))
                {
                    report.problems.push(ChainBreak::new(
                        head.chain,
                        old.seq,
                        format!(
                            "the head kept outside the database is older than checkpoint {}, which archived entries up to {} of this chain: pass the archive that holds it with --archive",
                            latest.map_or(0, |latest| latest.number),
                            start.seq
                        ),
                    ));
                }
                None
            }
            kept => kept,
        };
        report
            .chains
            .push(walk(db, keys, chain, head, kept, start, &checkpoints).await?);
    }
    Ok(report)
}

/// Chains that should be there and are not, and entries of no chain.
async fn missing_chains(
    db: &Database,
    heads: &[ChainHeadRow],
    kept: Option<&Heads>,
) -> anyhow::Result<Vec<ChainBreak>> {
    let Some(last) = heads.last().map(|head| head.chain) else {
        return Ok(vec![ChainBreak::new(0, 0, "the log has no chains (removed)")]);
    };
    let has_head = |chain: u16| heads.iter().any(|head| head.chain == chain);
    let mut problems: Vec<ChainBreak> = (0..last)
        .filter(|chain| !has_head(*chain))
        .map(|chain| ChainBreak::new(chain, 0, "its head is missing (removed)"))
        .collect();
    for head in kept.map(|kept| kept.0.as_slice()).unwrap_or_default() {
        if !has_head(head.chain) && head.chain > last {
            problems.push(ChainBreak::new(
                head.chain,
                0,
                "is among the heads kept outside the database but has no head in it (removed)",
            ));
        }
    }
    if let Some((chain, seq)) = db.audit_entry_beyond_chains(last).await? {
        problems.push(ChainBreak::new(
            chain.clamp(0, i64::from(u16::MAX)) as u16,
            seq,
            format!("is stored in chain {chain}, which the log does not have (inserted)"),
        ));
    }
    Ok(problems)
}

/// Walks one chain from `start` up to `head`, as read when the walk of the log started.
async fn walk(
    db: &Database,
    keys: &AuditKeys,
    chain: Chain,
    head: &ChainHeadRow,
    kept: Option<ChainHead>,
    start: ChainHead,
    checkpoints: &[Checkpoint],
) -> anyhow::Result<ChainReport> {
    let started =
        ChainVerifier::new(chain, head.legacy_until, kept).and_then(|verifier| verifier.starting_after(start));
    let mut verifier = match started {
        Ok(verifier) => verifier,
        Err(problem) => {
            return Ok(ChainReport {
                chain: head.chain,
                checked: 0,
                problems: vec![problem],
            });
        }
    };
    let mut broken = None;
    let mut after = start.seq;
    'pages: while after < head.seq {
        let page = db.audit_page(head.chain, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for entry in page.into_iter().take_while(|entry| entry.seq <= head.seq) {
            let key = entry.key_id.as_deref().and_then(|id| keys.find(id));
            let problem = match verifier.check(&entry, key) {
                Err(problem) => Some(problem),
                Ok(()) => {
                    marker_problem(checkpoints, &entry).map(|problem| ChainBreak::new(head.chain, entry.seq, problem))
                }
            };
            if problem.is_some() {
                broken = problem;
                break 'pages;
            }
        }
    }
    if broken.is_none() {
        broken = appended_behind_the_heads_back(db, head).await?;
    }
    let checked = verifier.checked();
    let mut problems: Vec<ChainBreak> = verifier.refused().cloned().into_iter().collect();
    match broken {
        Some(problem) => problems.push(problem),
        None => problems.extend(verifier.finish(head.seq, &head.hash).err()),
    }
    problems.sort_by_key(|problem| problem.seq);
    Ok(ChainReport {
        chain: head.chain,
        checked,
        problems,
    })
}

/// An entry past `head` is legitimate only if the chain's head has moved on
/// since the walk started (Holdfast appended it meanwhile).
async fn appended_behind_the_heads_back(db: &Database, head: &ChainHeadRow) -> anyhow::Result<Option<ChainBreak>> {
    let Some(beyond) = db.audit_page(head.chain, head.seq, 1).await?.into_iter().next() else {
        return Ok(None);
    };
    let current = db
        .audit_heads()
        .await?
        .into_iter()
        .find(|now| now.chain == head.chain)
        .map_or(0, |now| now.seq);
    Ok((current < beyond.seq).then(|| {
        ChainBreak::new(
            head.chain,
            beyond.seq,
            format!("not written by Holdfast: the chain's recorded head is entry {current} (inserted)"),
        )
    }))
}
