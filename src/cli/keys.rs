//! `holdfast keys rotate`: every secret re-encrypted under a new master key, in
//! one transaction.

use std::process::ExitCode;

use clap::Subcommand;

use base64::Engine;

use crate::agents;
use crate::platform::clock::Clock;
use crate::platform::config::Config;
use crate::platform::crypto::{AuditKeys, MasterKey, SecretBox};
use crate::storage::Database;

#[derive(Debug, Subcommand)]
pub(super) enum KeysCommand {
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

pub(super) async fn run(command: KeysCommand) -> anyhow::Result<ExitCode> {
    let KeysCommand::Rotate { new_key } = command;
    rotate(new_key).await
}

async fn rotate(new_key: Option<String>) -> anyhow::Result<ExitCode> {
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
