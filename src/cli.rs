//! The command line: `holdfast serve` (the default) and `migrate` here, each
//! other command in its own file, which calls into the library.

mod agent;
mod audit;
mod drill;
mod keys;
mod playbooks;
mod rules;
mod sign;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{Application, shutdown_signal};

use crate::edge::telemetry;
use crate::platform::clock::Clock;
use crate::platform::config::{self, Config};
use crate::platform::crypto::MasterKey;

use crate::storage::Database;

/// Holdfast: account-security incident response for a cryptocurrency exchange.
///
/// Turns the risk engine's signed alerts into prioritised incidents, freezes
/// the worst accounts at once, and answers the exchange's "may this account
/// act?" checks. Configuration comes from HOLDFAST_* environment variables
/// (see README.md); with none set it serves on 127.0.0.1:8080 with an embedded
/// SQLite database and a simulated exchange.
#[derive(Debug, Parser)]
#[command(name = "holdfast", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default). Stops gracefully on SIGINT or SIGTERM.
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Check the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Manage the security team's agents.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Verify, sign and create signing keys for playbooks.
    #[command(subcommand)]
    Playbooks(playbooks::PlaybooksCommand),
    /// Manage the master key that encrypts secrets at rest.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Print the current TOTP code for a secret, as an authenticator app would.
    Otp {
        /// The base32 TOTP secret `holdfast agent add` printed.
        #[arg(long, env = "HOLDFAST_TOTP_SECRET", hide_env_values = true)]
        secret: String,
    },
    /// Try a priority rules file on stored history.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Rehearse a wave of takeovers on synthetic drill accounts.
    #[command(subcommand)]
    Drill(drill::DrillCommand),
    /// Sign a request the way the risk engine does, and print or send it.
    ///
    /// Without --key it signs with this installation's development key
    /// (derived from holdfast.key, accepted while HOLDFAST_INGEST_KEYS is unset).
    Sign(sign::SignArgs),
}

pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("holdfast: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command.unwrap_or(Command::Serve))) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("holdfast: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => serve().await.map(|()| ExitCode::SUCCESS),
        Command::Migrate => {
            let db = connect_from_env().await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Otp { secret } => {
            let seed = totp_rs::Secret::try_from_base32(secret.trim())
                .map_err(|_| anyhow::anyhow!("--secret is not base32"))?;
            println!("{}", crate::auth::totp::code_at(seed.as_ref(), Clock::system().now()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(command) => audit::run(command).await,
        Command::Agent(command) => agent::run(command).await,
        Command::Playbooks(command) => playbooks::run(command),
        Command::Keys(command) => keys::run(command).await,
        Command::Rules(command) => rules::run(command).await,
        Command::Drill(command) => drill::run(command).await,
        Command::Sign(args) => sign::run(args).await,
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let _telemetry = telemetry::init()?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let application = Application::build(config, Clock::system()).await?;
    tracing::info!(address = %application.local_addr(), "holdfast is serving");
    application.run_until_stopped(shutdown_signal()).await
}

/// The master keys for a maintenance command: HOLDFAST_MASTER_KEY (and
/// HOLDFAST_MASTER_KEY_PREVIOUS), or the development key file if present.
/// Never creates a key: a command that needs one must find the real one.
fn master_keys_from_env() -> anyhow::Result<(MasterKey, Vec<MasterKey>)> {
    let current = match std::env::var("HOLDFAST_MASTER_KEY") {
        Ok(text) => MasterKey::parse_base64(&text).map_err(|e| anyhow::anyhow!("HOLDFAST_MASTER_KEY: {e}"))?,
        Err(_) => {
            let text = std::fs::read_to_string(config::MASTER_KEY_FILE).with_context(|| {
                format!(
                    "HOLDFAST_MASTER_KEY is unset and there is no {}",
                    config::MASTER_KEY_FILE
                )
            })?;
            MasterKey::parse_base64(&text).map_err(|e| anyhow::anyhow!("{}: {e}", config::MASTER_KEY_FILE))?
        }
    };
    let previous = match std::env::var("HOLDFAST_MASTER_KEY_PREVIOUS") {
        Ok(text) => text
            .split(',')
            .map(|key| MasterKey::parse_base64(key).map_err(|e| anyhow::anyhow!("HOLDFAST_MASTER_KEY_PREVIOUS: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?,
        Err(_) => Vec::new(),
    };
    Ok((current, previous))
}

/// Opens the database named by HOLDFAST_DATABASE_URL, for the maintenance commands.
async fn connect_from_env() -> anyhow::Result<Database> {
    let url = std::env::var("HOLDFAST_DATABASE_URL").unwrap_or_else(|_| config::DEFAULT_DATABASE_URL.into());
    Database::connect(&url, 2).await.context("HOLDFAST_DATABASE_URL")
}
