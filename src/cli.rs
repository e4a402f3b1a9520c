//! The command line.
//!
//! (Over 400 lines: one short arm per command; each calls into the library.)

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use base64::Engine;

use crate::agents;
use crate::app::{Application, shutdown_signal};
use crate::audit;
use crate::domain::agent::Role;
use crate::domain::audit::verify::Heads;
use crate::domain::drill::{DrillId, Scenario};
use crate::domain::time::{Timestamp, parse_duration};
use crate::drills;
use crate::edge::telemetry;
use crate::platform::clock::Clock;
use crate::platform::config::{self, Config};
use crate::platform::crypto::{AuditKeys, MasterKey, SecretBox};
use crate::platform::signing::{KeyRing, PlaybookKeys, Scope, SigningKey};
use crate::playbooks::{self, Playbooks};
use crate::replay;
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
    Audit(AuditCommand),
    /// Manage the security team's agents.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Verify, sign and create signing keys for playbooks.
    #[command(subcommand)]
    Playbooks(PlaybooksCommand),
    /// Manage the master key that encrypts secrets at rest.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the current TOTP code for a secret, as an authenticator app would.
    Otp {
        /// The base32 TOTP secret `holdfast agent add` printed.
        #[arg(long, env = "HOLDFAST_TOTP_SECRET", hide_env_values = true)]
        secret: String,
    },
    /// Try a priority rules file on stored history.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Rehearse a wave of takeovers on synthetic drill accounts.
    #[command(subcommand)]
    Drill(DrillCommand),
    /// Sign a request the way the risk engine does, and print or send it.
    ///
    /// Without --key it signs with this installation's development key
    /// (derived from holdfast.key, accepted while HOLDFAST_INGEST_KEYS is unset).
    Sign(SignArgs),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
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

