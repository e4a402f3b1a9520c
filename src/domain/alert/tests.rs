//! The alert parser's unit tests: every field missing or wrong is named.

use super::*;
use serde_json::json;

fn login_alert() -> Value {
    json!({
        "alert_id": "re-000123",
        "kind": "suspicious_login",
        "account_id": "acct-8842",
        "occurred_at": "2026-11-23T04:00:00Z",
        "risk_score": 0.82,
        "login": {"ip": "203.0.113.9", "country": "BR", "new_device": true, "failed_mfa_attempts": 3}
    })
}

/// The server clock the tests parse at: shortly after the alerts they send.
fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-23T04:00:05Z").unwrap()
}

fn fields_of(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn a_complete_login_alert_parses_with_flags_defaulting_to_false() {
    let alert = Alert::parse(&login_alert(), now()).unwrap();
    let login = alert.login().unwrap();
    assert!(login.new_device);
    assert!(!login.impossible_travel);
    assert_eq!(login.failed_mfa_attempts, 3);
    assert_eq!(alert.risk_score, Some(0.82));
}

#[test]
fn every_bad_field_is_named_at_once() {
    let body = json!({
        "alert_id": "",
        "kind": "suspicious_login",
        "occurred_at": "yesterday",
        "risk_score": 1.5,
        "login": {"new_device": "yes", "failed_mfa_attempts": -1}
    });
    let errors = Alert::parse(&body, now()).unwrap_err();
    assert_eq!(
        fields_of(&errors),
        [
            "alert_id",
            "account_id",
            "occurred_at",
            "risk_score",
            "login.new_device",
            "login.failed_mfa_attempts"
        ]
    );
}

#[test]
fn an_unknown_kind_is_rejected() {
    let mut body = login_alert();
    body["kind"] = json!("password_spray");
    assert_eq!(fields_of(&Alert::parse(&body, now()).unwrap_err()), ["kind"]);
}

#[test]
fn the_section_for_the_kind_is_required() {
    let mut body = login_alert();
    body["kind"] = json!("large_withdrawal");
    assert_eq!(fields_of(&Alert::parse(&body, now()).unwrap_err()), ["withdrawal"]);
}

#[test]
fn amounts_must_be_decimal_strings() {
    let mut body = login_alert();
    body["kind"] = json!("large_withdrawal");
    body["withdrawal"] = json!({"usd_value": 98000, "amount": "1.5e3"});
    assert_eq!(
        fields_of(&Alert::parse(&body, now()).unwrap_err()),
        ["withdrawal.amount", "withdrawal.usd_value"]
    );
}

#[test]
fn an_alert_dated_more_than_a_day_after_the_server_clock_is_rejected() {
    let mut body = login_alert();
    body["occurred_at"] = json!("2026-11-24T04:00:05Z");
    assert!(Alert::parse(&body, now()).is_ok(), "exactly 24 h ahead is accepted");

    body["occurred_at"] = json!("2026-11-24T04:00:06Z");
    let errors = Alert::parse(&body, now()).unwrap_err();
    assert_eq!(fields_of(&errors), ["occurred_at"]);
    assert!(errors[0].message.contains("24 hours"), "{}", errors[0].message);

    body["occurred_at"] = json!("2016-11-23T04:00:00Z");
    assert!(Alert::parse(&body, now()).is_ok(), "old alerts are accepted");
}

#[test]
fn decimals_accept_plain_amounts_only() {
    assert!(Decimal::parse("98000.00").is_ok());
    assert!(Decimal::parse("1").is_ok());
    for bad in ["", "-1", "1.", ".5", "1,000", "1e5", "abc"] {
        assert!(Decimal::parse(bad).is_err(), "{bad} should be rejected");
    }
}

#[test]
fn the_stored_form_round_trips() {
    let alert = Alert::parse(&login_alert(), now()).unwrap();
    let stored = serde_json::to_value(&alert).unwrap();
    assert!(stored.get("login").is_some());
    let back: Alert = serde_json::from_value(stored).unwrap();
    assert_eq!(back, alert);
}

#[test]
fn a_risk_score_reads_back_from_its_stored_text_unchanged() {
    let mut body = login_alert();
    // 0.23333333333333334 is stored; serde_json's default float parser
    // reads that text back as 0.23333333333333336.
    body["risk_score"] = serde_json::from_str(&format!("0.2{}", "3".repeat(102))).unwrap();
    let alert = Alert::parse(&body, now()).unwrap();
    let stored = serde_json::to_string(&alert).unwrap();
    let back = Alert::parse(&serde_json::from_str(&stored).unwrap(), now()).unwrap();
    assert_eq!(back.risk_score, alert.risk_score, "stored as {stored}");
}

#[test]
fn summaries_name_the_place_and_time_but_not_the_address() {
    let alert = Alert::parse(&login_alert(), now()).unwrap();
    let summary = alert.summary();
    assert_eq!(
        summary,
        "Sign-in from a new device in Brazil (BR), 2026-11-23 04:00 UTC"
    );
    assert!(!summary.contains("203.0.113.9"));
}
