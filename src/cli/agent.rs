//! `holdfast agent add`: a lead or an admin created on the server, where
//! creating one needs the host and its master key.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::agents;
use crate::domain::agent::Role;
use crate::platform::clock::Clock;
use crate::platform::config::Config;
use crate::platform::crypto::{AuditKeys, SecretBox};
use crate::storage::Database;

#[derive(Debug, Subcommand)]
pub(super) enum AgentCommand {
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

pub(super) async fn run(command: AgentCommand) -> anyhow::Result<ExitCode> {
    let AgentCommand::Add { username, role, json } = command;
    add(&username, &role, json).await
}

async fn add(username: &str, role: &str, json: bool) -> anyhow::Result<ExitCode> {
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
