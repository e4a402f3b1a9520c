//! The run's unit tests: step transitions, gates and outcomes.

use super::*;
use std::time::Duration;

fn run(started_by: &str, approvals: &[&str]) -> Run {
    let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
    Run {
        id: "r".into(),
        incident_id: "i".into(),
        playbook: PlaybookRef {
            id: "p".into(),
            version: 1,
            digest: "d".into(),
            kind: PlaybookKind::Unfreeze,
        },
        status: RunStatus::Waiting,
        started_by: started_by.into(),
        started_by_name: started_by.into(),
        automatic_only: false,
        elevated_at: Some(at),
        created_at: at,
        updated_at: at,
        finished_at: None,
        failure: None,
        steps: vec![],
        approvals: approvals
            .iter()
            .map(|a| Approval {
                agent_id: (*a).into(),
                username: (*a).into(),
                approved_at: at,
            })
            .collect(),
    }
}

#[test]
fn the_initiators_own_approval_never_counts() {
    assert!(!run("alice", &["alice"]).approved(1, &Priority::ALL, Priority::P1));
    assert!(run("alice", &["alice", "bob"]).approved(1, &Priority::ALL, Priority::P1));
    assert!(!run("alice", &["bob"]).approved(2, &Priority::ALL, Priority::P1));
}

#[test]
fn approvals_are_not_needed_outside_their_priorities() {
    assert!(run("alice", &[]).approved(1, &[Priority::P1, Priority::P2], Priority::P3));
    assert!(!run("alice", &[]).approved(1, &[Priority::P1, Priority::P2], Priority::P2));
}

#[test]
fn mfa_stays_fresh_for_five_minutes() {
    let run = run("alice", &[]);
    let at = run.elevated_at.unwrap();
    assert!(run.mfa_is_fresh(at.plus(Duration::from_secs(299))));
    assert!(!run.mfa_is_fresh(at.plus(Duration::from_secs(300))));
}

fn two_step_run(initiator: Initiator) -> Run {
    let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
    let steps: Vec<Step> = serde_json::from_value(serde_json::json!([
        {"name": "gate", "action": "approval.require", "approvals": 1, "role": "lead",
         "for_priorities": ["P1"], "automatic": false, "mfa": false},
        {"name": "freeze", "action": "hold.place", "scopes": ["login"], "reason": "r",
         "cool_off_seconds": null, "automatic": true, "mfa": false},
    ]))
    .unwrap();
    let reference = PlaybookRef {
        id: "p".into(),
        version: 1,
        digest: "d".into(),
        kind: PlaybookKind::Containment,
    };
    Run::start("r".into(), "i".into(), reference, &steps, initiator, at)
}

fn at(seconds: u64) -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-23T04:00:00Z")
        .unwrap()
        .plus(Duration::from_secs(seconds))
}

#[test]
fn who_starts_a_run_decides_its_mfa_and_whether_only_automatic_steps_run() {
    let system = two_step_run(Initiator::System);
    assert!(system.automatic_only && system.elevated_at.is_none());
    let holder = two_step_run(Initiator::Holder);
    assert!(!holder.automatic_only && holder.elevated_at == Some(holder.created_at));
    let agent = two_step_run(Initiator::Agent {
        id: "a-1".into(),
        username: "alice".into(),
        elevated_at: at(0),
    });
    assert_eq!(
        (agent.started_by.as_str(), agent.started_by_name.as_str()),
        ("a-1", "agent:alice")
    );
    assert!(agent.steps.iter().all(|s| s.status == StepStatus::Pending));
    assert_eq!(agent.steps[1].position, 2);
}

#[test]
fn waiting_on_a_gate_is_recorded_once() {
    let mut run = two_step_run(Initiator::System);
    let first = run.wait_step(0, Gate::Approval, at(1)).unwrap();
    assert_eq!(first.action, "run.step_waiting");
    assert_eq!(first.detail["waiting_for"], "approval");
    assert_eq!(first.detail["position"], 1);
    assert_eq!(run.wait_step(0, Gate::Approval, at(2)), None);
    assert!(run.wait_step(0, Gate::Mfa, at(3)).is_some());
    assert_eq!(run.steps[0].started_at, Some(at(1)));
}

