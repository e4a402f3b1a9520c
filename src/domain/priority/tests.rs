//! The priority rules' unit tests: scores, look-backs and rises.

use super::*;
use serde_json::json;

fn alert(id: &str, kind: &str, at: &str, section: serde_json::Value, risk: Option<f64>) -> Alert {
    let mut body = json!({"alert_id": id, "kind": kind, "account_id": "acct-1", "occurred_at": at});
    let key = if kind == "suspicious_login" {
        "login"
    } else {
        "withdrawal"
    };
    body[key] = section;
    if let Some(risk) = risk {
        body["risk_score"] = json!(risk);
    }
    // Received as it happened.
    let now = crate::domain::time::Timestamp::parse_rfc3339(at).unwrap();
    Alert::parse(&body, now).unwrap()
}

fn rules() -> PriorityRules {
    PriorityRules::built_in()
}

#[test]
fn a_quarter_million_to_a_new_destination_is_p1() {
    let w = alert(
        "a",
        "large_withdrawal",
        "2026-11-23T04:00:00Z",
        json!({"usd_value": "250000", "new_destination": true}),
        None,
    );
    assert_eq!(rules().assess(&[w]).priority, Priority::P1);
}

#[test]
fn a_takeover_login_followed_by_a_withdrawal_to_a_new_destination_rises_to_p1() {
    let login = alert(
        "l",
        "suspicious_login",
        "2026-11-23T04:00:00Z",
        json!({"impossible_travel": true, "failed_mfa_attempts": 3}),
        None,
    );
    let alone = rules().assess(std::slice::from_ref(&login));
    assert!(alone.priority > Priority::P1, "the login alone is {:?}", alone.priority);
    let withdrawal = alert(
        "w",
        "large_withdrawal",
        "2026-11-23T10:00:00Z",
        json!({"usd_value": "20000", "new_destination": true}),
        None,
    );
    let together = rules().assess(&[login, withdrawal]);
    assert_eq!(together.priority, Priority::P1);
    assert!(
        together
            .reasons
            .iter()
            .any(|r| r.alert_id.as_str() == "w" && r.points >= 50)
    );
}

#[test]
fn the_same_withdrawal_more_than_a_day_after_the_login_is_not_p1() {
    let login = alert(
        "l",
        "suspicious_login",
        "2026-11-20T04:00:00Z",
        json!({"impossible_travel": true, "failed_mfa_attempts": 3}),
        None,
    );
    let withdrawal = alert(
        "w",
        "large_withdrawal",
        "2026-11-23T10:00:00Z",
        json!({"usd_value": "20000", "new_destination": true}),
        None,
    );
    assert!(rules().assess(&[login, withdrawal]).priority > Priority::P1);
}

#[test]
fn a_new_device_in_a_new_country_alone_is_p3() {
    let login = alert(
        "l",
        "suspicious_login",
        "2026-11-23T04:00:00Z",
        json!({"new_device": true, "new_country": true}),
        None,
    );
    assert_eq!(rules().assess(&[login]).priority, Priority::P3);
}

#[test]
fn a_small_withdrawal_to_a_known_destination_with_low_risk_is_p4() {
    let w = alert(
        "w",
        "large_withdrawal",
        "2026-11-23T04:00:00Z",
        json!({"usd_value": "1200", "new_destination": false}),
        Some(0.1),
    );
    let assessment = rules().assess(&[w]);
    assert_eq!(assessment.priority, Priority::P4);
    assert!(assessment.reasons.is_empty());
}

#[test]
fn every_priority_has_an_sla_with_the_documented_deadlines() {
    let rules = rules();
    let minutes = |p| {
        (
            rules.sla(p).acknowledge.as_secs() / 60,
            rules.sla(p).contain.as_secs() / 60,
        )
    };
    assert_eq!(minutes(Priority::P1), (5, 15));
    assert_eq!(minutes(Priority::P2), (15, 60));
    assert_eq!(minutes(Priority::P3), (240, 1440));
    assert_eq!(minutes(Priority::P4), (1440, 4320));
}

#[test]
fn errors_name_the_rule_and_the_condition() {
    let text = PriorityRules::BUILT_IN.replacen("new_device = true", "new_devise = true", 1);
    let error = PriorityRules::parse("priority.toml", &text).unwrap_err();
    assert!(
        error.starts_with("priority.toml: rules[0] (`new_device`): when.new_devise: unknown condition"),
        "{error}"
    );
}

#[test]
fn a_condition_for_the_other_kind_is_rejected() {
    let text = PriorityRules::BUILT_IN.replacen("when = { new_device = true }", "when = { new_destination = true }", 1);
    let error = PriorityRules::parse("p.toml", &text).unwrap_err();
    assert!(
        error.contains("reads a large_withdrawal signal but the rule is for suspicious_login"),
        "{error}"
    );
}

#[test]
fn points_adding_up_past_the_largest_score_make_the_largest_score() {
    let text = PriorityRules::BUILT_IN.replace("points = 15\n", "points = 4294967295\n");
    let rules = PriorityRules::parse("p.toml", &text).unwrap();
    let login = alert(
        "l",
        "suspicious_login",
        "2026-11-23T04:00:00Z",
        json!({"new_device": true, "new_country": true}),
        None,
    );
    let assessment = rules.assess(&[login]);
    assert_eq!((assessment.score, assessment.priority), (u32::MAX, Priority::P1));
}

#[test]
fn thresholds_must_be_ordered() {
    let text = PriorityRules::BUILT_IN.replacen("P2 = 50", "P2 = 90", 1);
    assert!(
        PriorityRules::parse("p.toml", &text)
            .unwrap_err()
            .contains("P1 > P2 > P3")
    );
}
