//! The incident's unit tests: transitions, deadlines and response times.

use super::*;
use IncidentStatus::*;
use std::time::Duration;

fn account() -> AccountId {
    AccountId::parse("a").unwrap()
}

#[test]
fn the_documented_path_is_allowed() {
    assert_eq!(Open.apply(Transition::Acknowledge), Ok(Acknowledged));
    assert_eq!(Acknowledged.apply(Transition::Contain), Ok(Contained));
    assert_eq!(Contained.apply(Transition::StartRecovery), Ok(Recovering));
    assert_eq!(Recovering.apply(Transition::Resolve), Ok(Resolved));
    assert_eq!(Open.apply(Transition::Dismiss), Ok(Dismissed));
    assert_eq!(Acknowledged.apply(Transition::Dismiss), Ok(Dismissed));
}

#[test]
fn closed_and_contained_incidents_cannot_be_dismissed() {
    for from in [Contained, Recovering, Resolved, Dismissed] {
        assert_eq!(
            from.apply(Transition::Dismiss),
            Err(IllegalTransition {
                from,
                transition: Transition::Dismiss
            })
        );
    }
}

#[test]
fn an_open_incident_cannot_be_resolved_before_it_is_contained() {
    assert!(Open.apply(Transition::Resolve).is_err());
    assert!(Acknowledged.apply(Transition::Resolve).is_err());
}

#[test]
fn acknowledging_twice_is_illegal() {
    let error = Acknowledged.apply(Transition::Acknowledge).unwrap_err();
    assert_eq!(error.to_string(), "cannot acknowledge an incident that is acknowledged");
}

#[test]
fn priority_only_rises() {
    assert_eq!(raised_priority(Priority::P3, Priority::P1), Priority::P1);
    assert_eq!(raised_priority(Priority::P1, Priority::P4), Priority::P1);
}

#[test]
fn a_rise_tightens_deadlines_but_never_relaxes_them() {
    let t0 = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
    let p3 = Sla {
        acknowledge: Duration::from_secs(4 * 3600),
        contain: Duration::from_secs(24 * 3600),
    };
    let p1 = Sla {
        acknowledge: Duration::from_secs(300),
        contain: Duration::from_secs(900),
    };
    let start = Deadlines::starting(t0, p3);
    let later = t0.plus(Duration::from_secs(60));
    let raised = start.tightened(later, p1);
    assert_eq!(raised.acknowledge_by, later.plus(Duration::from_secs(300)));
    assert_eq!(
        Deadlines::starting(t0, p1).tightened(later, p3),
        Deadlines::starting(t0, p1)
    );
}

#[test]
fn only_unacknowledged_incidents_breach_the_acknowledge_deadline_and_only_once() {
    let t0 = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
    let sla = Sla {
        acknowledge: Duration::from_secs(300),
        contain: Duration::from_secs(900),
    };
    let assessment = crate::domain::priority::Assessment {
        priority: Priority::P2,
        score: 60,
        reasons: vec![],
    };
    let mut incident = Incident::open(IncidentId::from_string("i".into()), account(), assessment, sla, t0);
    assert!(incident.record_breaches(t0).is_empty());
    let after_ack = t0.plus(Duration::from_secs(301));
    assert_eq!(incident.record_breaches(after_ack), [Breach::Acknowledge]);
    assert!(incident.record_breaches(after_ack).is_empty());
    assert!(incident.sla_breached());

    let mut acknowledged = Incident::open(
        IncidentId::from_string("j".into()),
        account(),
        incident_assessment(),
        sla,
        t0,
    );
    acknowledged.apply(Transition::Acknowledge, t0).unwrap();
    assert!(acknowledged.record_breaches(after_ack).is_empty());
    let after_contain = t0.plus(Duration::from_secs(901));
    assert_eq!(acknowledged.record_breaches(after_contain), [Breach::Contain]);
    acknowledged.apply(Transition::Contain, after_contain).unwrap();
    assert!(
        acknowledged
            .record_breaches(t0.plus(Duration::from_secs(10_000)))
            .is_empty()
    );
}

fn incident_assessment() -> crate::domain::priority::Assessment {
    crate::domain::priority::Assessment {
        priority: Priority::P2,
        score: 60,
        reasons: vec![],
    }
}
