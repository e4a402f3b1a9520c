//! The priority rules file: `PriorityRules::parse`, then the parsed rules
//! assessing a fixed set of alerts.
//!
//! Input: the file's text (inputs that are not UTF-8 are skipped; Holdfast
//! reads the file as a string).
//!
//! Properties: a refused file's message names the file; accepted rules give
//! every priority an SLA whose deadlines, counted from an incident's opening,
//! come after it (unless zero) and put containment no earlier than
//! acknowledgement; they map a score of 0 to P4 and higher scores never to a
//! milder priority; and for every combination of the fixed alerts, the
//! priority is the one of the score, the score is the highest sum of one
//! alert's reasons, reasons are listed most points first, the order the alerts
//! arrived in changes nothing, and adding an alert never lowers the priority.

use std::sync::LazyLock;

use holdfast::domain::alert::Alert;
use holdfast::domain::priority::{Assessment, Priority, PriorityRules};
use holdfast::domain::time::Timestamp;

const ORIGIN: &str = "fuzzed.toml";

/// Alerts covering every signal a rule can read: SPEC §4's login, a login
/// that shows a takeover, a large withdrawal to a new address three hours
/// later, and a small one to a known address.
static ALERTS: LazyLock<Vec<Alert>> = LazyLock::new(|| {
    [
        r#"{"alert_id": "re-000123", "kind": "suspicious_login", "account_id": "acct-8842",
            "occurred_at": "2026-11-23T04:00:00Z", "risk_score": 0.82,
            "login": {"ip": "203.0.113.9", "country": "BR", "device_id": "d-77", "new_device": true,
                      "new_country": true, "impossible_travel": true, "anonymizing_network": false,
                      "failed_mfa_attempts": 3, "credential_change_within_24h": false}}"#,
        r#"{"alert_id": "re-000124", "kind": "suspicious_login", "account_id": "acct-8842",
            "occurred_at": "2026-11-23T05:00:00Z", "risk_score": 0.95,
            "login": {"anonymizing_network": true, "credential_change_within_24h": true,
                      "failed_mfa_attempts": 7}}"#,
        r#"{"alert_id": "re-000125", "kind": "large_withdrawal", "account_id": "acct-8842",
            "occurred_at": "2026-11-23T07:00:00Z",
            "withdrawal": {"withdrawal_id": "w-91", "asset": "BTC", "amount": "2.5",
                           "usd_value": "250000.00", "new_destination": true}}"#,
        r#"{"alert_id": "re-000126", "kind": "large_withdrawal", "account_id": "acct-8842",
            "occurred_at": "2026-11-25T07:00:00Z", "risk_score": 0.1,
            "withdrawal": {"usd_value": "1200", "new_destination": false}}"#,
    ]
    .iter()
    .map(|body| {
        let value = serde_json::from_str(body).expect("a fixed alert is JSON");
        let now = holdfast::domain::time::Timestamp::parse_rfc3339("2026-11-26T00:00:00Z").expect("a fixed instant");
        Alert::parse(&value, now).expect("a fixed alert is valid")
    })
    .collect()
});

pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let rules = match PriorityRules::parse(ORIGIN, text) {
        Ok(rules) => rules,
        Err(message) => {
            assert!(message.starts_with(&format!("{ORIGIN}: ")), "{message}");
            return;
        }
    };

    let opened = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").expect("a valid instant");
    for priority in Priority::ALL {
        let sla = rules.sla(priority);
        let (acknowledge_by, contain_by) = (opened.plus(sla.acknowledge), opened.plus(sla.contain));
        assert!(
            (sla.acknowledge.is_zero() || opened < acknowledge_by) && acknowledge_by <= contain_by,
            "{priority}'s deadlines come before the incident opens, or containment before acknowledgement"
        );
    }
    assert_eq!(rules.priority_for(0), Priority::P4);
    let empty = rules.assess(&[]);
    assert_eq!((empty.priority, empty.score, empty.reasons.len()), (Priority::P4, 0, 0));

    // Every non-empty combination of the fixed alerts, by bit mask.
    let combinations = 1u32 << ALERTS.len();
    let assessments: Vec<Assessment> = (0..combinations).map(|mask| rules.assess(&subset(mask))).collect();
    for mask in 1..combinations {
        let alerts = subset(mask);
        let assessment = &assessments[mask as usize];
        check_assessment(&rules, &alerts, assessment);

        let reversed: Vec<Alert> = alerts.iter().rev().cloned().collect();
        let again = rules.assess(&reversed);
        assert_eq!((again.priority, again.score), (assessment.priority, assessment.score));
        let mut expected = assessment.reasons.clone();
        let mut reasons = again.reasons;
        for list in [&mut expected, &mut reasons] {
            list.sort_by(|a, b| (&a.rule, &a.alert_id).cmp(&(&b.rule, &b.alert_id)));
        }
        assert_eq!(reasons, expected, "the order the alerts arrived in changed the reasons");

        for smaller in (1..mask).filter(|smaller| smaller & mask == *smaller) {
            let before = &assessments[smaller as usize];
            assert!(
                assessment.score >= before.score && assessment.priority <= before.priority,
                "adding an alert lowered the incident from {} ({}) to {} ({})",
                before.priority,
                before.score,
                assessment.priority,
                assessment.score
            );
        }
    }
}

fn subset(mask: u32) -> Vec<Alert> {
    ALERTS
        .iter()
        .enumerate()
        .filter(|(index, _)| mask & (1 << index) != 0)
        .map(|(_, alert)| alert.clone())
        .collect()
}

fn check_assessment(rules: &PriorityRules, alerts: &[Alert], assessment: &Assessment) {
    assert_eq!(assessment.priority, rules.priority_for(assessment.score));
    for higher in [assessment.score.saturating_add(1), u32::MAX] {
        assert!(
            rules.priority_for(higher) <= assessment.priority,
            "a higher score gave a milder priority"
        );
    }
    for pair in assessment.reasons.windows(2) {
        assert!(
            (pair[1].points, &pair[0].rule) <= (pair[0].points, &pair[1].rule),
            "reasons are not listed most points first, then by rule: {pair:?}"
        );
    }
    let highest = alerts
        .iter()
        .map(|alert| {
            assessment
                .reasons
                .iter()
                .filter(|reason| reason.alert_id == alert.alert_id)
                .fold(0u32, |sum, reason| sum.saturating_add(reason.points))
        })
        .max()
        .unwrap_or(0);
    assert_eq!(
        assessment.score, highest,
        "the score is not the highest sum of one alert's reasons"
    );
    for reason in &assessment.reasons {
        assert!(alerts.iter().any(|alert| alert.alert_id == reason.alert_id));
    }
}
