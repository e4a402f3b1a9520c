//! `holdfast audit head`, `holdfast audit verify` and `holdfast audit archive`:
//! the chains' heads to keep outside the database, the walk of every chain
//! (and of archives) with what it found, and archiving the entries before a cut.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::{connect_from_env, master_keys_from_env};
use crate::audit;
use crate::domain::audit::verify::Heads;
use crate::domain::time::Timestamp;
use crate::platform::clock::Clock;
use crate::platform::config::Retention;
use crate::platform::crypto::AuditKeys;

#[derive(Debug, Subcommand)]
pub(super) enum AuditCommand {
    /// Walk every chain from the latest archive checkpoint; print how many
    /// entries of each were checked; exit 1 naming the first bad entry and
    /// its chain if any row was changed, removed, duplicated or inserted, an
    /// entry records that something could not be chained, or a checkpoint was
    /// changed. Needs the master key(s) that sealed them (HOLDFAST_MASTER_KEY,
    /// HOLDFAST_MASTER_KEY_PREVIOUS, or holdfast.key).
    Verify {
        /// The line printed earlier by `holdfast audit head` and kept outside
        /// the database: every chain must still reach its head there,
        /// unchanged (a head older than the latest checkpoint: in an --archive).
        #[arg(long)]
        head: Option<String>,
        /// Archive files written by `holdfast audit archive`: each is checked
        /// end to end and against its checkpoint in the database.
        #[arg(long, num_args = 1..)]
        archive: Vec<PathBuf>,
    },
    /// Move the entries written before a cut into a file (JSON lines ending
    /// with a checkpoint), chain an `audit.checkpoint` entry into every chain,
    /// and only then drop them from the database. Refuses a cut newer than
    /// HOLDFAST_RETENTION_AUDIT (default 5y) ago, and an --out that exists.
    Archive {
        /// The cut, an RFC 3339 time: entries written before it are archived.
        #[arg(long)]
        before: String,
        /// The archive file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the head of every chain (`<chain>:<sequence>:<MAC>`, joined by
    /// `,`) to keep outside the database, for `audit verify --head`.
    Head,
}

pub(super) async fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Head => {
            let db = connect_from_env().await?;
            println!("{}", audit::heads(&db).await?);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { head, archive } => verify(head, &archive).await,
        AuditCommand::Archive { before, out } => archive(&before, &out).await,
    }
}

async fn archive(before: &str, out: &Path) -> anyhow::Result<ExitCode> {
    let cut = Timestamp::parse_rfc3339(before)
        .with_context(|| format!("--before: `{before}` is not an RFC 3339 time such as 2021-01-01T00:00:00Z"))?;
    let retention = Retention::from_env()?;
    let (current, previous) = master_keys_from_env()?;
    let keys = AuditKeys::new(&current, &previous);
    let db = connect_from_env()
        .await?
        .with_audit_keys(AuditKeys::new(&current, &previous));
    let archived = audit::archive::archive(&db, &keys, cut, Clock::system().now(), retention.audit, out).await?;
    let Some(checkpoint) = archived else {
        println!("no audit entries before {cut}: nothing archived");
        return Ok(ExitCode::SUCCESS);
    };
    let count: i64 = checkpoint.chains.iter().map(|chain| chain.entries).sum();
    println!(
        "audit checkpoint {}: {} before {cut} archived to {} (SHA-256 {}), then dropped",
        checkpoint.number,
        entries(count),
        out.display(),
        checkpoint.sha256
    );
    Ok(ExitCode::SUCCESS)
}

async fn verify(head: Option<String>, archives: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let kept = head
        .map(|text| {
            Heads::parse(&text).ok_or_else(|| {
                anyhow::anyhow!(
                    "--head: expected what `holdfast audit head` prints: <chain>:<sequence>:<64 hex digits> for each chain, joined by `,`"
                )
            })
        })
        .transpose()?;
    let db = connect_from_env().await?;
    let (current, previous) = master_keys_from_env()?;
    let report = audit::verify(&db, &AuditKeys::new(&current, &previous), kept.as_ref(), archives).await?;
    for problem in &report.checkpoint_problems {
        println!("{problem}");
    }
    for archive in &report.archives {
        let path = archive.path.display();
        let number = archive.checkpoint.as_ref().map_or(0, |checkpoint| checkpoint.number);
        for (chain, checked) in &archive.chains {
            println!(
                "archive {path} (checkpoint {number}): {} of chain {chain} verified",
                entries(*checked)
            );
        }
        for problem in &archive.problems {
            println!("archive {path}: {problem}");
        }
    }
    if let Some(checkpoint) = &report.checkpoint {
        println!(
            "starting from audit checkpoint {} (entries before {} archived)",
            checkpoint.number, checkpoint.cut
        );
    }
    for problem in &report.problems {
        println!("{problem}");
    }
    for chain in &report.chains {
        let checked = entries(chain.checked);
        match chain.problems.first() {
            None => println!("chain {}: {checked} verified", chain.chain),
            Some(problem) => println!("chain {}: {checked} verified; {problem}", chain.chain),
        }
    }
    match report.first_problem() {
        None => {
            println!(
                "audit log intact: {} in {} chains verified",
                entries(report.checked()),
                report.chains.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(problem) => {
            println!("audit log BROKEN: {problem}");
            Ok(ExitCode::from(1))
        }
    }
}

fn entries(count: i64) -> String {
    match count {
        1 => "1 entry".into(),
        count => format!("{count} entries"),
    }
}
