//! Every metric Holdfast records, described once: its kind and the help
//! text `/metrics` prints as `# HELP` beside each `# TYPE`.
//!
//! A rule over a counter or a histogram sees nothing until the series
//! exists, so an alert on `increase(holdfast_outbox_failed_total[15m])`, or
//! on a counter's absence, would be blind on a healthy system. Every counter
//! and histogram is therefore registered at zero when the application is
//! built, for each label value known then (SPEC §11); series whose labels
//! only arrive with traffic (a route and its status) appear with their first
//! event. `promtool check metrics` finds nothing to report in the result
//! (`tests/api/metric_conventions.rs`), and a test keeps this list and the
//! names recorded in the code equal.

use crate::domain::alert::AlertKind;
use crate::domain::incident::{Breach, Milestone};
use crate::domain::priority::Priority;
use crate::domain::priority::campaigns::SignalKind;

/// A metric's Prometheus type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric: its name, type and help text.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

const fn metric(name: &'static str, kind: Kind, help: &'static str) -> Metric {
    Metric { name, kind, help }
}

/// Every metric Holdfast records.
pub const METRICS: &[Metric] = &[
    metric(
        "holdfast_alerts_total",
        Kind::Counter,
        "Alerts stored, by kind (repeats of an alert_id already stored are not counted here).",
    ),
    metric(
        "holdfast_alerts_duplicate_total",
        Kind::Counter,
        "Alerts answered as a repeat of an alert_id already stored, by kind.",
    ),
    metric(
        "holdfast_intake_batch_size",
        Kind::Histogram,
        "Alerts stored per intake transaction.",
    ),
    metric(
        "holdfast_incidents_opened_total",
        Kind::Counter,
        "Incidents opened, by the priority they opened with.",
    ),
    metric(
        "holdfast_incidents_open",
        Kind::Gauge,
        "Live incidents (not resolved or dismissed) by priority, recounted from the database.",
    ),
    metric(
        "holdfast_time_to_acknowledge_seconds",
        Kind::Histogram,
        "Time from an incident's opening to its acknowledgement, by the priority it opened with.",
    ),
    metric(
        "holdfast_time_to_contain_seconds",
        Kind::Histogram,
        "Time from an incident's opening to its containment, by the priority it opened with.",
    ),
    metric(
        "holdfast_time_to_resolve_seconds",
        Kind::Histogram,
        "Time from an incident's opening to its resolution, by the priority it opened with.",
    ),
    metric(
        "holdfast_sla_breaches_total",
        Kind::Counter,
        "Deadlines missed and escalated to the leads, by priority and deadline (acknowledge, contain).",
    ),
    metric(
        "holdfast_campaigns_recognized_total",
        Kind::Counter,
        "Campaigns recognised, by the attacker signal they share (ip, device, destination).",
    ),
    metric(
        "holdfast_outbox_pending",
        Kind::Gauge,
        "Messages waiting for delivery to the exchange, recounted from the database.",
    ),
    metric(
        "holdfast_outbox_failed_total",
        Kind::Counter,
        "Deliveries to the exchange that gave up after the last attempt.",
    ),
    metric(
        "holdfast_run_steps_failed_total",
        Kind::Counter,
        "Playbook run steps that failed.",
    ),
    metric(
        "holdfast_unfreeze_requests_dropped_total",
        Kind::Counter,
        "Unfreeze link requests dropped silently because they were over a rate limit.",
    ),
    metric(
        "holdfast_holds_feed_current",
        Kind::Gauge,
        "1 while this instance hears of every change to holds (its change feed is in place and reloaded); \
         0 while it has lost it and answers holds checks from the database.",
    ),
    metric(
        "holdfast_hold_index_resyncs_total",
        Kind::Counter,
        "Times this instance's change feed of holds came back after it was lost, by feed (database, redis).",
    ),
    metric(
        "holdfast_http_request_duration_seconds",
        Kind::Histogram,
        "Time to answer a request, by method, matched route (never the raw path) and status.",
    ),
    metric(
        "holdfast_http_connections_open",
        Kind::Gauge,
        "Connections being served, by listener.",
    ),
    metric(
        "holdfast_http_connections_closed_total",
        Kind::Counter,
        "Connections the server closed, by listener and reason: header_timeout (no complete request headers \
         in time, idle kept-alive connections included), write_stalled (a response unread for 10 s), \
         body_too_slow (a request body slower than 1 KiB/s), per_client_cap (the client already held its \
         share of connections).",
    ),
    metric(
        "holdfast_holder_notices_total",
        Kind::Counter,
        "Notifications carrying a case link queued for account holders, by template (risk_notice, \
         case_message, case_closed).",
    ),
    metric(
        "holdfast_holder_not_me_total",
        Kind::Counter,
        "Times a holder said \"this was not me\" through a case link (each froze every scope before answering).",
    ),
    metric(
        "holdfast_holder_was_me_total",
        Kind::Counter,
        "Times a holder said \"this was me\" through a case link (unverified; nothing lifted).",
    ),
    metric(
        "holdfast_holder_locks_total",
        Kind::Counter,
        "Accounts frozen at their holder's request without a case link, by way (lock_link, app_lock).",
    ),
    metric(
        "holdfast_holder_reports_total",
        Kind::Counter,
        "Reports of theft without signing in, by outcome: sent (a lock link went out), withheld (over the \
         account's link budget), dropped (over the client address's limit).",
    ),
    metric(
        "holdfast_case_messages_total",
        Kind::Counter,
        "Messages written in holders' case threads, by author (holder, team).",
    ),
    metric(
        "holdfast_case_satisfaction_answers_total",
        Kind::Counter,
        "Holders who rated their closed case.",
    ),
    metric(
        "holdfast_retention_partitions_dropped_total",
        Kind::Counter,
        "Monthly partitions dropped past their retention limit, by table (PostgreSQL).",
    ),
    metric(
        "holdfast_retention_rows_expired_total",
        Kind::Counter,
        "Rows expired past their retention limit, by data class (alerts, sightings, sign_in_failures, messages; incidents counts incidents removed whole).",
    ),
];