#[test]
fn an_effect_step_runs_until_verified_then_succeeds() {
    let mut run = two_step_run(Initiator::System);
    let started = run.begin_step(
        1,
        serde_json::from_value(serde_json::json!({"messages": ["k"]})).unwrap(),
        at(1),
    );
    assert_eq!(started.action, "run.step_started");
    assert_eq!(run.steps[1].status, StepStatus::Running);
    let done = run.succeed_step(
        1,
        serde_json::from_value(serde_json::json!({"confirmed": ["k"]})).unwrap(),
        at(2),
    );
    assert_eq!(done.action, "run.step_succeeded");
    assert_eq!(run.steps[1].status, StepStatus::Succeeded);
    assert_eq!(
        (run.steps[1].started_at, run.steps[1].finished_at),
        (Some(at(1)), Some(at(2)))
    );
    assert_eq!(run.outcome(), None);
    assert_eq!(run.succeed(at(3)).action, "run.succeeded");
    assert_eq!(run.outcome(), Some(RunOutcome::Succeeded));
}

#[test]
fn a_failed_step_fails_the_run_and_says_why() {
    let mut run = two_step_run(Initiator::System);
    let sent = StepOutcome {
        messages: Some(vec!["k".into()]),
        ..StepOutcome::default()
    };
    run.begin_step(1, sent, at(1));
    let [step, whole] = run.fail_step(1, "the exchange did not confirm k", at(2));
    assert_eq!(
        (step.action.as_str(), whole.action.as_str()),
        ("run.step_failed", "run.failed")
    );
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(
        run.failure.as_deref(),
        Some("step 2 (freeze): the exchange did not confirm k")
    );
    assert_eq!(run.steps[1].outcome.as_ref().unwrap().messages()[0], "k");
    assert_eq!(run.outcome(), Some(RunOutcome::Failed));
}

#[test]
fn a_skipped_step_says_why_and_counts_as_done() {
    let mut run = two_step_run(Initiator::System);
    let event = run.skip_step(0, "not automatic", at(1));
    assert_eq!(event.action, "run.step_skipped");
    assert!(run.steps[0].status.is_done());
    assert_eq!(
        run.steps[0].outcome.as_ref().unwrap().reason.as_deref(),
        Some("not automatic")
    );
}

#[test]
fn requests_that_name_the_freeze_are_ready_together_once_it_succeeded_and_not_before() {
    use crate::domain::hold::HoldScope;
    use crate::domain::playbook::{Action, ExchangeAction, Step};
    let step = |name: &str, action: Action, after: Option<&[&str]>| Step {
        name: name.into(),
        action,
        automatic: true,
        mfa: false,
        after: after.map(|names| names.iter().map(|n| (*n).to_owned()).collect()),
    };
    let freeze = Action::PlaceHold {
        scopes: vec![HoldScope::Login],
        reason: "r".into(),
        cool_off_seconds: None,
    };
    let steps = [
        step("freeze", freeze, None),
        step(
            "sign-out",
            Action::Exchange {
                request: ExchangeAction::RevokeSessions,
            },
            Some(&["freeze"]),
        ),
        step(
            "keys",
            Action::Exchange {
                request: ExchangeAction::RevokeApiKeys,
            },
            Some(&["freeze"]),
        ),
        step(
            "last",
            Action::Exchange {
                request: ExchangeAction::CancelPendingWithdrawals,
            },
            None,
        ),
    ];
    let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
    let mut run = Run::start(
        "r".into(),
        "i".into(),
        run("a", &[]).playbook,
        &steps,
        Initiator::System,
        at,
    );
    assert!(run.ready(0));
    assert!(!run.ready(1) && !run.ready(2));

    run.begin_step(0, StepOutcome::default(), at);
    assert!(!run.ready(1) && !run.ready(2), "a running freeze is not yet in effect");

    run.succeed_step(0, StepOutcome::default(), at);
    assert!(run.ready(1) && run.ready(2));
    assert!(!run.ready(3), "a step that does not say waits for every step before it");

    run.succeed_step(2, StepOutcome::default(), at);
    assert!(!run.ready(3));
    run.skip_step(1, "by hand", at);
    assert!(run.ready(3));
}
