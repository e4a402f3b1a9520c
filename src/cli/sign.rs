//! `holdfast sign`: a request signed the way the risk engine signs, printed as
//! headers or sent.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::platform::clock::Clock;
use crate::platform::config::{self};
use crate::platform::crypto::MasterKey;
use crate::platform::signing::SigningKey;

#[derive(Debug, clap::Args)]
pub(super) struct SignArgs {
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

pub(super) async fn run(args: SignArgs) -> anyhow::Result<ExitCode> {
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
