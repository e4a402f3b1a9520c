//! The static verifier every playbook passes before it may run: known
//! actions and parameters (no unknown keys), every `hold.lift` preceded by
//! identity verification and an approval, sensitive steps marked `mfa`,
//! automatic steps limited to containment, and what each step waits for
//! (`after`, in [`waits`]). Every problem is reported as `step N: what is
//! wrong`, all at once.

use std::collections::HashSet;
use std::time::Duration;

use super::{Action, ExchangeAction, IdentityMethod, Playbook, PlaybookKind, Step};
use crate::domain::agent::Role;
use crate::domain::alert::AlertKind;
use crate::domain::hold::HoldScope;
use crate::domain::priority::Priority;
use crate::domain::time::parse_duration;

/// Parses and verifies a playbook file's text. `Err` lists every problem.
pub fn verify(file_stem: &str, text: &str) -> Result<Playbook, Vec<String>> {
    let table: toml::Table = toml::from_str(text).map_err(|e| vec![format!("not valid TOML: {}", e.message())])?;
    let mut problems = Vec::new();
    let mut top = Reader {
        table: &table,
        context: String::new(),
        problems: &mut problems,
    };
    let id = top.string("id");
    let version = top.integer("version");
    let title = top.string("title");
    let description = top.optional_string("description");
    let kind = top
        .string("kind")
        .and_then(|text| top.parsed("kind", PlaybookKind::parse(&text), "containment, recovery or unfreeze"));
    let applies_to = top.strings("applies_to").map(|kinds| {
        kinds
            .iter()
            .filter_map(|text| {
                top.parsed(
                    "applies_to",
                    AlertKind::parse(text),
                    "suspicious_login or large_withdrawal",
                )
            })
            .collect::<Vec<_>>()
    });
    top.unknown_keys(&["id", "version", "title", "description", "kind", "applies_to", "steps"]);

    if let Some(id) = &id {
        let valid = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            problems.push("`id` must be 1 to 64 characters of a-z, 0-9 and '-'".into());
        } else if id != file_stem {
            problems.push(format!(
                "`id` is `{id}` but the file is named `{file_stem}`: they must match"
            ));
        }
    }
    let version = version.and_then(|v| match u32::try_from(v) {
        Ok(v) if v >= 1 => Some(v),
        _ => {
            problems.push("`version` must be a whole number of at least 1".into());
            None
        }
    });
    if title.as_deref().is_some_and(|t| t.trim().is_empty()) {
        problems.push("`title` must not be empty".into());
    }
    if applies_to.as_ref().is_some_and(Vec::is_empty) {
        problems.push("`applies_to` must name at least one alert kind".into());
    }

    let steps = read_steps(&table, &mut problems);
    if let (Some(kind), Some(steps)) = (kind, &steps) {
        check_order_and_flags(kind, steps, &mut problems);
        waits::check(steps, &mut problems);
    }

    match (id, version, title, kind, applies_to, steps) {
        (Some(id), Some(version), Some(title), Some(kind), Some(applies_to), Some(steps)) if problems.is_empty() => {
            Ok(Playbook {
                id,
                version,
                title,
                description,
                kind,
                applies_to,
                steps,
            })
        }
        _ => Err(problems),
    }
}

fn read_steps(table: &toml::Table, problems: &mut Vec<String>) -> Option<Vec<Step>> {
    let Some(value) = table.get("steps") else {
        problems.push("`steps` is missing: add at least one [[steps]]".into());
        return None;
    };
    let Some(array) = value.as_array().filter(|a| !a.is_empty()) else {
        problems.push("`steps` must be a non-empty list of [[steps]] tables".into());
        return None;
    };
    let mut steps = Vec::new();
    let mut names = HashSet::new();
    for (index, value) in array.iter().enumerate() {
        let context = format!("step {}: ", index + 1);
        let Some(table) = value.as_table() else {
            problems.push(format!("{context}must be a table"));
            continue;
        };
        let mut reader = Reader {
            table,
            context: context.clone(),
            problems,
        };
        if let Some(step) = read_step(&mut reader)
            && names.insert(step.name.clone())
        {
            steps.push(step);
        } else if let Some(name) = table.get("name").and_then(toml::Value::as_str)
            && !names.insert(name.to_owned())
            && problems.iter().all(|p| !p.starts_with(&context))
        {
            problems.push(format!("{context}the name `{name}` is used by an earlier step"));
        }
    }
    (steps.len() == array.len()).then_some(steps)
}

