//! The check of an archive file that `holdfast audit verify --archive`
//! runs: every entry's MAC and link, the checkpoint that ends the file, and
//! that checkpoint against the one recorded in the database.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::domain::audit::Chain;
use crate::domain::audit::checkpoint::{ARCHIVE_FORMAT, ArchiveLine, Checkpoint, genesis, marker_problem};
use crate::domain::audit::verify::{ChainBreak, ChainVerifier, Heads, StoredEntry};
use crate::platform::crypto::AuditKeys;
use crate::storage::ChainHeadRow;

/// What the check of one archive file found.
#[derive(Debug)]
pub struct ArchiveReport {
    pub path: PathBuf,
    /// The checkpoint the file ends with, when it does.
    pub checkpoint: Option<Checkpoint>,
    /// Entries verified of each chain, in chain order.
    pub chains: Vec<(u16, i64)>,
    /// What is wrong, in the order found.
    pub problems: Vec<String>,
}

impl ArchiveReport {
    /// Whether the file verified and holds entry `seq` of `chain`.
    pub fn covers(&self, chain: u16, seq: i64) -> bool {
        self.problems.is_empty()
            && self
                .checkpoint
                .as_ref()
                .and_then(|checkpoint| checkpoint.chain(chain))
                .is_some_and(|archived| archived.from_seq < seq && seq <= archived.through_seq)
    }
}

/// Checks the archive at `path` end to end: every entry's MAC and link from
/// where its header says each chain's segment starts, its checkpoint line's
/// MAC, the SHA-256 of the lines before it, and that the checkpoint is the
/// one `recorded` in the database, whose segments end at the heads it
/// names; entries there that `kept` names must match.
pub fn check(
    path: &Path,
    keys: &AuditKeys,
    recorded: &[Checkpoint],
    heads: &[ChainHeadRow],
    kept: Option<&Heads>,
) -> anyhow::Result<ArchiveReport> {
    let file = File::open(path).with_context(|| format!("--archive: cannot open {}", path.display()))?;
    let mut report = ArchiveReport {
        path: path.to_owned(),
        checkpoint: None,
        chains: Vec::new(),
        problems: Vec::new(),
    };
    let mut lines = BufReader::new(file).lines();
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let Some(Ok(ArchiveLine::Header {
        format,
        checkpoint: number,
        chains: starts,
        ..
    })) = lines.next().transpose()?.map(|line| {
        digest.update(format!("{line}\n").as_bytes());
        serde_json::from_str::<ArchiveLine>(&line)
    })
    else {
        report.problems.push("its first line is not an archive's header".into());
        return Ok(report);
    };
    if format != ARCHIVE_FORMAT {
        report
            .problems
            .push(format!("its format is `{format}`, not {ARCHIVE_FORMAT}"));
        return Ok(report);
    }
    let database = recorded.iter().find(|checkpoint| checkpoint.number == number);
    let of = u16::try_from(starts.len()).unwrap_or(u16::MAX);
    let mut walks = Vec::with_capacity(starts.len());
    for start in &starts {
        let chain = Chain {
            number: start.chain,
            of,
        };
        let legacy_until = heads
            .iter()
            .find(|head| head.chain == start.chain)
            .map_or(0, |head| head.legacy_until);
        // A head kept outside is checked here if this archive holds it.
        let kept = kept.and_then(|kept| kept.of(start.chain)).filter(|kept| {
            database
                .and_then(|checkpoint| checkpoint.chain(start.chain))
                .is_some_and(|archived| archived.from_seq < kept.seq && kept.seq <= archived.through_seq)
        });
        let from = start.head().unwrap_or(genesis(start.chain));
        let walk = ChainVerifier::new(chain, legacy_until, kept).and_then(|verifier| verifier.starting_after(from));
        if let Err(problem) = &walk {
            report.problems.push(problem.to_string());
        }
        walks.push(walk);
    }

    let mut last = None;
    for line in lines {
        let line = line.with_context(|| format!("--archive: cannot read {}", path.display()))?;
        if let Some(previous) = last.replace(line) {
            digest.update(format!("{previous}\n").as_bytes());
            check_entry(&previous, keys, recorded, &mut walks, &mut report.problems);
        }
    }
    let trailer = last.map(|line| serde_json::from_str::<ArchiveLine>(&line));
    let Some(Ok(ArchiveLine::Checkpoint(checkpoint))) = trailer else {
        report
            .problems
            .push("its last line is not its checkpoint (the end was cut or changed)".into());
        return Ok(report);
    };
    let sealed = keys
        .find(&checkpoint.key_id)
        .is_some_and(|key| checkpoint.is_sealed_by(key));
    if !sealed {
        report.problems.push(format!(
            "its checkpoint line (checkpoint {}) does not match its MAC (changed)",
            checkpoint.number
        ));
    }
    if hex::encode(digest.finish()) != checkpoint.sha256 {
        report.problems.push(format!(
            "its lines do not match the SHA-256 its checkpoint {} records (changed, removed or reordered)",
            checkpoint.number
        ));
    }
    match database {
        None => report.problems.push(format!(
            "the database records no checkpoint {number}: this is not an archive of this log"
        )),
        Some(recorded) if *recorded != checkpoint || number != checkpoint.number => report.problems.push(format!(
            "its checkpoint line differs from checkpoint {number} recorded in the database (changed)"
        )),
        Some(_) => {}
    }
    for (walk, start) in walks.into_iter().zip(&starts) {
        let chain = start.chain;
        let (Ok(verifier), Some(archived)) = (walk, checkpoint.chain(chain)) else {
            continue;
        };
        let checked = verifier.checked();
        let through = archived.through().map_or_else(Vec::new, |head| head.mac.to_vec());
        if let Err(problem) = verifier.finish(archived.through_seq, &through) {
            report.problems.push(problem.to_string());
        }
        report.chains.push((chain, checked));
    }
    report.checkpoint = Some(checkpoint);
    Ok(report)
}

/// Checks one entry line against the walk of its chain; a chain's first break ends its walk.
fn check_entry(
    line: &str,
    keys: &AuditKeys,
    recorded: &[Checkpoint],
    walks: &mut [Result<ChainVerifier, ChainBreak>],
    problems: &mut Vec<String>,
) {
    let entry = match serde_json::from_str::<ArchiveLine>(line) {
        Ok(ArchiveLine::Entry(entry)) => StoredEntry::from(entry),
        _ => {
            problems.push(format!("a line in the middle is not an entry: `{}`", truncated(line)));
            return;
        }
    };
    let chain = entry.chain;
    let Some(walk) = walks
        .iter_mut()
        .find(|walk| walk.as_ref().map_or_else(|problem| problem.chain, ChainVerifier::chain) == chain)
    else {
        problems.push(format!(
            "audit chain {chain}, entry {}: is in no chain the header names (inserted)",
            entry.seq
        ));
        return;
    };
    let Ok(verifier) = walk else { return };
    let key = entry.key_id.as_deref().and_then(|id| keys.find(id));
    let problem = match verifier.check(&entry, key) {
        Err(problem) => Some(problem),
        Ok(()) => marker_problem(recorded, &entry).map(|problem| ChainBreak::new(chain, entry.seq, problem)),
    };
    if let Some(problem) = problem {
        problems.push(problem.to_string());
        *walk = Err(problem);
    }
}

fn truncated(line: &str) -> String {
    line.chars().take(80).collect()
}
