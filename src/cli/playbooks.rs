//! `holdfast playbooks verify|keygen|sign`: each playbook's verdict, and the
//! Ed25519 keys and signatures the security team signs playbooks with.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::platform::signing::PlaybookKeys;
use crate::playbooks::{self, Playbooks};

#[derive(Debug, Subcommand)]
pub(super) enum PlaybooksCommand {
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

pub(super) fn run(command: PlaybooksCommand) -> anyhow::Result<ExitCode> {
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