fn read_step(reader: &mut Reader<'_>) -> Option<Step> {
    let name = reader.string("name");
    let automatic = reader.optional_bool("automatic").unwrap_or(false);
    let mfa = reader.optional_bool("mfa").unwrap_or(false);
    let after = reader.optional_strings("after");
    let action_name = reader.string("action")?;
    let (action, keys): (Option<Action>, &[&str]) = match action_name.as_str() {
        "hold.place" => {
            let scopes = reader.scopes("scopes");
            let reason = reader.string("reason");
            let cool_off = reader
                .optional_string("cool_off")
                .and_then(|text| match parse_duration(&text) {
                    Ok(duration) if duration > Duration::ZERO => Some(duration.as_secs()),
                    Ok(_) => reader.problem("`cool_off` must be longer than zero"),
                    Err(e) => reader.problem(&format!("`cool_off`: {e}")),
                });
            let action = match (scopes, reason) {
                (Some(scopes), Some(reason)) => Some(Action::PlaceHold {
                    scopes,
                    reason,
                    cool_off_seconds: cool_off,
                }),
                _ => None,
            };
            (action, &["scopes", "reason", "cool_off"])
        }
        "hold.lift" => (
            reader.scopes("scopes").map(|scopes| Action::LiftHold { scopes }),
            &["scopes"],
        ),
        "identity.verify" => {
            let method = reader.string("method").and_then(|text| match text.as_str() {
                "unfreeze_flow" => Some(IdentityMethod::UnfreezeFlow),
                _ => reader.problem("`method` must be `unfreeze_flow`"),
            });
            (method.map(|method| Action::VerifyIdentity { method }), &["method"])
        }
        "approval.require" => {
            let approvals = match reader.optional_integer("approvals") {
                None => Some(1),
                Some(n) if (1..=5).contains(&n) => Some(n as u32),
                Some(_) => reader.problem("`approvals` must be from 1 to 5"),
            };
            let role = match reader.optional_string("role") {
                None => Some(Role::Lead),
                Some(text) if text == "lead" => Some(Role::Lead),
                Some(_) => reader.problem("`role` must be `lead`: only leads approve"),
            };
            let for_priorities = match reader.optional_strings("for_priorities") {
                None => Some(Priority::ALL.to_vec()),
                Some(texts) => {
                    let parsed: Vec<Priority> = texts.iter().filter_map(|t| Priority::parse(t)).collect();
                    if parsed.len() == texts.len() && !parsed.is_empty() {
                        Some(parsed)
                    } else {
                        reader.problem("`for_priorities` must list priorities among P1, P2, P3, P4")
                    }
                }
            };
            let action = match (approvals, role, for_priorities) {
                (Some(approvals), Some(role), Some(for_priorities)) => Some(Action::RequireApproval {
                    approvals,
                    role,
                    for_priorities,
                }),
                _ => None,
            };
            (action, &["approvals", "role", "for_priorities"])
        }
        other => match other
            .strip_prefix("exchange.")
            .and_then(|name| ExchangeAction::ALL.into_iter().find(|a| a.as_str() == name))
        {
            Some(request) => (Some(Action::Exchange { request }), &[]),
            None => {
                let known = ["hold.place", "hold.lift", "identity.verify", "approval.require"]
                    .into_iter()
                    .map(str::to_owned)
                    .chain(ExchangeAction::ALL.iter().map(|a| format!("exchange.{}", a.as_str())))
                    .collect::<Vec<_>>()
                    .join(", ");
                reader.problem::<()>(&format!("unknown action `{other}` (known: {known})"));
                return None;
            }
        },
    };
    let mut allowed = vec!["name", "action", "automatic", "mfa", "after"];
    allowed.extend_from_slice(keys);
    reader.unknown_keys(&allowed);
    Some(Step {
        name: name?,
        action: action?,
        automatic,
        mfa,
        after,
    })
}

