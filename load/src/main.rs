//! Load generators for Holdfast's benchmarks.
//!
//! `holdfast-load intake` posts signed alerts as fast as `--concurrency`
//! connections allow for `--seconds`. The default `--mix realistic` is what a
//! risk engine sends: accounts that recur, half sign-ins (1 % of them from a
//! small pool of attackers' addresses, which campaign recognition should
//! find) and half withdrawals with spread-out signals and values, and
//! retries of earlier alerts. `--mix p3-new` (every alert a P3 sign-in of a
//! new account) and `--mix p1-new` (every alert a P1 withdrawal of a new
//! account, contained inside the intake) compare the cheapest and the
//! dearest alert.
//!
//! `holdfast-load holds` asks for accounts' holds the way the exchange does
//! before every login and withdrawal; pointed at `hello` it measures the HTTP
//! stack alone. Each prints one JSON line: throughput, latency percentiles,
//! and for intake the answers by priority.
//!
//! With `--write FILE` neither sends anything: the same requests, signed, go
//! to FILE one a line (method, path, headers, body, separated by tabs) for
//! `wrk` to send (`load/wrk/presigned.lua`). That is how `load/run.sh`
//! measures, because this generator cannot drive even the hello-world as
//! fast as `wrk` does; the mixes are still defined here, once.
//!
//! `holdfast-load seed` posts one alert for every `--every`-th of
//! `--accounts` accounts, so that a holds check finds incidents (and, for
//! every `--frozen-every`-th of those accounts, a freeze), then stops.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use holdfast::domain::time::Timestamp;
use holdfast::platform::clock::Clock;
use holdfast::platform::signing::SigningKey;
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The base URL (`,`-separated for several instances, used in turn).
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The caller's key, key_id=base64secret.
    #[arg(long, global = true, env = "HOLDFAST_LOAD_KEY")]
    key: Option<String>,
    /// Requests in flight at once.
    #[arg(long, global = true, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, global = true, default_value_t = 20)]
    seconds: u64,
    /// Write the requests, signed, to this file instead of sending them.
    #[arg(long, global = true)]
    write: Option<PathBuf>,
    /// How many requests `--write` writes (intake; the holds check writes one
    /// per account unless told otherwise).
    #[arg(long, global = true)]
    count: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    /// Signed alerts.
    Intake {
        #[arg(long, value_enum, default_value_t = Mix::Realistic)]
        mix: Mix,
        /// How many accounts the realistic mix draws from.
        #[arg(long, default_value_t = 5000)]
        accounts: u64,
        /// Share of requests that repeat an earlier alert.
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
    /// One alert for every `--every`-th account of the holds check's
    /// accounts: a P1 withdrawal (the account is frozen) for every
    /// `--frozen-every`-th of them, a P3 sign-in for the others. Stops when
    /// each has been answered.
    Seed {
        #[arg(long, default_value_t = 1000)]
        accounts: u64,
        #[arg(long, default_value = "load-acct-")]
        prefix: String,
        #[arg(long, default_value_t = 4)]
        every: u64,
        /// 0: none frozen.
        #[arg(long, default_value_t = 2)]
        frozen_every: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Mix {
    /// Recurring accounts, sign-ins and withdrawals, retries.
    Realistic,
    /// Every alert a P3 sign-in on a new account.
    P3New,
    /// Every alert a P1 withdrawal on a new account.
    P1New,
}

#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u32>,
    /// Intake answers by the incident's priority (and `duplicate`), with their latencies.
    by_answer: BTreeMap<String, Vec<u32>>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let key = match cli.key.as_deref() {
        Some(key) => Some(SigningKey::parse(key).map_err(anyhow::Error::msg)?),
        None => None,
    };
    match &cli.write {
        Some(path) => {
            let key = key.context("--write signs the requests: it needs --key")?;
            write_requests(&cli, &key, path)
        }
        None => send(&cli, key).await,
    }
}

/// Sends the requests as fast as `--concurrency` connections allow, for
/// `--seconds` (or, seeding, until every account has its alert), and prints
/// one JSON line.
async fn send(cli: &Cli, key: Option<SigningKey>) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(cli.concurrency)
        .build()?;
    let urls: Arc<[String]> = cli.url.split(',').map(str::to_owned).collect();
    let counter = Arc::new(AtomicU64::new(0));
    // Seeding stops when every account has its alert; the hour is only a
    // bound.
    let (deadline, limit) = match cli.command {
        Command::Seed { accounts, every, .. } => (
            Instant::now() + Duration::from_secs(3600),
            accounts.div_ceil(every.max(1)),
        ),
        _ => (Instant::now() + Duration::from_secs(cli.seconds), u64::MAX),
    };
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..cli.concurrency {
        let (client, key, counter, urls) = (client.clone(), key.clone(), counter.clone(), urls.clone());
        let mut work = Work::new(&cli.command, worker);
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if n >= limit {
                    break;
                }
                let url = &urls[n as usize % urls.len()];
                let now = Clock::system().now();
                let outgoing = work.next(n, now);
                let mut request = client.request(outgoing.method.clone(), format!("{url}{}", outgoing.path));
                if outgoing.method == Method::POST {
                    request = request.header("content-type", "application/json");
                }
                if let Some(key) = &key {
                    for (name, value) in key.headers(now, outgoing.body.as_bytes()) {
                        request = request.header(name, value);
                    }
                }
                let sent = Instant::now();
                let answer = match request.body(outgoing.body).send().await {
                    Ok(response) if response.status().is_success() => {
                        let duplicate = response.status() == reqwest::StatusCode::OK;
                        response.bytes().await.ok().map(|body| (duplicate, body))
                    }
                    Ok(response) => {
                        if tally.failed == 0 {
                            let status = response.status();
                            let body = response.text().await.unwrap_or_default();
                            eprintln!("first failure: {status} {body}");
                        }
                        None
                    }
                    Err(error) => {
                        if tally.failed == 0 {
                            eprintln!("first failure: {error}");
                        }
                        None
                    }
                };
                let elapsed = sent.elapsed().as_micros() as u32;
                match answer {
                    Some((duplicate, body)) => {
                        tally.ok += 1;
                        tally.latencies_us.push(elapsed);
                        if work.posts_alerts() {
                            let priority = serde_json::from_slice::<Value>(&body)
                                .ok()
                                .and_then(|v| v["priority"].as_str().map(str::to_owned))
                                .unwrap_or_default();
                            let label = if duplicate { "duplicate".to_owned() } else { priority };
                            tally.by_answer.entry(label).or_default().push(elapsed);
                        }
                    }
                    None => tally.failed += 1,
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for tally in futures_util::future::join_all(workers).await {
        let tally = tally?;
        all.ok += tally.ok;
        all.failed += tally.failed;
        all.latencies_us.extend(tally.latencies_us);
        for (label, latencies) in tally.by_answer {
            all.by_answer.entry(label).or_default().extend(latencies);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let by_answer: serde_json::Map<String, Value> = all
        .by_answer
        .iter_mut()
        .map(|(label, latencies)| {
            (
                label.clone(),
                json!({"count": latencies.len(), "latency_ms": percentiles(latencies)}),
            )
        })
        .collect();
    let mut line = json!({
        "generator": "holdfast-load",
        "benchmark": cli.command.name(),
        "instances": urls.len(),
        "concurrency": cli.concurrency,
        "seconds": (elapsed * 10.0).round() / 10.0,
        "ok": all.ok,
        "failed": all.failed,
        "per_second": (all.ok as f64 / elapsed).round(),
        "latency_ms": percentiles(&mut all.latencies_us),
    });
    if !by_answer.is_empty() {
        line["by_answer"] = Value::Object(by_answer);
    }
    println!("{line}");
    Ok(())
}

/// Writes the requests `send` would send, signed now, one a line: method,
/// path, each header as `name: value`, then the body, separated by tabs (a
/// JSON body holds no tab: JSON escapes it). Each of `--concurrency`
/// connections' traffic is generated as `send` generates it, and the
/// connections take turns, so a retry always follows the alert it repeats.
fn write_requests(cli: &Cli, key: &SigningKey, path: &Path) -> anyhow::Result<()> {
    let count = match (&cli.command, cli.count) {
        (_, Some(count)) => count,
        (Command::Holds { accounts, .. }, None) => *accounts,
        (Command::Seed { accounts, every, .. }, None) => accounts.div_ceil((*every).max(1)),
        (Command::Intake { .. }, None) => anyhow::bail!("--write needs --count for intake"),
    };
    let file = File::create(path).with_context(|| format!("Failed to create {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut works: Vec<Work> = (0..cli.concurrency.max(1))
        .map(|worker| Work::new(&cli.command, worker))
        .collect();
    let connections = works.len() as u64;
    for n in 0..count {
        let now = Clock::system().now();
        let outgoing = works[(n % connections) as usize].next(n, now);
        write!(out, "{}\t{}", outgoing.method, outgoing.path)?;
        if outgoing.method == Method::POST {
            write!(out, "\tcontent-type: application/json")?;
        }
        for (name, value) in key.headers(now, outgoing.body.as_bytes()) {
            write!(out, "\t{name}: {value}")?;
        }
        writeln!(out, "\t{}", outgoing.body)?;
    }
    out.flush()
        .with_context(|| format!("Failed to write {}", path.display()))?;
    Ok(())
}

fn percentiles(latencies_us: &mut [u32]) -> Value {
    latencies_us.sort_unstable();
    let at = |p: f64| {
        latencies_us
            .get(((latencies_us.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |us| (f64::from(*us) / 10.0).round() / 100.0)
    };
    json!({"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1.0)})
}

impl Command {
    fn name(&self) -> String {
        match self {
            Command::Intake { mix, .. } => {
                format!("intake-{}", mix.to_possible_value().expect("a value").get_name())
            }
            Command::Holds { .. } => "holds".to_owned(),
            Command::Seed { .. } => "seed".to_owned(),
        }
    }
}

/// One request, before it is signed.
struct Outgoing {
    method: Method,
    /// From the root: `/v1/alerts`.
    path: String,
    body: String,
}

/// What one connection sends.
enum Work {
    Intake(Alerts),
    Holds {
        accounts: u64,
        prefix: String,
    },
    Seed {
        prefix: String,
        every: u64,
        frozen_every: u64,
        random: Random,
    },
}

impl Work {
    fn new(command: &Command, worker: usize) -> Self {
        match command {
            Command::Intake {
                mix,
                accounts,
                retry_percent,
                run,
            } => Work::Intake(Alerts {
                mix: *mix,
                accounts: *accounts,
                retry_percent: *retry_percent,
                run: run.clone(),
                random: Random::seeded(Random::seed_of(run) ^ (worker as u64 + 1)),
                attackers: Random::seed_of(run),
                sent: Vec::new(),
            }),
            Command::Holds { accounts, prefix } => Work::Holds {
                accounts: *accounts,
                prefix: prefix.clone(),
            },
            Command::Seed {
                prefix,
                every,
                frozen_every,
                ..
            } => Work::Seed {
                prefix: prefix.clone(),
                every: (*every).max(1),
                frozen_every: *frozen_every,
                random: Random::seeded(Random::seed_of(prefix) ^ (worker as u64 + 1)),
            },
        }
    }

    fn posts_alerts(&self) -> bool {
        !matches!(self, Work::Holds { .. })
    }

    /// The `n`th request of the run.
    fn next(&mut self, n: u64, now: Timestamp) -> Outgoing {
        match self {
            Work::Intake(alerts) => Outgoing {
                method: Method::POST,
                path: "/v1/alerts".to_owned(),
                body: alerts.next(n, now),
            },
            Work::Holds { accounts, prefix } => Outgoing {
                method: Method::GET,
                path: format!("/v1/accounts/{prefix}{}/holds", n % *accounts),
                body: String::new(),
            },
            Work::Seed {
                prefix,
                every,
                frozen_every,
                random,
            } => {
                let account = format!("{prefix}{}", n * *every);
                let alert_id = format!("seed-{account}");
                let body = if *frozen_every > 0 && n.is_multiple_of(*frozen_every) {
                    p1_withdrawal(alert_id, account, now, random)
                } else {
                    p3_sign_in(alert_id, account, now, random)
                };
                Outgoing {
                    method: Method::POST,
                    path: "/v1/alerts".to_owned(),
                    body: body.to_string(),
                }
            }
        }
    }
}

/// The alerts one connection sends.
struct Alerts {
    mix: Mix,
    accounts: u64,
    retry_percent: u64,
    run: String,
    random: Random,
    /// Picks the run's attacker pool: the same for every connection of a
    /// run, another for the next run.
    attackers: u64,
    /// Recent bodies, some of which are sent again as retries.
    sent: Vec<String>,
}

/// How many earlier bodies a connection keeps for retries.
const RETRY_MEMORY: usize = 256;
/// The withdrawals' USD values, spread as a risk engine reports them.
const USD_VALUES: [u32; 6] = [500, 1_200, 9_000, 20_000, 98_000, 250_000];
/// The share of the realistic mix's sign-ins that come from the attackers.
const ATTACKER_PERCENT: u64 = 1;

impl Alerts {
    fn next(&mut self, n: u64, now: Timestamp) -> String {
        if !self.sent.is_empty() && self.random.percent(self.retry_percent) {
            let earlier = self.random.below(self.sent.len() as u64) as usize;
            return self.sent[earlier].clone();
        }
        let run = &self.run;
        let alert_id = format!("{run}-{n}");
        let body = match self.mix {
            Mix::P3New => p3_sign_in(alert_id, format!("{run}-acct-{n}"), now, &mut self.random),
            Mix::P1New => p1_withdrawal(alert_id, format!("{run}-acct-{n}"), now, &mut self.random),
            Mix::Realistic => {
                let account = format!("{run}-acct-{}", self.random.below(self.accounts));
                let occurred_at = now.to_rfc3339();
                let attackers = self.attackers;
                let random = &mut self.random;
                if random.percent(50) {
                    let ip = if random.percent(ATTACKER_PERCENT) {
                        random.attacker_ip(attackers)
                    } else {
                        random.ip()
                    };
                    json!({
                        "alert_id": alert_id,
                        "kind": "suspicious_login",
                        "account_id": account,
                        "occurred_at": occurred_at,
                        "risk_score": (random.below(100) as f64) / 100.0,
                        "login": {
                            "ip": ip,
                            "device_id": format!("dev-{}", random.below(1 << 30)),
                            "country": "KR",
                            "new_device": random.percent(30),
                            "new_country": random.percent(20),
                            "impossible_travel": random.percent(5),
                            "failed_mfa_attempts": random.below(4),
                        }
                    })
                } else {
                    let usd = USD_VALUES[random.below(USD_VALUES.len() as u64) as usize];
                    json!({
                        "alert_id": alert_id,
                        "kind": "large_withdrawal",
                        "account_id": account,
                        "occurred_at": occurred_at,
                        "risk_score": (random.below(100) as f64) / 100.0,
                        "withdrawal": {
                            "asset": "BTC",
                            "usd_value": usd.to_string(),
                            "destination": random.destination(),
                            "new_destination": random.percent(30),
                        }
                    })
                }
            }
        }
        .to_string();
        if self.sent.len() < RETRY_MEMORY {
            self.sent.push(body.clone());
        } else {
            let slot = self.random.below(RETRY_MEMORY as u64) as usize;
            self.sent[slot] = body.clone();
        }
        body
    }
}

/// The cheapest alert: a P3 sign-in from a new device in a new country.
fn p3_sign_in(alert_id: String, account: String, now: Timestamp, random: &mut Random) -> Value {
    json!({
        "alert_id": alert_id,
        "kind": "suspicious_login",
        "account_id": account,
        "occurred_at": now.to_rfc3339(),
        "risk_score": 0.4,
        "login": {"ip": random.ip(), "country": "BR", "new_device": true, "new_country": true}
    })
}

/// The dearest alert: a P1 withdrawal of USD 250,000 to a new destination,
/// contained inside its intake.
fn p1_withdrawal(alert_id: String, account: String, now: Timestamp, random: &mut Random) -> Value {
    json!({
        "alert_id": alert_id,
        "kind": "large_withdrawal",
        "account_id": account,
        "occurred_at": now.to_rfc3339(),
        "risk_score": 0.9,
        "withdrawal": {"asset": "BTC", "usd_value": "250000", "destination": random.destination(), "new_destination": true}
    })
}

/// A small xorshift generator: the same seed gives the same traffic.
struct Random(u64);

impl Random {
    /// A seed of its own for each run name (FNV-1a), so a run never repeats
    /// another's addresses, devices and destinations on the same database:
    /// repeated across accounts, they would be read as a campaign.
    fn seed_of(run: &str) -> u64 {
        run.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    }
    fn seeded(seed: u64) -> Self {
        Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    /// An address from a large pool, so addresses rarely repeat across accounts.
    fn ip(&mut self) -> String {
        let n = self.below(1 << 24);
        format!("10.{}.{}.{}", n >> 16, (n >> 8) & 0xff, n & 0xff)
    }
    /// One of the 16 addresses of the attacker pool `pool` picks (a /24 in
    /// 172.16.0.0/12, away from the scattered 10.0.0.0/8).
    fn attacker_ip(&mut self, pool: u64) -> String {
        let host = self.below(16);
        format!("172.{}.{}.{host}", 16 + (pool >> 8) % 16, pool & 0xff)
    }
    fn destination(&mut self) -> String {
        format!("bc1q{:016x}", self.next())
    }
}
