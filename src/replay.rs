//! `holdfast rules replay`: stored alerts replayed through a candidate rules
//! file beside the one in force, without writing anything (SPEC §14). The
//! replay itself is `domain::replay`, over the same rule code intake runs;
//! this module reads the window's alerts (`storage/replay`, read-only) and
//! prints the report, as text or JSON.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use serde_json::{Value, json};

use crate::domain::alert::Alert;
use crate::domain::disposition::Disposition;
use crate::domain::ids::IncidentId;
use crate::domain::priority::{Priority, PriorityRules};
use crate::domain::replay::{Replay, ReplayReport};
use crate::domain::time::{Timestamp, parse_duration};
use crate::platform::clock::Clock;
use crate::platform::config;
use crate::storage::{Database, ReplayRow};

/// The alerts replayed: those that occurred in `[since, until)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub since: Timestamp,
    pub until: Timestamp,
}

/// What the report says beside the replay's figures.
#[derive(Clone, Debug)]
pub struct Replayed {
    pub window: Window,
    /// The rules files compared, as named on the command line.
    pub current_name: String,
    pub candidate_name: String,
    pub report: ReplayReport,
    /// When the oldest alert still stored occurred.
    pub oldest_alert: Option<Timestamp>,
    /// How long raw alerts are kept (`HOLDFAST_RETENTION_ALERTS`).
    pub retention: Duration,
    /// When the window reaches past the retention: the instant before which
    /// no alert is stored any more.
    pub gone_before: Option<Timestamp>,
}

/// How long raw alerts are kept unless `HOLDFAST_RETENTION_ALERTS` says otherwise (SPEC §15).
pub const DEFAULT_ALERT_RETENTION: Duration = Duration::from_secs(90 * 86_400);

/// The rows of one incident, gathered as they stream by.
struct Pending {
    id: String,
    outcome: Option<Disposition>,
    alerts: Vec<Alert>,
}

/// Reads the window's alerts and replays them through `current` and
/// `candidate`. With `progress`, a bar on stderr (a terminal).
pub async fn replay(
    db: &Database,
    current: &PriorityRules,
    candidate: &PriorityRules,
    window: Window,
    progress: bool,
) -> anyhow::Result<ReplayReport> {
    let mut replay = Replay::new(current, candidate);
    let mut pending: Option<Pending> = None;
    let mut read: u64 = 0;
    // The bar needs the total: one count, only when someone watches.
    let total = match progress {
        true => u64::try_from(db.count_replay_alerts(window.since, window.until).await?).unwrap_or(0),
        false => 0,
    };
    let flush = |replay: &mut Replay, pending: Pending| {
        replay.incident(IncidentId::from_string(pending.id), pending.outcome, &pending.alerts);
    };
    db.for_each_replay_row(window.since, window.until, |row: ReplayRow| {
        read += 1;
        if progress && read.is_multiple_of(10_000) {
            draw(read, total);
        }
        if pending.as_ref().is_some_and(|p| p.id != row.incident_id)
            && let Some(done) = pending.take()
        {
            flush(&mut replay, done);
        }
        let current = pending.get_or_insert_with(|| Pending {
            id: row.incident_id.clone(),
            outcome: Disposition::from_stored(&row.status, row.resolution.as_deref()),
            alerts: Vec::new(),
        });
        match serde_json::from_str::<Alert>(&row.body) {
            Ok(alert) => current.alerts.push(alert),
            // Retention has taken its values: nothing left to replay.
            Err(_) => replay.unreadable(),
        }
    })
    .await?;
    if let Some(done) = pending.take() {
        flush(&mut replay, done);
    }
    if progress {
        draw(read, total.max(read));
        eprintln!();
    }
    Ok(replay.report())
}

/// `holdfast rules replay`: compares the `candidate` rules file with
/// `current` (the built-in rules when `None`) over the alerts that occurred
/// in the `length` before `until`, read from `database_url`.
pub async fn command(
    candidate: &Path,
    current: Option<&Path>,
    length: Duration,
    until: Timestamp,
    database_url: &str,
) -> anyhow::Result<Replayed> {
    let candidate_rules = config::load_rules(candidate).context("--rules")?;
    let (current_rules, current_name) = match current {
        Some(path) => (
            config::load_rules(path).context("--current")?,
            path.display().to_string(),
        ),
        None => (PriorityRules::built_in(), "the built-in rules".to_owned()),
    };
    let window = Window {
        since: until.minus(length),
        until,
    };
    let retention = match std::env::var("HOLDFAST_RETENTION_ALERTS") {
        Ok(text) if !text.trim().is_empty() => {
            parse_duration(&text).map_err(|e| anyhow::anyhow!("HOLDFAST_RETENTION_ALERTS: {e}"))?
        }
        _ => DEFAULT_ALERT_RETENTION,
    };
    let horizon = Clock::system().now().minus(retention);
    let db = Database::connect(database_url, 2).await.context("--database-url")?;
    let report = replay(&db, &current_rules, &candidate_rules, window, progress_wanted()).await?;
    Ok(Replayed {
        window,
        current_name,
        candidate_name: candidate.display().to_string(),
        report,
        oldest_alert: db.oldest_alert().await?,
        retention,
        gone_before: (window.since < horizon).then_some(horizon),
    })
}

