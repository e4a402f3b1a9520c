//! `holdfast drill run|report|stop`: a rehearsed wave of takeovers on
//! synthetic drill accounts, its report, and its end.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::{connect_from_env, master_keys_from_env};
use crate::domain::drill::{DrillId, Scenario};
use crate::domain::time::Timestamp;
use crate::drills;
use crate::platform::clock::Clock;
use crate::platform::config::{self};
use crate::platform::crypto::AuditKeys;
use crate::platform::signing::{KeyRing, Scope, SigningKey};

#[derive(Debug, Subcommand)]
pub(super) enum DrillCommand {
    /// Send a scenario's wave through the real signed intake with a key of
    /// scope `drill` from HOLDFAST_INGEST_KEYS (or the development key), on
    /// accounts named drill-<id>-…; prints the drill's id on its last line.
    Run {
        /// credential-stuffing, mule-destination or single-takeover.
        #[arg(long, value_parser = parse_scenario)]
        scenario: Scenario,
        /// How many accounts the wave reaches (default: the scenario's own).
        #[arg(long)]
        accounts: Option<u32>,
        /// Holdfast's base URL (default: http:// and HOLDFAST_LISTEN).
        #[arg(long)]
        url: Option<String>,
    },
    /// Print, per incident and as medians, the time to automatic
    /// containment and the team's times to acknowledge and to contain, and
    /// whether the wave was recognised as a campaign.
    Report { id: String },
    /// Dismiss what is left of a drill, without a disposition.
    Stop { id: String },
}

fn parse_scenario(text: &str) -> Result<Scenario, String> {
    Scenario::parse(text).ok_or_else(|| "expected credential-stuffing, mule-destination or single-takeover".into())
}

fn parse_drill_id(text: &str) -> anyhow::Result<DrillId> {
    DrillId::parse(text)
        .ok_or_else(|| anyhow::anyhow!("`{text}` is not a drill id (what `holdfast drill run` printed)"))
}

pub(super) async fn run(command: DrillCommand) -> anyhow::Result<ExitCode> {
    match command {
        DrillCommand::Run {
            scenario,
            accounts,
            url,
        } => {
            let wave = drills::wave::Wave {
                scenario,
                accounts: accounts.unwrap_or(scenario.default_accounts()).clamp(1, 1_000),
                base_url: url.unwrap_or_else(|| {
                    let listen = std::env::var("HOLDFAST_LISTEN").unwrap_or_else(|_| config::DEFAULT_LISTEN.into());
                    format!("http://{listen}")
                }),
                key: drill_key()?,
            };
            let id = drills::wave::new_drill_id()?;
            let sent = drills::wave::send(&wave, &id, &Clock::system()).await?;
            println!(
                "{}: sent {} alert(s) on {} account(s) to {}; {} incident(s)",
                scenario.as_str(),
                sent.alerts,
                wave.accounts,
                wave.base_url,
                sent.incidents.len()
            );
            println!("{}", sent.drill);
            Ok(ExitCode::SUCCESS)
        }
        DrillCommand::Report { id } => {
            let id = parse_drill_id(&id)?;
            let db = connect_from_env().await?;
            let report = drills::report::report(&db, &id).await?;
            if report.incidents.is_empty() {
                println!("drill {id}: no incidents (a wrong id, or the wave never reached this database)");
                return Ok(ExitCode::from(1));
            }
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        DrillCommand::Stop { id } => {
            let id = parse_drill_id(&id)?;
            let (current, previous) = master_keys_from_env()?;
            let db = connect_from_env()
                .await?
                .with_audit_keys(AuditKeys::new(&current, &previous));
            let now = Clock::system().now();
            // Everything the drill opened, whenever it opened it.
            let opened_before = Timestamp::latest();
            let ended =
                drills::end_incidents(&db, Some(&id), opened_before, "cli", "the drill was stopped", now).await?;
            println!("drill {id}: {ended} incident(s) dismissed");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The key `holdfast drill run` signs with: one of scope `drill` from
/// HOLDFAST_INGEST_KEYS, or the development key when that is unset.
fn drill_key() -> anyhow::Result<SigningKey> {
    match std::env::var("HOLDFAST_INGEST_KEYS") {
        Ok(text) if !text.trim().is_empty() => {
            let ring = KeyRing::parse(&text).map_err(|e| anyhow::anyhow!("HOLDFAST_INGEST_KEYS: {e}"))?;
            ring.signing_key_with(Scope::Drill)
                .cloned()
                .context("HOLDFAST_INGEST_KEYS has no key of scope drill (key_id:drill=…)")
        }
        _ => {
            let (master, _) = master_keys_from_env()?;
            Ok(config::development_ingest_key(&master))
        }
    }
}
