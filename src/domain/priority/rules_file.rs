//! The rules file as written (`priority.toml`), and its validation into
//! [`PriorityRules`]: every mistake is refused with the rule and the
//! condition named.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::campaigns::{CampaignRules, CampaignsSpec};
use super::{Condition, Correlation, Flag, Measure, Priority, PriorityRules, Rule, Sla};
use crate::domain::alert::AlertKind;
use crate::domain::time::parse_duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RulesFile {
    priorities: BTreeMap<String, u32>,
    sla: BTreeMap<String, SlaSpec>,
    rules: Vec<RuleSpec>,
    campaigns: Option<CampaignsSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlaSpec {
    acknowledge: String,
    contain: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    description: String,
    points: u32,
    kind: Option<String>,
    #[serde(default)]
    when: toml::Table,
    after: Option<AfterSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AfterSpec {
    kind: String,
    within: String,
    #[serde(default)]
    when: toml::Table,
}

impl RulesFile {
    /// Validates the file; `text` is what it was read from, so that a
    /// mistake in `[campaigns]` is named by its line.
    pub(super) fn validate(self, text: &str) -> Result<PriorityRules, String> {
        let thresholds = self.thresholds()?;
        let sla = self.sla()?;
        let campaigns = match self.campaigns {
            Some(spec) => spec.validate(text)?,
            None => CampaignRules::default(),
        };
        let mut rules = Vec::with_capacity(self.rules.len());
        for (index, spec) in self.rules.into_iter().enumerate() {
            let context = format!("rules[{index}] (`{}`)", spec.id);
            if rules.iter().any(|rule: &Rule| rule.id == spec.id) {
                return Err(format!("{context}: the id is used by an earlier rule"));
            }
            rules.push(spec.validate().map_err(|e| format!("{context}: {e}"))?);
        }
        if rules.is_empty() {
            return Err("there are no [[rules]]".into());
        }
        Ok(PriorityRules {
            thresholds,
            sla,
            rules,
            campaigns,
        })
    }

    fn thresholds(&self) -> Result<[(Priority, u32); 3], String> {
        for name in self.priorities.keys() {
            if !["P1", "P2", "P3"].contains(&name.as_str()) {
                return Err(format!(
                    "[priorities]: unknown key `{name}` (expected P1, P2 and P3; P4 is everything below P3)"
                ));
            }
        }
        let minimum = |p: Priority| {
            self.priorities
                .get(p.as_str())
                .copied()
                .ok_or_else(|| format!("[priorities]: `{p}` is missing"))
        };
        let thresholds = [
            (Priority::P1, minimum(Priority::P1)?),
            (Priority::P2, minimum(Priority::P2)?),
            (Priority::P3, minimum(Priority::P3)?),
        ];
        if !(thresholds[0].1 > thresholds[1].1 && thresholds[1].1 > thresholds[2].1 && thresholds[2].1 > 0) {
            return Err("[priorities]: the minimum scores must satisfy P1 > P2 > P3 > 0".into());
        }
        Ok(thresholds)
    }

    fn sla(&self) -> Result<BTreeMap<Priority, Sla>, String> {
        let mut sla = BTreeMap::new();
        for (name, spec) in &self.sla {
            let priority = Priority::parse(name).ok_or_else(|| format!("[sla.{name}]: unknown priority"))?;
            let duration =
                |field: &str, text: &str| parse_duration(text).map_err(|e| format!("[sla.{name}].{field}: {e}"));
            let acknowledge = duration("acknowledge", &spec.acknowledge)?;
            let contain = duration("contain", &spec.contain)?;
            if contain < acknowledge {
                return Err(format!(
                    "[sla.{name}]: `contain` must not be shorter than `acknowledge`"
                ));
            }
            sla.insert(priority, Sla { acknowledge, contain });
        }
        for priority in Priority::ALL {
            if !sla.contains_key(&priority) {
                return Err(format!("[sla.{priority}] is missing"));
            }
        }
        Ok(sla)
    }
}

impl RuleSpec {
    fn validate(self) -> Result<Rule, String> {
        if self.id.trim().is_empty() || self.description.trim().is_empty() {
            return Err("`id` and `description` must not be empty".into());
        }
        let kind = self.kind.as_deref().map(parse_kind).transpose()?;
        let when = parse_conditions("when", &self.when)?;
        if when.is_empty() && self.after.is_none() {
            return Err("a rule needs at least one condition in `when` or an `after`".into());
        }
        for condition in &when {
            match (condition.kind(), kind) {
                (Some(needed), Some(kind)) if needed != kind => {
                    return Err(format!(
                        "a `when` condition reads a {needed} signal but the rule is for {kind} alerts"
                    ));
                }
                (Some(needed), None) => {
                    return Err(format!(
                        "a `when` condition reads a {needed} signal: set `kind = \"{needed}\"`"
                    ));
                }
                _ => {}
            }
        }
        let after = self.after.map(AfterSpec::validate).transpose()?;
        Ok(Rule {
            id: self.id,
            description: self.description,
            points: self.points,
            kind,
            when,
            after,
        })
    }
}

impl AfterSpec {
    fn validate(self) -> Result<Correlation, String> {
        let kind = parse_kind(&self.kind).map_err(|e| format!("after.{e}"))?;
        let within = parse_duration(&self.within).map_err(|e| format!("after.within: {e}"))?;
        let when = parse_conditions("after.when", &self.when)?;
        if let Some(condition) = when.iter().find(|c| c.kind().is_some_and(|k| k != kind)) {
            return Err(format!(
                "an `after.when` condition does not apply to {kind} alerts: {condition:?}"
            ));
        }
        Ok(Correlation { kind, within, when })
    }
}

fn parse_kind(text: &str) -> Result<AlertKind, String> {
    AlertKind::parse(text)
        .ok_or_else(|| format!("kind: unknown alert kind `{text}` (expected suspicious_login or large_withdrawal)"))
}

fn parse_conditions(section: &str, table: &toml::Table) -> Result<Vec<Condition>, String> {
    table
        .iter()
        .map(|(key, value)| parse_condition(key, value).map_err(|e| format!("{section}.{key}: {e}")))
        .collect()
}

fn parse_condition(key: &str, value: &toml::Value) -> Result<Condition, String> {
    if let Some((flag, _)) = Flag::ALL.iter().find(|(_, name)| *name == key) {
        return value
            .as_bool()
            .map(|expected| Condition::Flag(*flag, expected))
            .ok_or_else(|| "must be true or false".to_owned());
    }
    let number = || match value {
        toml::Value::Integer(n) => Ok(*n as f64),
        toml::Value::Float(n) => Ok(*n),
        _ => Err("must be a number".to_owned()),
    };
    for (measure, name) in Measure::ALL {
        if key.strip_suffix("_at_least") == Some(name) {
            return number().map(|n| Condition::AtLeast(measure, n));
        }
        if key.strip_suffix("_below") == Some(name) {
            return number().map(|n| Condition::Below(measure, n));
        }
    }
    let flags: Vec<&str> = Flag::ALL.iter().map(|(_, name)| *name).collect();
    let measures: Vec<&str> = Measure::ALL.iter().map(|(_, name)| *name).collect();
    Err(format!(
        "unknown condition (flags: {}; measures, with suffix _at_least or _below: {})",
        flags.join(", "),
        measures.join(", ")
    ))
}
