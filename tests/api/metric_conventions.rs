//! Metrics by convention (SPEC §11): every series Holdfast records has
//! `# HELP` and `# TYPE`, every counter and histogram exists from start,
//! `promtool check metrics` finds nothing in what `/metrics` serves (fresh,
//! and after traffic), and `promtool check rules` accepts the shipped rules.
//! promtool is Debian's `prometheus` package, which `scripts/test` installs.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use holdfast::edge::telemetry::catalog::{self, Kind};
use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp, eventually, on_both_backends, p1_withdrawal, p3_login, spawn_app_with};
use crate::metrics::metric;

on_both_backends!(
    a_fresh_instance_and_one_after_traffic_pass_promtool_check_metrics,
    every_counter_and_histogram_exists_from_start_at_zero_with_its_help,
);

/// Runs promtool with `args` (and `stdin`, if any); its exit status and output.
fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "promtool is required by the metrics tests and could not be run ({error}): \
                 install Debian's prometheus package (scripts/test does)"
            )
        });
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let output = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

/// What `promtool check metrics` reports about `text`.
fn promtool_findings(text: &str) -> Vec<String> {
    let (_, printed) = promtool(&["check", "metrics"], Some(text));
    printed
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

async fn spawn(backend: Backend) -> TestApp {
    spawn_app_with(backend, |settings| {
        settings.set("HOLDFAST_ADMIN_LISTEN", "127.0.0.1:0");
    })
    .await
}

async fn a_fresh_instance_and_one_after_traffic_pass_promtool_check_metrics(backend: Backend) {
    let app = spawn(backend).await;
    let fresh = app.scrape().await;
    assert_eq!(promtool_findings(&fresh), Vec::<String>::new(), "{fresh}");

    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    app.ingest(&p3_login("re-2", "acct-2")).await;
    assert_eq!(app.holds("acct-1").await["frozen"], true);
    let missing = app.client.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    app.settle().await;

    let after = app.scrape().await;
    assert!(
        after.contains("holdfast_http_request_duration_seconds_bucket{"),
        "traffic was measured: {after}"
    );
    assert_eq!(promtool_findings(&after), Vec::<String>::new(), "{after}");
}

/// Whether `text` has the `# HELP` and `# TYPE` lines the catalog gives `metric`.
fn described(text: &str, metric: &catalog::Metric) -> bool {
    let kind = match metric.kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
    };
    text.contains(&format!("# HELP {} {}\n", metric.name, metric.help))
        && text.contains(&format!("# TYPE {} {kind}\n", metric.name))
}

async fn every_counter_and_histogram_exists_from_start_at_zero_with_its_help(backend: Backend) {
    let app = spawn(backend).await;
    // The gauges read from the database appear with their first reading.
    let text = eventually("the gauges' first reading", Duration::from_secs(10), || async {
        let text = app.scrape().await;
        text.contains("holdfast_outbox_pending ").then_some(text)
    })
    .await;

    for metric in catalog::METRICS {
        // A route's latency is measured once it is asked.
        if metric.name == "holdfast_http_request_duration_seconds" {
            continue;
        }
        assert!(described(&text, metric), "{} is not described:\n{text}", metric.name);
    }
    for name in ["holdfast_outbox_failed_total", "holdfast_run_steps_failed_total"] {
        assert_eq!(metric(&text, name, ""), Some(0.0), "{name}");
    }
    for histogram in [
        "holdfast_time_to_acknowledge_seconds",
        "holdfast_time_to_contain_seconds",
        "holdfast_time_to_resolve_seconds",
    ] {
        for priority in ["P1", "P2", "P3", "P4"] {
            let labels = format!(r#"priority="{priority}""#);
            assert_eq!(
                metric(&text, &format!("{histogram}_count"), &labels),
                Some(0.0),
                "{histogram}{{{labels}}}"
            );
        }
    }
    eventually(
        "the change feed of holds to be current",
        Duration::from_secs(10),
        || async {
            let text = app.scrape().await;
            (metric(&text, "holdfast_holds_feed_current", "") == Some(1.0)).then_some(())
        },
    )
    .await;
    let feed = if backend == Backend::PostgresWithRedis {
        "redis"
    } else {
        "database"
    };
    assert_eq!(
        metric(&text, "holdfast_hold_index_resyncs_total", &format!(r#"feed="{feed}""#)),
        Some(0.0)
    );
    assert_eq!(
        metric(
            &text,
            "holdfast_http_connections_closed_total",
            r#"listener="admin",reason="write_stalled""#
        ),
        Some(0.0)
    );
}

#[test]
fn the_shipped_prometheus_rules_pass_promtool_check_rules() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus");
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml"))
        .map(|path| path.display().to_string())
        .collect();
    assert!(!files.is_empty(), "no rules in {}", dir.display());

    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    let (passed, printed) = promtool(&args, None);

    assert!(passed, "{printed}");
    assert!(printed.contains("SUCCESS"), "{printed}");
}

/// The metric names the code records by a literal name: the first argument
/// of every `counter!`, `gauge!` and `histogram!`, outside the catalog.
fn recorded_by_name() -> BTreeSet<String> {
    fn walk(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("telemetry/catalog.rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                for macro_call in ["counter!(", "gauge!(", "histogram!("] {
                    for (at, _) in source.match_indices(macro_call) {
                        let rest = source[at + macro_call.len()..].trim_start();
                        if let Some(literal) = rest.strip_prefix('"') {
                            found.insert(literal.split('"').next().unwrap().to_owned());
                        }
                    }
                }
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
    found
}

#[test]
fn every_metric_recorded_is_in_the_catalog_and_every_one_there_is_recorded() {
    let recorded = recorded_by_name();
    assert!(recorded.contains("holdfast_outbox_failed_total"), "{recorded:?}");
    let described: BTreeSet<&str> = catalog::METRICS.iter().map(|metric| metric.name).collect();

    for name in &recorded {
        assert!(
            described.contains(name.as_str()),
            "{name} is recorded but not described in telemetry::catalog"
        );
    }
    // The response times are recorded under the names `Milestone::metric` gives.
    let by_milestone: Vec<&str> = holdfast::domain::incident::Milestone::ALL
        .iter()
        .map(|milestone| milestone.metric())
        .collect();
    for name in described {
        assert!(
            recorded.contains(name) || by_milestone.contains(&name),
            "{name} is described but never recorded"
        );
    }
}
