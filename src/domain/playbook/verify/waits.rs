//! What each step waits for: the names in `after` are steps written before
//! it, only requests to the exchange name their own, and those still wait,
//! directly or through the steps they name, for every hold and every gate
//! written before them. So a playbook's steps never run ahead of a freeze
//! or of a gate that is still shut, whatever `after` says.

use super::super::{Step, waits_for};

pub(super) fn check(steps: &[Step], problems: &mut Vec<String>) {
    for (index, step) in steps.iter().enumerate() {
        let Some(names) = &step.after else { continue };
        let context = format!("step {} (`{}`)", index + 1, step.name);
        if !step.may_run_beside_others() {
            problems.push(format!(
                "{context}: only requests to the exchange without `mfa` may say what they wait for (`after`); \
                 a {} step waits for every step before it",
                step.action.name()
            ));
            continue;
        }
        let earlier = &steps[..index];
        let unknown: Vec<&String> = names
            .iter()
            .filter(|name| !earlier.iter().any(|s| &s.name == *name))
            .collect();
        for name in &unknown {
            problems.push(format!(
                "{context}: `after` names `{name}`, which is not a step before this one"
            ));
        }
        if !unknown.is_empty() {
            continue;
        }
        let reached = reached_from(steps, index);
        for (position, before) in earlier.iter().enumerate() {
            if !before.may_run_beside_others() && !reached[position] {
                problems.push(format!(
                    "{context}: must wait for step {} (`{}`, {}), directly or through the steps named in `after`",
                    position + 1,
                    before.name,
                    before.action.name()
                ));
            }
        }
    }
}

/// Which steps before `index` it waits for, directly or through others.
fn reached_from(steps: &[Step], index: usize) -> Vec<bool> {
    let mut reached = vec![false; index];
    let mut next: Vec<usize> = waits_for(steps, index).collect();
    while let Some(position) = next.pop() {
        if !std::mem::replace(&mut reached[position], true) {
            next.extend(waits_for(steps, position));
        }
    }
    reached
}
