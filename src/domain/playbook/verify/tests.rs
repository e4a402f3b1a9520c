//! The playbook verifier's unit tests, one per problem it reports.

use super::*;
use crate::domain::playbook::*;

const UNFREEZE: &str = r#"
id = "unfreeze"
version = 2
title = "Give the account back"
kind = "unfreeze"
applies_to = ["suspicious_login", "large_withdrawal"]

[[steps]]
name = "holder-verified"
action = "identity.verify"
method = "unfreeze_flow"

[[steps]]
name = "second-agent"
action = "approval.require"
for_priorities = ["P1", "P2"]

[[steps]]
name = "lift"
action = "hold.lift"
scopes = ["login", "withdrawal"]
mfa = true

[[steps]]
name = "cool-off"
action = "hold.place"
scopes = ["withdrawal"]
reason = "Cool-off after unfreeze"
cool_off = "24h"
"#;

#[test]
fn a_well_formed_unfreeze_playbook_verifies() {
    let playbook = verify("unfreeze", UNFREEZE).unwrap();
    assert_eq!(playbook.version, 2);
    assert_eq!(playbook.steps.len(), 4);
    assert_eq!(
        playbook.steps[3].action,
        Action::PlaceHold {
            scopes: vec![HoldScope::Withdrawal],
            reason: "Cool-off after unfreeze".into(),
            cool_off_seconds: Some(86_400)
        }
    );
}

#[test]
fn a_lift_without_identity_verification_and_approval_is_refused() {
    let text = UNFREEZE
        .replace(
            "action = \"identity.verify\"\nmethod = \"unfreeze_flow\"",
            "action = \"exchange.revoke_sessions\"",
        )
        .replace(
            "action = \"approval.require\"\nfor_priorities = [\"P1\", \"P2\"]",
            "action = \"exchange.revoke_api_keys\"",
        );
    let problems = verify("unfreeze", &text).unwrap_err();
    assert_eq!(
        problems,
        [
            "step 3 (`lift`): hold.lift must come after an identity.verify step",
            "step 3 (`lift`): hold.lift must come after an approval.require step",
        ]
    );
}

#[test]
fn a_sensitive_step_without_mfa_is_refused() {
    let problems = verify("unfreeze", &UNFREEZE.replace("mfa = true", "")).unwrap_err();
    assert_eq!(
        problems,
        ["step 3 (`lift`): hold.lift is sensitive and must be marked `mfa = true`"]
    );
}

#[test]
fn only_containment_may_be_automatic() {
    let problems = verify(
        "unfreeze",
        &UNFREEZE.replace("mfa = true", "mfa = true\nautomatic = true"),
    )
    .unwrap_err();
    assert!(
        problems.contains(&"step 3 (`lift`): only containment actions may be automatic, not hold.lift".to_owned()),
        "{problems:?}"
    );
}

#[test]
fn unknown_actions_missing_parameters_and_typos_are_named_by_step() {
    let text = UNFREEZE
        .replace("action = \"hold.lift\"", "action = \"hold.unlift\"")
        .replace("reason = \"Cool-off after unfreeze\"", "reasn = \"x\"");
    let problems = verify("unfreeze", &text).unwrap_err();
    assert!(
        problems[0].starts_with("step 3: unknown action `hold.unlift`"),
        "{problems:?}"
    );
    assert!(
        problems.contains(&"step 4: `reason` is missing".to_owned()),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("step 4: unknown key `reasn`")),
        "{problems:?}"
    );
}

#[test]
fn the_id_must_match_the_file_name() {
    let problems = verify("other", UNFREEZE).unwrap_err();
    assert_eq!(
        problems,
        ["`id` is `unfreeze` but the file is named `other`: they must match"]
    );
}

#[test]
fn invalid_toml_is_reported_as_such() {
    assert!(verify("x", "id = ").unwrap_err()[0].starts_with("not valid TOML"));
}

#[test]
fn the_stored_form_of_a_step_round_trips() {
    let playbook = verify("unfreeze", UNFREEZE).unwrap();
    for step in &playbook.steps {
        let json = serde_json::to_string(step).unwrap();
        assert_eq!(&serde_json::from_str::<Step>(&json).unwrap(), step);
    }
}

/// A containment playbook whose two requests wait for what the arguments say.
fn contain(sign_out_after: &str, revoke_after: &str) -> String {
    format!(
        r#"
id = "contain"
version = 1
title = "Contain"
kind = "containment"
applies_to = ["suspicious_login"]

[[steps]]
name = "freeze"
action = "hold.place"
scopes = ["login", "withdrawal"]
reason = "Suspected takeover"
automatic = true

[[steps]]
name = "sign-out"
action = "exchange.revoke_sessions"
automatic = true
after = {sign_out_after}

[[steps]]
name = "revoke-keys"
action = "exchange.revoke_api_keys"
automatic = true
after = {revoke_after}
"#
    )
}

#[test]
fn exchange_requests_that_name_the_freeze_they_wait_for_verify_and_wait_for_it_alone() {
    let playbook = verify("contain", &contain(r#"["freeze"]"#, r#"["freeze"]"#)).unwrap();
    assert_eq!(playbook.steps[2].after, Some(vec!["freeze".to_owned()]));
    assert_eq!(waits_for(&playbook.steps, 2).collect::<Vec<_>>(), [0]);
    assert_eq!(waits_for(&playbook.steps, 1).collect::<Vec<_>>(), [0]);
    let stored = serde_json::to_string(&playbook.steps[2]).unwrap();
    assert_eq!(serde_json::from_str::<Step>(&stored).unwrap(), playbook.steps[2]);
}

#[test]
fn a_step_that_does_not_say_waits_for_every_step_before_it() {
    let playbook = verify("unfreeze", UNFREEZE).unwrap();
    assert_eq!(waits_for(&playbook.steps, 3).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(waits_for(&playbook.steps, 0).count(), 0);
    let stored = serde_json::to_string(&playbook.steps[3]).unwrap();
    assert!(!stored.contains("\"after\""), "{stored}");
}

#[test]
fn after_must_name_a_step_written_before() {
    let problems = verify("contain", &contain(r#"["revoke-keys"]"#, r#"["sign-out", "later"]"#)).unwrap_err();
    assert!(
        problems.contains(
            &"step 2 (`sign-out`): `after` names `revoke-keys`, which is not a step before this one".to_owned()
        ),
        "{problems:?}"
    );
    assert!(
        problems
            .contains(&"step 3 (`revoke-keys`): `after` names `later`, which is not a step before this one".to_owned()),
        "{problems:?}"
    );
}

#[test]
fn a_request_may_not_run_ahead_of_the_freeze_before_it() {
    let problems = verify("contain", &contain("[]", r#"["freeze"]"#)).unwrap_err();
    assert_eq!(
        problems,
        [
            "step 2 (`sign-out`): must wait for step 1 (`freeze`, hold.place), directly or through the steps named in `after`"
        ]
    );
    // Waiting for a step that waits for the freeze is enough.
    verify("contain", &contain(r#"["freeze"]"#, r#"["sign-out"]"#)).unwrap();
}

#[test]
fn holds_gates_and_steps_needing_mfa_cannot_name_what_they_wait_for() {
    let text = UNFREEZE.replace("mfa = true", "mfa = true\nafter = [\"holder-verified\"]");
    let problems = verify("unfreeze", &text).unwrap_err();
    assert_eq!(
        problems,
        [
            "step 3 (`lift`): only requests to the exchange without `mfa` may say what they wait for (`after`); \
          a hold.lift step waits for every step before it"
        ]
    );
}
