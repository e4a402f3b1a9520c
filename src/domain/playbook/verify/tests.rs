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
