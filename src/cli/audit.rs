//! `holdfast audit head` and `holdfast audit verify`: the chains' heads to keep
//! outside the database, and the walk of every chain with what it found.

use std::process::ExitCode;

use clap::Subcommand;

use super::{connect_from_env, master_keys_from_env};
use crate::audit;
use crate::domain::audit::verify::Heads;
use crate::platform::crypto::AuditKeys;

#[derive(Debug, Subcommand)]
pub(super) enum AuditCommand {
    /// Walk every chain; print how many entries of each were checked; exit
    /// 1 naming the first bad entry and its chain if any row was changed,
    /// removed, duplicated or inserted, or an entry records that something
    /// could not be chained. Needs the master key(s) that sealed them
    /// (HOLDFAST_MASTER_KEY, HOLDFAST_MASTER_KEY_PREVIOUS, or holdfast.key).
    Verify {
        /// The line printed earlier by `holdfast audit head` and kept outside
        /// the database: every chain must still reach its head there, unchanged.
        #[arg(long)]
        head: Option<String>,
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
        AuditCommand::Verify { head } => verify(head).await,
    }
}

async fn verify(head: Option<String>) -> anyhow::Result<ExitCode> {
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
    let report = audit::verify(&db, &AuditKeys::new(&current, &previous), kept.as_ref()).await?;
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
