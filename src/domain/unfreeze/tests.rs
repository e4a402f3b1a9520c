//! The unfreeze flow's unit tests: its steps, routes and wait estimates.

use super::*;

fn at(minutes: u64) -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-23T04:00:00Z")
        .unwrap()
        .plus(Duration::from_secs(minutes * 60))
}

fn flow() -> Flow {
    let mut flow = Flow::new(
        FlowId::from_string("f".into()),
        AccountId::parse("a").unwrap(),
        IncidentId::from_string("i".into()),
        at(0),
    );
    flow.issue_code(vec![1], "k", at(0)).unwrap();
    flow
}

const OPEN: AutomaticRoute = AutomaticRoute {
    playbook_allows: true,
    recent_failures: 0,
    confirmed_takeover: false,
    two_proofs: true,
};

fn answered(mine: bool) -> Vec<Answer> {
    vec![Answer {
        alert_id: "x".into(),
        mine,
    }]
}

#[test]
fn the_happy_path_reaches_unfrozen_only_once_the_run_lifted_the_freeze() {
    let mut flow = flow();
    flow.submit_code(true, at(1)).unwrap();
    flow.submit_second_factor(true, at(2)).unwrap();
    let route = flow.submit_answers(answered(true), &OPEN, at(3)).unwrap();
    assert_eq!(route, Route::Unfreeze);
    assert_eq!(flow.state, FlowState::AwaitingActivityReview);
    assert!(flow.unfreezing());
    assert!(!flow.steps()[3].1, "not unfrozen before the lift");
    assert_eq!(
        flow.submit_answers(answered(true), &OPEN, at(3)),
        Err(StepError::NotNow("being unfrozen"))
    );
    flow.mark_unfrozen("holder", &RunId::from("r"), at(4));
    assert_eq!(flow.state, FlowState::Unfrozen);
    assert!(flow.steps().iter().all(|(_, done)| *done));
}

#[test]
fn a_serious_incident_a_disowned_activity_or_a_guessed_account_goes_to_review() {
    let closed = [
        (
            AutomaticRoute {
                playbook_allows: false,
                ..OPEN
            },
            true,
        ),
        (OPEN, false),
        (
            AutomaticRoute {
                recent_failures: ACCOUNT_FAILURE_LIMIT + 1,
                ..OPEN
            },
            true,
        ),
        (
            AutomaticRoute {
                confirmed_takeover: true,
                ..OPEN
            },
            true,
        ),
        (
            AutomaticRoute {
                two_proofs: false,
                ..OPEN
            },
            true,
        ),
    ];
    for (route, mine) in closed {
        let mut flow = flow();
        flow.submit_code(true, at(1)).unwrap();
        flow.skip_second_factor(at(1)).unwrap();
        assert_eq!(
            flow.submit_answers(answered(mine), &route, at(2)),
            Ok(Route::Review),
            "{route:?} mine={mine}"
        );
        assert_eq!(flow.state, FlowState::InReview);
    }
    assert!(
        AutomaticRoute {
            recent_failures: ACCOUNT_FAILURE_LIMIT,
            ..OPEN
        }
        .is_open()
    );
}

#[test]
fn a_failed_automatic_unfreeze_goes_to_the_agents() {
    let mut flow = flow();
    flow.submit_code(true, at(1)).unwrap();
    flow.skip_second_factor(at(1)).unwrap();
    flow.submit_answers(answered(true), &OPEN, at(2)).unwrap();
    flow.reopen_for_review(at(3));
    assert_eq!(flow.state, FlowState::InReview);
    assert_eq!(flow.queued_at, Some(at(3)));
}

#[test]
fn a_locked_flow_blocks_a_new_one_for_an_hour() {
    assert!(new_flow_allowed(None, at(0)));
    assert!(!new_flow_allowed(Some(at(0)), at(59)));
    assert!(new_flow_allowed(Some(at(0)), at(60)));
}

#[test]
fn a_live_flows_link_is_sent_again_at_most_once_a_minute() {
    let mut flow = flow();
    assert!(flow.link_due(at(0)));
    flow.link_sent_at = Some(at(0));
    assert!(!flow.link_due(at(0).plus(Duration::from_secs(59))));
    assert!(flow.link_due(at(1)));
}

#[test]
fn five_wrong_codes_lock_the_flow() {
    let mut flow = flow();
    for tries_left in (1..5).rev() {
        assert_eq!(flow.submit_code(false, at(1)), Err(StepError::Wrong { tries_left }));
    }
    assert_eq!(flow.submit_code(false, at(1)), Err(StepError::Locked));
    assert_eq!(flow.state, FlowState::Locked);
    assert_eq!(flow.submit_code(true, at(1)), Err(StepError::NotNow("locked")));
}

#[test]
fn a_code_expires_after_ten_minutes_and_a_resend_replaces_it() {
    let mut flow = flow();
    assert_eq!(flow.submit_code(true, at(10)), Err(StepError::CodeExpired));
    flow.issue_code(vec![2], "k", at(10)).unwrap();
    assert_eq!(flow.code_hash, Some(vec![2]));
    flow.submit_code(true, at(11)).unwrap();
}

#[test]
fn codes_stop_after_five_sends() {
    let mut flow = flow();
    for _ in 1..MAX_CODES_SENT {
        flow.issue_code(vec![3], "k", at(1)).unwrap();
    }
    assert_eq!(flow.issue_code(vec![4], "k", at(1)), Err(StepError::TooManyCodes));
}

#[test]
fn a_live_flow_expires_after_a_day() {
    let mut flow = flow();
    assert!(!flow.expire_if_due(at(24 * 60 - 1)));
    assert!(flow.expire_if_due(at(24 * 60)));
    assert_eq!(flow.state, FlowState::Expired);
}

#[test]
fn the_wait_follows_recent_throughput() {
    let hour = Duration::from_secs(3600);
    // Six reviews decided in the last hour: ten minutes each.
    assert_eq!(estimate_wait(3, &[], 6, hour, hour), Duration::from_secs(30 * 60));
}

#[test]
fn without_throughput_the_wait_follows_the_median_handling_time() {
    let minutes = |m: u64| Duration::from_secs(m * 60);
    let recent = [minutes(5), minutes(20), minutes(400)];
    assert_eq!(estimate_wait(2, &recent, 1, minutes(60), minutes(30)), minutes(40));
    assert_eq!(estimate_wait(2, &[], 0, minutes(60), minutes(30)), minutes(60));
}

#[test]
fn the_wait_is_whole_minutes_between_one_minute_and_two_days() {
    let hour = Duration::from_secs(3600);
    assert_eq!(estimate_wait(1, &[], 1000, hour, hour), Duration::from_secs(60));
    assert_eq!(estimate_wait(500, &[], 0, hour, hour), Duration::from_secs(48 * 3600));
}
