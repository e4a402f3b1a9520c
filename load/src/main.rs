//! Load generators for Holdfast's benchmarks.
//!
//! `holdfast-load intake` posts signed alerts (each to a new account, so each
//! opens an incident, plus a share of retries) as fast as `--concurrency`
//! connections allow for `--seconds`; `holdfast-load holds` asks for
//! accounts' holds the way the exchange does before every login and
//! withdrawal. Both print throughput and latency percentiles as one JSON line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use holdfast::clock::Clock;
use holdfast::signing::SigningKey;
use serde_json::json;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Holdfast's base URL.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The risk engine's key, key_id=base64secret.
    #[arg(long, global = true, env = "HOLDFAST_LOAD_KEY")]
    key: Option<String>,
    /// Requests in flight at once.
    #[arg(long, global = true, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, global = true, default_value_t = 20)]
    seconds: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Signed alerts: new accounts (P3 logins), with `--retry-percent` retries.
    Intake {
        #[arg(long, default_value_t = 10)]
        retry_percent: u64,
        /// Prefix of generated ids, so runs do not collide.
        #[arg(long, default_value = "load")]
        run: String,
    },
    /// Signed holds checks across `--accounts` accounts.
    Holds {
        #[arg(long, default_value_t = 1000)]
        accounts: u64,
        /// Account ids are `<prefix><n>`.
        #[arg(long, default_value = "load-acct-")]
        prefix: String,
    },
}

struct Stats {
    ok: AtomicU64,
    failed: AtomicU64,
    latencies: std::sync::Mutex<Vec<u32>>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let key = SigningKey::parse(
        cli.key
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("--key (or HOLDFAST_LOAD_KEY) is required"))?,
    )
    .map_err(anyhow::Error::msg)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(cli.concurrency)
        .build()?;
    let stats = Arc::new(Stats {
        ok: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        latencies: Default::default(),
    });
    let counter = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(cli.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..cli.concurrency {
        let (client, key, stats, counter, url) = (
            client.clone(),
            key.clone(),
            stats.clone(),
            counter.clone(),
            cli.url.clone(),
        );
        let command = match &cli.command {
            Command::Intake { retry_percent, run } => Work::Intake {
                retry_percent: *retry_percent,
                run: run.clone(),
            },
            Command::Holds { accounts, prefix } => Work::Holds {
                accounts: *accounts,
                prefix: prefix.clone(),
            },
        };
        workers.push(tokio::spawn(async move {
            let mut local = Vec::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let request = command.request(&client, &url, &key, n);
                let sent = Instant::now();
                match request.send().await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        stats.ok.fetch_add(1, Ordering::Relaxed);
                        local.push(sent.elapsed().as_micros() as u32);
                    }
                    _ => {
                        stats.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            stats.latencies.lock().unwrap().extend(local);
        }));
    }
    futures_util::future::join_all(workers).await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = stats.latencies.lock().unwrap().clone();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |us| f64::from(*us) / 1000.0)
    };
    let ok = stats.ok.load(Ordering::Relaxed);
    println!(
        "{}",
        json!({
            "benchmark": match cli.command { Command::Intake { .. } => "intake", Command::Holds { .. } => "holds" },
            "concurrency": cli.concurrency,
            "seconds": elapsed,
            "ok": ok,
            "failed": stats.failed.load(Ordering::Relaxed),
            "per_second": (ok as f64 / elapsed).round(),
            "latency_ms": {"p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99), "max": percentile(1.0)},
        })
    );
    Ok(())
}

enum Work {
    Intake { retry_percent: u64, run: String },
    Holds { accounts: u64, prefix: String },
}

impl Work {
    fn request(&self, client: &reqwest::Client, url: &str, key: &SigningKey, n: u64) -> reqwest::RequestBuilder {
        let now = Clock::system().now();
        match self {
            Work::Intake { retry_percent, run } => {
                // Every `100 / retry_percent`-th request repeats an earlier alert.
                let id = if *retry_percent > 0 && n.is_multiple_of((100 / retry_percent).max(1)) && n > 0 {
                    n / 2
                } else {
                    n
                };
                let body = json!({
                    "alert_id": format!("{run}-{id}"),
                    "kind": "suspicious_login",
                    "account_id": format!("{run}-acct-{id}"),
                    "occurred_at": now.to_rfc3339(),
                    "risk_score": 0.4,
                    // An address per account: shared ones would form one campaign
                    // that every batch joins (measure that on purpose, not by accident).
                    "login": {"ip": format!("10.{}.{}.{}", (id >> 16) % 256, (id >> 8) % 256, id % 256),
                              "country": "BR", "new_device": true, "new_country": true}
                })
                .to_string();
                let mut request = client
                    .post(format!("{url}/v1/alerts"))
                    .header("content-type", "application/json");
                for (name, value) in key.headers(now, body.as_bytes()) {
                    request = request.header(name, value);
                }
                request.body(body)
            }
            Work::Holds { accounts, prefix } => {
                let mut request = client.get(format!("{url}/v1/accounts/{prefix}{}/holds", n % accounts));
                for (name, value) in key.headers(now, b"") {
                    request = request.header(name, value);
                }
                request
            }
        }
    }
}
