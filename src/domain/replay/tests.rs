//! The replay's unit tests: seeded alerts replayed through two rules files, report by report.

use super::*;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_795_000_000 + seconds).unwrap()
}

fn login(alert_id: &str, account: &str, ip: &str, seconds: i64) -> Alert {
    Alert::parse(
        &serde_json::json!({"alert_id": alert_id, "kind": "suspicious_login", "account_id": account,
            "occurred_at": at(seconds).to_rfc3339(),
            "login": {"ip": ip, "new_device": true, "new_country": true}}),
        at(seconds),
    )
    .unwrap()
}

/// The shipped rules with sign-ins from a new device worth P1 on their own,
/// and campaigns of two accounts.
fn candidate() -> PriorityRules {
    let shipped = include_str!("../../../priority.toml");
    let text = shipped
        .replace(
            "when = { new_device = true }\npoints = 15",
            "when = { new_device = true }\npoints = 80",
        )
        .replace("[campaigns.ip]\naccounts = 3", "[campaigns.ip]\naccounts = 2");
    PriorityRules::parse("candidate", &text).unwrap()
}

fn current() -> PriorityRules {
    PriorityRules::parse("current", include_str!("../../../priority.toml")).unwrap()
}

fn replay_of(current: &PriorityRules, candidate: &PriorityRules) -> ReplayReport {
    let mut replay = Replay::new(current, candidate);
    let incidents = [
        (
            "i-1",
            Some(Disposition::ConfirmedTakeover),
            login("a-1", "acct-1", "203.0.113.1", 0),
        ),
        (
            "i-2",
            Some(Disposition::FalsePositive),
            login("a-2", "acct-2", "203.0.113.1", 60),
        ),
        ("i-3", None, login("a-3", "acct-3", "198.51.100.3", 120)),
    ];
    for (id, outcome, alert) in incidents {
        replay.incident(IncidentId::from_string(id.to_owned()), outcome, &[alert]);
    }
    replay.unreadable();
    replay.report()
}

#[test]
fn the_same_rules_change_nothing() {
    let rules = current();
    let report = replay_of(&rules, &rules);
    assert_eq!(report.alerts, 3);
    assert_eq!(report.incidents, 3);
    assert_eq!(report.unreadable_alerts, 1);
    assert!(report.priority_changes.is_empty());
    assert_eq!(
        report.automatic_containments.gained + report.automatic_containments.lost,
        0
    );
    assert_eq!(report.campaigns.current, 0, "two accounts are not a campaign of three");
}

#[test]
fn a_candidate_shows_its_priority_changes_containments_campaigns_and_rankings() {
    let report = replay_of(&current(), &candidate());

    assert_eq!(
        report.priority_changes,
        vec![Change {
            from: Priority::P3,
            to: Priority::P1,
            incidents: 3
        }]
    );
    assert_eq!(report.automatic_containments.gained, 3);
    assert_eq!(report.automatic_containments.lost, 0);
    assert_eq!((report.campaigns.candidate, report.campaigns.gained), (1, 1));
    let takeovers = &report.resolved[0];
    assert_eq!(takeovers.disposition, Disposition::ConfirmedTakeover);
    assert_eq!((takeovers.current, takeovers.candidate), ([0, 0, 1, 0], [1, 0, 0, 0]));
    assert_eq!(report.resolved[1].disposition, Disposition::FalsePositive);
    assert_eq!(
        report,
        replay_of(&current(), &candidate()),
        "the same input, the same report"
    );
}
