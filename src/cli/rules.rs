//! `holdfast rules replay`: a candidate rules file tried on stored alerts
//! beside the one in force, read-only.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::domain::time::{Timestamp, parse_duration};
use crate::platform::clock::Clock;
use crate::platform::config::{self};
use crate::replay;

#[derive(Debug, Subcommand)]
pub(super) enum RulesCommand {
    /// Replay stored alerts through a candidate rules file beside the one in
    /// force, without writing anything, and print what would change:
    /// priorities, automatic containments, campaigns, and where the ended
    /// incidents would rank. The same input gives the same report.
    Replay {
        /// The candidate rules file.
        #[arg(long)]
        rules: PathBuf,
        /// The rules in force (default: HOLDFAST_PRIORITY_RULES, else ./priority.toml, else the built-in rules).
        #[arg(long)]
        current: Option<PathBuf>,
        /// How far back from --until to replay (s, m, h or d).
        #[arg(long, default_value = "30d")]
        since: String,
        /// The end of the window, an RFC 3339 time (default: now).
        #[arg(long)]
        until: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The database to read (a replica will do; default: HOLDFAST_DATABASE_URL).
        #[arg(long)]
        database_url: Option<String>,
    },
}

pub(super) async fn run(command: RulesCommand) -> anyhow::Result<ExitCode> {
    let RulesCommand::Replay {
        rules,
        current,
        since,
        until,
        json,
        database_url,
    } = command;
    replay(rules, current, &since, until.as_deref(), json, database_url).await
}

async fn replay(
    rules: PathBuf,
    current: Option<PathBuf>,
    since: &str,
    until: Option<&str>,
    json: bool,
    database_url: Option<String>,
) -> anyhow::Result<ExitCode> {
    let database_url = database_url
        .or_else(|| std::env::var("HOLDFAST_DATABASE_URL").ok())
        .unwrap_or_else(|| config::DEFAULT_DATABASE_URL.into());
    let current = current
        .or_else(|| std::env::var_os("HOLDFAST_PRIORITY_RULES").map(PathBuf::from))
        .or_else(|| Some(PathBuf::from("priority.toml")).filter(|path| path.exists()));
    let until = match until {
        Some(text) => Timestamp::parse_rfc3339(text).context("--until: expected an RFC 3339 time")?,
        None => Clock::system().now(),
    };
    let length = parse_duration(since).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let replayed = replay::command(&rules, current.as_deref(), length, until, &database_url).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&replay::json(&replayed))?);
    } else {
        print!("{}", replay::text(&replayed));
    }
    Ok(ExitCode::SUCCESS)
}
