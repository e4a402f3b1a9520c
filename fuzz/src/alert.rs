//! The alert body: raw bytes through `parse_json` and `Alert::parse`, as
//! `POST /v1/alerts` reads them.
//!
//! Properties: parsing is deterministic; a rejected body names at least one
//! field; an accepted alert is made only of valid parts, its stored JSON form
//! parses back to the same alert (through the validator and through serde),
//! and its holder-facing summary never depends on the IP address or device id.

use holdfast::domain::alert::{AccountId, Alert, AlertId, AlertKind, Decimal, Signals};
use holdfast::domain::time::Timestamp;
use holdfast::edge::http::parse_json;

/// The server clock the alerts are judged against.
fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").expect("a fixed instant")
}

pub fn check(data: &[u8]) {
    let Ok(body) = parse_json(data) else {
        return;
    };
    let verdict = Alert::parse(&body, now());
    assert_eq!(
        Alert::parse(&body, now()),
        verdict,
        "parsing the same body twice gave two verdicts"
    );
    match verdict {
        Ok(alert) => check_accepted(&alert),
        Err(errors) => {
            assert!(!errors.is_empty(), "a rejected alert names no field");
            for error in &errors {
                assert!(
                    !error.field.is_empty() && !error.message.is_empty(),
                    "a field error without a field or a message: {error:?}"
                );
            }
        }
    }
}

fn check_accepted(alert: &Alert) {
    assert!(
        alert.occurred_at <= now().plus(std::time::Duration::from_secs(24 * 3600)),
        "an alert more than a day ahead was accepted: {}",
        alert.occurred_at.to_rfc3339()
    );
    assert_eq!(AlertId::parse(alert.alert_id.as_str()).as_ref(), Ok(&alert.alert_id));
    assert_eq!(
        AccountId::parse(alert.account_id.as_str()).as_ref(),
        Ok(&alert.account_id)
    );
    match (&alert.signals, alert.kind) {
        (Signals::Login(_), AlertKind::SuspiciousLogin) | (Signals::Withdrawal(_), AlertKind::LargeWithdrawal) => {}
        _ => panic!("the signals do not belong to the kind: {alert:?}"),
    }
    if let Some(score) = alert.risk_score {
        assert!((0.0..=1.0).contains(&score), "risk_score {score} accepted");
    }
    if let Some(withdrawal) = alert.withdrawal() {
        for amount in withdrawal.amount.iter().chain([&withdrawal.usd_value]) {
            assert_eq!(Decimal::parse(amount.as_str()).as_ref(), Ok(amount));
            let approximate = amount.approximate();
            assert!(
                approximate.is_finite() && approximate >= 0.0,
                "{} approximates to {approximate}",
                amount.as_str()
            );
        }
    }

    // The stored form: what Holdfast writes to the database and shows.
    let stored = serde_json::to_value(alert).expect("an alert serialises");
    assert_eq!(
        Alert::parse(&stored, now()).as_ref(),
        Ok(alert),
        "the stored form does not re-parse to the same alert"
    );
    let back: Alert = serde_json::from_value(stored).expect("the stored form deserialises");
    assert_eq!(&back, alert, "the stored form does not deserialise to the same alert");
    let bytes = serde_json::to_vec(alert).expect("an alert serialises");
    let reparsed = parse_json(&bytes).ok().map(|value| Alert::parse(&value, now()));
    assert_eq!(
        reparsed,
        Some(Ok(alert.clone())),
        "the serialised bytes do not re-parse to the same alert"
    );

    let mut anonymous = alert.clone();
    if let Signals::Login(login) = &mut anonymous.signals {
        login.ip = None;
        login.device_id = None;
    }
    assert_eq!(
        alert.summary(),
        anonymous.summary(),
        "the summary shown to the holder depends on the IP address or device id"
    );
}