#[derive(Debug, Subcommand)]
enum AgentCommand {
    /// Create an agent and print its password and TOTP secret, once.
    Add {
        #[arg(long)]
        username: String,
        /// analyst, lead or admin.
        #[arg(long)]
        role: String,
        /// Print {"username", "password", "totp_secret", "otpauth_uri"} as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PlaybooksCommand {
    /// Print each playbook's verdict; exit 1 if any fails. Checks signatures
    /// when HOLDFAST_PLAYBOOK_KEYS is set.
    Verify {
        /// The playbook directory (default: HOLDFAST_PLAYBOOKS or ./playbooks).
        dir: Option<PathBuf>,
    },
    /// Create an Ed25519 signing key pair for playbooks.
    Keygen {
        /// The id the public key is trusted under.
        #[arg(long, default_value = "security-team")]
        key_id: String,
    },
    /// Sign playbook files, writing <file>.sig next to each.
    Sign {
        /// The private key printed by `holdfast playbooks keygen`.
        #[arg(long, env = "HOLDFAST_PLAYBOOK_SIGNING_KEY", hide_env_values = true)]
        key: String,
        #[arg(long, default_value = "security-team")]
        key_id: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Re-encrypt every secret under a new master key, in one transaction.
    ///
    /// Then set HOLDFAST_MASTER_KEY to the new key and, until every instance
    /// has restarted, HOLDFAST_MASTER_KEY_PREVIOUS to the old one.
    Rotate {
        /// The new master key (base64 of 32 bytes); omit to generate one.
        #[arg(long, env = "HOLDFAST_NEW_MASTER_KEY", hide_env_values = true)]
        new_key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
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

#[derive(Debug, Subcommand)]
enum DrillCommand {
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
        Command::Audit(AuditCommand::Head) => {
            let db = connect_from_env().await?;
            println!("{}", audit::heads(&db).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(AuditCommand::Verify { head, archive }) => audit_verify(head, &archive).await,
        Command::Audit(AuditCommand::Archive { before, out }) => audit_archive(&before, &out).await,
        Command::Sign(args) => sign(args).await,
        Command::Otp { secret } => {
            let seed = totp_rs::Secret::try_from_base32(secret.trim())
                .map_err(|_| anyhow::anyhow!("--secret is not base32"))?;
            println!("{}", crate::auth::totp::code_at(seed.as_ref(), Clock::system().now()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Agent(AgentCommand::Add { username, role, json }) => add_agent(&username, &role, json).await,
        Command::Playbooks(command) => playbooks_command(command),
        Command::Keys(KeysCommand::Rotate { new_key }) => rotate_keys(new_key).await,
        Command::Drill(command) => drill(command).await,
        Command::Rules(RulesCommand::Replay {
            rules,
            current,
            since,
            until,
            json,
            database_url,
        }) => replay_rules(rules, current, &since, until.as_deref(), json, database_url).await,
    }
}

async fn replay_rules(
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

async fn drill(command: DrillCommand) -> anyhow::Result<ExitCode> {
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

async fn audit_archive(before: &str, out: &std::path::Path) -> anyhow::Result<ExitCode> {
    let cut = Timestamp::parse_rfc3339(before)
        .with_context(|| format!("--before: `{before}` is not an RFC 3339 time such as 2021-01-01T00:00:00Z"))?;
    let retention = config::Retention::from_env()?;
    let (current, previous) = master_keys_from_env()?;
    let keys = AuditKeys::new(&current, &previous);
    let db = connect_from_env()
        .await?
        .with_audit_keys(AuditKeys::new(&current, &previous));
    let Some(checkpoint) =
        audit::archive::archive(&db, &keys, cut, Clock::system().now(), retention.audit, out).await?
    else {
        println!("no audit entries before {cut}: nothing archived");
        return Ok(ExitCode::SUCCESS);
    };
    let archived: i64 = checkpoint.chains.iter().map(|chain| chain.entries).sum();
    println!(
        "audit checkpoint {}: {} before {cut} archived to {} (SHA-256 {}), then dropped",
        checkpoint.number,
        entries(archived),
        out.display(),
        checkpoint.sha256
    );
    Ok(ExitCode::SUCCESS)
}

async fn audit_verify(head: Option<String>, archives: &[PathBuf]) -> anyhow::Result<ExitCode> {
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

async fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    let key = match &args.key {
        Some(text) => SigningKey::parse(text).map_err(|e| anyhow::anyhow!("--key: {e}"))?,
        None => {
            let text = std::fs::read_to_string(config::MASTER_KEY_FILE).with_context(|| {
                format!(
                    "no --key given and no {} here: run `holdfast serve` once in this directory first",
                    config::MASTER_KEY_FILE
                )
            })?;
            let master =
                MasterKey::parse_base64(&text).map_err(|e| anyhow::anyhow!("{}: {e}", config::MASTER_KEY_FILE))?;
            config::development_ingest_key(&master)
        }
    };
    let body = match (&args.body, &args.body_file) {
        (Some(body), _) => body.clone().into_bytes(),
        (None, Some(path)) => std::fs::read(path).with_context(|| format!("Failed to read {}", path.display()))?,
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
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).context("--method")?;
    let mut request = reqwest::Client::new().request(method, &url);
    if !body.is_empty() {
        request = request.header("content-type", "application/json").body(body);
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.with_context(|| format!("Failed to reach {url}"))?;
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

async fn add_agent(username: &str, role: &str, json: bool) -> anyhow::Result<ExitCode> {
    let role = Role::parse(role).with_context(|| format!("--role: `{role}` is not analyst, lead or admin"))?;
    let config = Config::from_env()?;
    let db = Database::connect(&config.database_url, 2)
        .await?
        .with_audit_keys(AuditKeys::new(&config.master_key, &config.previous_master_keys));
    db.migrate().await?;
    let secrets = SecretBox::new(&config.master_key, &config.previous_master_keys);
    let credentials = agents::add(&db, &secrets, username, role, "cli", Clock::system().now()).await?;
    if json {
        let printed = serde_json::json!({
            "username": credentials.username,
            "password": credentials.password,
            "totp_secret": credentials.totp_secret,
            "otpauth_uri": credentials.otpauth_uri,
        });
        println!("{printed}");
    } else {
        println!(
            "Agent `{}` ({role}) created. Shown once; hand over securely:",
            credentials.username
        );
        println!("  password:    {}", credentials.password);
        println!("  TOTP secret: {}", credentials.totp_secret);
        println!("  otpauth URI: {}", credentials.otpauth_uri);
    }
    Ok(ExitCode::SUCCESS)
}

fn playbooks_command(command: PlaybooksCommand) -> anyhow::Result<ExitCode> {
    match command {
        PlaybooksCommand::Verify { dir } => {
            let dir = dir
                .or_else(|| std::env::var_os("HOLDFAST_PLAYBOOKS").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("playbooks"));
            let keys = match std::env::var("HOLDFAST_PLAYBOOK_KEYS") {
                Ok(text) if !text.trim().is_empty() => {
                    PlaybookKeys::parse(&text).map_err(|e| anyhow::anyhow!("HOLDFAST_PLAYBOOK_KEYS: {e}"))?
                }
                _ => PlaybookKeys::default(),
            };
            if !dir.is_dir() {
                anyhow::bail!("{} is not a directory", dir.display());
            }
            let playbooks = Playbooks::load(&dir, &keys)?;
            if playbooks.entries().is_empty() {
                println!("no playbooks (*.toml) in {}", dir.display());
                return Ok(ExitCode::from(1));
            }
            let mut failed = false;
            for entry in playbooks.entries() {
                if let Some(playbook) = &entry.playbook {
                    let signed = entry
                        .signed_by
                        .as_deref()
                        .map(|k| format!(", signed by {k}"))
                        .unwrap_or_default();
                    println!(
                        "ok    {} v{} sha256:{}{signed}",
                        playbook.id, playbook.version, entry.digest
                    );
                } else {
                    failed = true;
                    println!("FAIL  {}", entry.file);
                    for reason in &entry.reasons {
                        println!("      {reason}");
                    }
                }
            }
            Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        PlaybooksCommand::Keygen { key_id } => {
            let (private, public) = playbooks::generate_key()?;
            println!("Private key (keep secret; for `holdfast playbooks sign --key`):");
            println!("  {private}");
            println!("Trust the public key with:");
            println!("  HOLDFAST_PLAYBOOK_KEYS={key_id}={public}");
            Ok(ExitCode::SUCCESS)
        }
        PlaybooksCommand::Sign { key, key_id, files } => {
            for file in files {
                let bytes = std::fs::read(&file).with_context(|| format!("Failed to read {}", file.display()))?;
                let signature = playbooks::sign(&key, &key_id, &bytes)?;
                let target = PathBuf::from(format!("{}.sig", file.display()));
                std::fs::write(&target, signature).with_context(|| format!("Failed to write {}", target.display()))?;
                println!("signed {} -> {}", file.display(), target.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn rotate_keys(new_key: Option<String>) -> anyhow::Result<ExitCode> {
    let config = Config::from_env()?;
    let (new_key, generated) = match new_key {
        Some(text) => (
            MasterKey::parse_base64(&text).map_err(|e| anyhow::anyhow!("--new-key: {e}"))?,
            None,
        ),
        None => {
            let bytes = crate::platform::crypto::random_bytes::<32>()?;
            (
                MasterKey::from_bytes(bytes),
                Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            )
        }
    };
    let db = Database::connect(&config.database_url, 2)
        .await?
        .with_audit_keys(AuditKeys::new(&config.master_key, &config.previous_master_keys));
    db.migrate().await?;
    let current = SecretBox::new(&config.master_key, &config.previous_master_keys);
    let next = SecretBox::new(&new_key, &[]);
    let count = agents::reseal_all(&db, &current, &next, Clock::system().now()).await?;
    println!(
        "re-encrypted {count} secret(s) under master key {}",
        next.current_key_id()
    );
    if let Some(text) = generated {
        println!("new master key (set it as HOLDFAST_MASTER_KEY): {text}");
    }
    println!("keep the old key in HOLDFAST_MASTER_KEY_PREVIOUS until every instance runs with the new one,");
    println!("and keep it wherever `holdfast audit verify` runs: the audit entries it sealed verify only with it");
    Ok(ExitCode::SUCCESS)
}