fn check_order_and_flags(kind: PlaybookKind, steps: &[Step], problems: &mut Vec<String>) {
    let mut identity_seen = false;
    let mut approval_seen = false;
    for (index, step) in steps.iter().enumerate() {
        let context = format!("step {} (`{}`)", index + 1, step.name);
        match &step.action {
            Action::VerifyIdentity { .. } => identity_seen = true,
            Action::RequireApproval { .. } => approval_seen = true,
            Action::LiftHold { .. } => {
                if !identity_seen {
                    problems.push(format!("{context}: hold.lift must come after an identity.verify step"));
                }
                if !approval_seen {
                    problems.push(format!("{context}: hold.lift must come after an approval.require step"));
                }
                if kind == PlaybookKind::Containment {
                    problems.push(format!("{context}: a containment playbook must not lift holds"));
                }
            }
            _ => {}
        }
        if step.action.is_sensitive() && !step.mfa {
            problems.push(format!(
                "{context}: {} is sensitive and must be marked `mfa = true`",
                step.action.name()
            ));
        }
        if step.automatic && !step.action.is_containment() {
            problems.push(format!(
                "{context}: only containment actions may be automatic, not {}",
                step.action.name()
            ));
        }
        if step.automatic && step.mfa {
            problems.push(format!(
                "{context}: an automatic step runs with no agent, so it cannot need MFA"
            ));
        }
        if step.automatic && kind != PlaybookKind::Containment {
            problems.push(format!(
                "{context}: only containment playbooks may have automatic steps"
            ));
        }
    }
    if kind == PlaybookKind::Containment && !steps.iter().any(|s| matches!(s.action, Action::PlaceHold { .. })) {
        problems.push("a containment playbook must place at least one hold".into());
    }
}

/// Reads typed values from a TOML table, recording precise problems.
struct Reader<'a> {
    table: &'a toml::Table,
    context: String,
    problems: &'a mut Vec<String>,
}

impl Reader<'_> {
    fn problem<T>(&mut self, message: &str) -> Option<T> {
        self.problems.push(format!("{}{message}", self.context));
        None
    }

    fn string(&mut self, key: &str) -> Option<String> {
        match self.table.get(key) {
            None => self.problem(&format!("`{key}` is missing")),
            Some(toml::Value::String(text)) => Some(text.clone()),
            Some(_) => self.problem(&format!("`{key}` must be a string")),
        }
    }

    fn optional_string(&mut self, key: &str) -> Option<String> {
        match self.table.get(key) {
            None => None,
            Some(toml::Value::String(text)) => Some(text.clone()),
            Some(_) => self.problem(&format!("`{key}` must be a string")),
        }
    }

    fn integer(&mut self, key: &str) -> Option<i64> {
        match self.table.get(key) {
            None => self.problem(&format!("`{key}` is missing")),
            Some(toml::Value::Integer(n)) => Some(*n),
            Some(_) => self.problem(&format!("`{key}` must be a whole number")),
        }
    }

    fn optional_integer(&mut self, key: &str) -> Option<i64> {
        self.table.contains_key(key).then(|| self.integer(key)).flatten()
    }

    fn optional_bool(&mut self, key: &str) -> Option<bool> {
        match self.table.get(key) {
            None => None,
            Some(toml::Value::Boolean(flag)) => Some(*flag),
            Some(_) => self.problem(&format!("`{key}` must be true or false")),
        }
    }

    fn strings(&mut self, key: &str) -> Option<Vec<String>> {
        match self.table.get(key) {
            None => self.problem(&format!("`{key}` is missing")),
            Some(value) => match value
                .as_array()
                .and_then(|items| items.iter().map(|i| i.as_str().map(str::to_owned)).collect())
            {
                Some(items) => Some(items),
                None => self.problem(&format!("`{key}` must be a list of strings")),
            },
        }
    }

    fn optional_strings(&mut self, key: &str) -> Option<Vec<String>> {
        self.table.contains_key(key).then(|| self.strings(key)).flatten()
    }

    fn scopes(&mut self, key: &str) -> Option<Vec<HoldScope>> {
        let texts = self.strings(key)?;
        let scopes: Vec<HoldScope> = texts.iter().filter_map(|t| HoldScope::parse(t)).collect();
        if scopes.len() != texts.len() || scopes.is_empty() {
            return self.problem(&format!(
                "`{key}` must list hold scopes among login, withdrawal, trading, api"
            ));
        }
        Some(scopes)
    }

    fn parsed<T>(&mut self, key: &str, value: Option<T>, expected: &str) -> Option<T> {
        value.or_else(|| self.problem(&format!("`{key}` must be {expected}")))
    }

    fn unknown_keys(&mut self, known: &[&str]) {
        let unknown: Vec<String> = self
            .table
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            self.problem::<()>(&format!("unknown key `{key}` (allowed here: {})", known.join(", ")));
        }
    }
}

mod waits;

#[cfg(test)]
mod tests;
