//! The command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{Application, shutdown_signal};
use crate::audit::{self, Verdict};
use crate::clock::Clock;
use crate::config::{self, Config, MasterKey};
use crate::signing::SigningKey;
use crate::storage::Database;
use crate::telemetry;

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
    Audit(AuditCommand),
    /// Sign a request the way the risk engine does, and print or send it.
    ///
    /// Without --key it signs with this installation's development key
    /// (derived from holdfast.key, accepted while HOLDFAST_INGEST_KEYS is unset).
    Sign(SignArgs),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain; exit 1 naming the first bad entry if any row was
    /// changed, removed or inserted.
    Verify,
}

#[derive(Debug, clap::Args)]
struct SignArgs {
    /// The JSON body to sign (default: empty, as for GET requests).
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Read the body from this file.
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// The signing key as key_id=base64secret (default: the development key).
    #[arg(long, env = "HOLDFAST_SIGNING_KEY", hide_env_values = true)]
    key: Option<String>,
    /// Send the signed request to this URL and print the answer, instead of
    /// printing the headers.
    #[arg(long)]
    url: Option<String>,
    /// The HTTP method used with --url (default: POST with a body, GET without).
    #[arg(long)]
    method: Option<String>,
}

pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
        Command::Audit(AuditCommand::Verify) => {
            let db = connect_from_env().await?;
            match audit::verify(&db).await? {
                Verdict::Intact(count) => {
                    println!("audit log intact: {count} entries verified");
                    Ok(ExitCode::SUCCESS)
                }
                Verdict::Broken(problem) => {
                    println!("audit log BROKEN: {problem}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Sign(args) => sign(args).await,
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

/// Opens the database named by HOLDFAST_DATABASE_URL, for the maintenance commands.
async fn connect_from_env() -> anyhow::Result<Database> {
    let url = std::env::var("HOLDFAST_DATABASE_URL")
        .unwrap_or_else(|_| config::DEFAULT_DATABASE_URL.into());
    Database::connect(&url, 2)
        .await
        .context("HOLDFAST_DATABASE_URL")
}

async fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    let key = match &args.key {
        Some(text) => SigningKey::parse(text).map_err(|e| anyhow::anyhow!("--key: {e}"))?,
        None => {
            let text = std::fs::read_to_string(config::MASTER_KEY_FILE).with_context(|| {
                format!("no --key given and no {} here: run `holdfast serve` once in this directory first", config::MASTER_KEY_FILE)
            })?;
            let master = MasterKey::parse_base64(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", config::MASTER_KEY_FILE))?;
            config::development_ingest_key(&master)
        }
    };
    let body = match (&args.body, &args.body_file) {
        (Some(body), _) => body.clone().into_bytes(),
        (None, Some(path)) => {
            std::fs::read(path).with_context(|| format!("Failed to read {}", path.display()))?
        }
        (None, None) => Vec::new(),
    };
    let headers = key.headers(Clock::system().now(), &body);
    let Some(url) = args.url else {
        for (name, value) in headers {
            println!("{name}: {value}");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let method = args
        .method
        .unwrap_or_else(|| if body.is_empty() { "GET" } else { "POST" }.into());
    let method =
        reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).context("--method")?;
    let mut request = reqwest::Client::new().request(method, &url);
    if !body.is_empty() {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("Failed to reach {url}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("HTTP {status}");
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json) => println!("{}", serde_json::to_string_pretty(&json)?),
        Err(_) => println!("{text}"),
    }
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