/// Draws the progress bar on stderr, over the previous one.
fn draw(read: u64, total: u64) {
    const WIDTH: u64 = 40;
    let done = match total {
        0 => WIDTH,
        total => read.min(total) * WIDTH / total,
    } as usize;
    let bar = format!("{}{}", "#".repeat(done), " ".repeat(WIDTH as usize - done));
    eprint!("\rreplaying [{bar}] {read}/{total} alerts");
    let _ = std::io::stderr().flush();
}

/// Whether to draw the progress bar: only on a terminal.
pub fn progress_wanted() -> bool {
    std::io::stderr().is_terminal()
}

fn distribution(counts: &[u64; 4]) -> String {
    counts.iter().map(u64::to_string).collect::<Vec<_>>().join("/")
}

fn days(duration: Duration) -> String {
    let days = duration.as_secs_f64() / 86_400.0;
    if days.fract() == 0.0 {
        format!("{days:.0} days")
    } else {
        format!("{days:.1} days")
    }
}

/// The report as `holdfast rules replay` prints it.
pub fn text(replayed: &Replayed) -> String {
    let Replayed { window, report: r, .. } = replayed;
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(
        "replay of {} against {}",
        replayed.candidate_name, replayed.current_name
    ));
    line(format!(
        "window: {} to {} ({}; drills left out)",
        window.since.to_rfc3339(),
        window.until.to_rfc3339(),
        days(window.until.since(window.since))
    ));
    line(format!("read: {} alerts of {} incidents", r.alerts, r.incidents));
    let changed: u64 = r.priority_changes.iter().map(|c| c.incidents).sum();
    line(format!("priority changes: {changed} incidents"));
    for change in &r.priority_changes {
        line(format!("  {} → {}: {}", change.from, change.to, change.incidents));
    }
    let c = &r.automatic_containments;
    line(format!(
        "automatic containments: {} gained, {} lost ({} now, {} with the candidate)",
        c.gained, c.lost, c.current, c.candidate
    ));
    let c = &r.campaigns;
    line(format!(
        "campaigns: {} formed, {} lost ({} now, {} with the candidate)",
        c.gained, c.lost, c.current, c.candidate
    ));
    let order = Priority::ALL.map(|p| p.as_str()).join("/");
    line(format!(
        "ended incidents by priority ({order}), now → with the candidate:"
    ));
    if r.resolved.is_empty() {
        line("  none in the window".into());
    }
    for ranking in &r.resolved {
        line(format!(
            "  {} ({}): {} → {}",
            ranking.disposition,
            ranking.incidents,
            distribution(&ranking.current),
            distribution(&ranking.candidate)
        ));
    }
    line(no_longer_stored(replayed));
    out
}

fn no_longer_stored(replayed: &Replayed) -> String {
    let kept = days(replayed.retention);
    let horizon = match replayed.gone_before {
        Some(before) => format!(
            "alerts are kept {kept}: nothing before {} is stored, though the window starts earlier",
            before.to_rfc3339()
        ),
        None => format!("alerts are kept {kept}: the window lies within it"),
    };
    let oldest = match replayed.oldest_alert {
        Some(oldest) => format!("the oldest alert stored occurred at {}", oldest.to_rfc3339()),
        None => "no alert is stored".to_owned(),
    };
    format!(
        "no longer stored: {horizon}; {oldest}; {} alerts of the window have lost their signal values and were not replayed",
        replayed.report.unreadable_alerts
    )
}

/// The report as `--json` prints it.
pub fn json(replayed: &Replayed) -> Value {
    json!({
        "window": {"since": replayed.window.since, "until": replayed.window.until},
        "current_rules": replayed.current_name,
        "candidate_rules": replayed.candidate_name,
        "report": replayed.report,
        "oldest_alert": replayed.oldest_alert,
        "retention_days": replayed.retention.as_secs() / 86_400,
        "gone_before": replayed.gone_before,
        "no_longer_stored": no_longer_stored(replayed),
    })
}