/// The tables retention drops partitions of, and its data classes: the
/// label values of the retention counters.
pub const RETENTION_TABLES: [&str; 4] = ["alerts", "campaign_signals", "sign_in_failures", "case_messages"];
pub const RETENTION_CLASSES: [&str; 5] = ["alerts", "sightings", "sign_in_failures", "messages", "incidents"];

/// Describes every metric to the installed recorder, so `/metrics` prints
/// its help. Once per process, after the recorder is installed.
pub fn describe() {
    for metric in METRICS {
        match metric.kind {
            Kind::Counter => metrics::describe_counter!(metric.name, metric.help),
            Kind::Gauge => metrics::describe_gauge!(metric.name, metric.help),
            Kind::Histogram => metrics::describe_histogram!(metric.name, metric.help),
        }
    }
}

/// What the series registered at start depend on.
pub struct Start {
    /// The change feed of holds the instance relies on (`database`, `redis`).
    pub holds_feed: &'static str,
}

/// Registers every counter and histogram at zero, for each label value
/// known at start.
pub fn register_at_start(start: &Start) {
    for name in [
        "holdfast_outbox_failed_total",
        "holdfast_run_steps_failed_total",
        "holdfast_unfreeze_requests_dropped_total",
        "holdfast_holder_not_me_total",
        "holdfast_holder_was_me_total",
        "holdfast_case_satisfaction_answers_total",
    ] {
        metrics::counter!(name).increment(0);
    }
    for template in ["risk_notice", "case_message", "case_closed"] {
        metrics::counter!("holdfast_holder_notices_total", "template" => template).increment(0);
    }
    for via in ["lock_link", "app_lock"] {
        metrics::counter!("holdfast_holder_locks_total", "via" => via).increment(0);
    }
    for outcome in ["sent", "withheld", "dropped"] {
        metrics::counter!("holdfast_holder_reports_total", "outcome" => outcome).increment(0);
    }
    for from in ["holder", "team"] {
        metrics::counter!("holdfast_case_messages_total", "from" => from).increment(0);
    }
    metrics::counter!("holdfast_hold_index_resyncs_total", "feed" => start.holds_feed).increment(0);
    for kind in AlertKind::ALL {
        metrics::counter!("holdfast_alerts_total", "kind" => kind.as_str()).increment(0);
        metrics::counter!("holdfast_alerts_duplicate_total", "kind" => kind.as_str()).increment(0);
    }
    for kind in SignalKind::ALL {
        metrics::counter!("holdfast_campaigns_recognized_total", "kind" => kind.as_str()).increment(0);
    }
    for priority in Priority::ALL {
        metrics::counter!("holdfast_incidents_opened_total", "priority" => priority.as_str()).increment(0);
        for breach in Breach::ALL {
            metrics::counter!("holdfast_sla_breaches_total", "priority" => priority.as_str(), "deadline" => breach.as_str())
                .increment(0);
        }
        for milestone in Milestone::ALL {
            // Registered, not recorded: the histogram shows zero observations.
            let _ = metrics::histogram!(milestone.metric(), "priority" => priority.as_str());
        }
    }
    for table in RETENTION_TABLES {
        metrics::counter!("holdfast_retention_partitions_dropped_total", "table" => table).increment(0);
    }
    for class in RETENTION_CLASSES {
        metrics::counter!("holdfast_retention_rows_expired_total", "class" => class).increment(0);
    }
    let _ = metrics::histogram!("holdfast_intake_batch_size");
    // The connection series of each listener are registered by the server
    // as it starts serving it (`server::serve`).
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_described_once_and_named_by_convention() {
        let mut names = std::collections::HashSet::new();
        for metric in METRICS {
            assert!(names.insert(metric.name), "{} is described twice", metric.name);
            assert!(metric.name.starts_with("holdfast_"), "{}", metric.name);
            assert_eq!(
                metric.name.ends_with("_total"),
                metric.kind == Kind::Counter,
                "{}: counters, and only counters, end in _total",
                metric.name
            );
            assert!(!metric.help.is_empty(), "{}", metric.name);
        }
    }
}
