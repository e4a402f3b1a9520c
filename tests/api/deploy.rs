//! The deployment files in `deploy/` stay true to the code: the dashboard is
//! valid JSON whose every panel queries something, and every metric the
//! dashboard and the Prometheus rules use is one Holdfast records.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// Every `holdfast_…` metric name in `text`, without a histogram's series suffix.
fn metrics_used(text: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("holdfast_") {
        let name: String = rest[start..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        rest = &rest[start + name.len()..];
        let name = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(&name)
            .to_owned();
        used.insert(name);
    }
    used
}

/// Every metric name the code records: the string literals naming them.
fn metrics_recorded() -> BTreeSet<String> {
    fn walk(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                for literal in source.split('"').skip(1).step_by(2) {
                    if literal.starts_with("holdfast_") && literal.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                        found.insert(literal.to_owned());
                    }
                }
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
    found
}

fn deploy_file(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(name)).unwrap()
}

#[test]
fn every_dashboard_panel_queries_something() {
    let dashboard: Value = serde_json::from_str(&deploy_file("grafana/holdfast-dashboard.json")).unwrap();
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(!panels.is_empty());
    for panel in panels {
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{} has no query", panel["title"]);
        for target in targets {
            assert!(
                target["expr"].as_str().is_some_and(|expr| expr.contains("holdfast_")),
                "{}: {target}",
                panel["title"]
            );
        }
    }
}

#[test]
fn the_dashboard_and_the_rules_use_only_metrics_holdfast_records() {
    let recorded = metrics_recorded();
    for file in ["grafana/holdfast-dashboard.json", "prometheus/holdfast-rules.yml"] {
        let used = metrics_used(&deploy_file(file));
        assert!(!used.is_empty(), "{file} uses no metric");
        let unknown: Vec<&String> = used.iter().filter(|name| !recorded.contains(*name)).collect();
        assert!(
            unknown.is_empty(),
            "{file} uses metrics Holdfast does not record: {unknown:?}"
        );
    }
    // The response-time histograms of SPEC §11 are all on the dashboard.
    let dashboard = metrics_used(&deploy_file("grafana/holdfast-dashboard.json"));
    for name in [
        "holdfast_time_to_acknowledge_seconds",
        "holdfast_time_to_contain_seconds",
        "holdfast_time_to_resolve_seconds",
        "holdfast_incidents_open",
        "holdfast_outbox_pending",
        "holdfast_outbox_failed_total",
        "holdfast_run_steps_failed_total",
    ] {
        assert!(dashboard.contains(name), "{name} is not on the dashboard");
    }
}

#[test]
fn a_misspelt_metric_would_be_caught() {
    assert!(metrics_used("rate(holdfast_alerts_totl[5m])").contains("holdfast_alerts_totl"));
    assert!(!metrics_recorded().contains("holdfast_alerts_totl"));
    assert!(metrics_recorded().contains("holdfast_alerts_total"));
}
