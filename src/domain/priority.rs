//! Incident priority: weighted rules read from a file the security team can tune.
//!
//! Each alert scores the sum of the points of the rules that fire for it. A rule
//! may look back at the incident's earlier alerts (`after`), which is how a
//! suspicious login followed by a withdrawal to a new address becomes urgent
//! even though neither alert is alarming on its own. An incident's priority is
//! set by the highest-scoring alert it holds, and only ever rises.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::alert::{Alert, AlertId, AlertKind, Signals};

/// Incident priority, `P1` the most urgent. Ordered so that `P1 < P4`: the
/// smaller of two priorities is the more urgent one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(description = "Incident priority, `P1` the most urgent.")]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How fast an incident of one priority must be acknowledged and contained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sla {
    pub acknowledge: Duration,
    pub contain: Duration,
}

/// One rule that fired, as listed in an incident's `priority_reasons`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PriorityReason)]
pub struct Reason {
    pub rule: String,
    pub description: String,
    pub points: u32,
    /// The alert that made the rule fire.
    #[schema(value_type = String)]
    pub alert_id: AlertId,
}

/// The verdict for a set of alerts belonging to one incident.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    pub priority: Priority,
    pub score: u32,
    /// Every rule that fired for any of the alerts, highest points first.
    pub reasons: Vec<Reason>,
}

/// The loaded, validated rules file.
#[derive(Clone, Debug)]
pub struct PriorityRules {
    /// Minimum score for P1, P2 and P3, strictly decreasing.
    thresholds: [(Priority, u32); 3],
    sla: BTreeMap<Priority, Sla>,
    rules: Vec<Rule>,
    /// `[campaigns]`: when incidents sharing a signal form a campaign.
    campaigns: campaigns::CampaignRules,
}

#[derive(Clone, Debug)]
struct Rule {
    id: String,
    description: String,
    points: u32,
    kind: Option<AlertKind>,
    when: Vec<Condition>,
    after: Option<Correlation>,
}

/// The rule also needs an earlier alert of the same incident matching these conditions.
#[derive(Clone, Debug)]
struct Correlation {
    kind: AlertKind,
    within: Duration,
    when: Vec<Condition>,
}

#[derive(Clone, Copy, Debug)]
enum Condition {
    Flag(Flag, bool),
    AtLeast(Measure, f64),
    Below(Measure, f64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Flag {
    NewDevice,
    NewCountry,
    ImpossibleTravel,
    AnonymizingNetwork,
    CredentialChangeWithin24h,
    NewDestination,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Measure {
    FailedMfaAttempts,
    UsdValue,
    RiskScore,
}

impl Flag {
    const ALL: [(Flag, &'static str); 6] = [
        (Flag::NewDevice, "new_device"),
        (Flag::NewCountry, "new_country"),
        (Flag::ImpossibleTravel, "impossible_travel"),
        (Flag::AnonymizingNetwork, "anonymizing_network"),
        (Flag::CredentialChangeWithin24h, "credential_change_within_24h"),
        (Flag::NewDestination, "new_destination"),
    ];

    fn kind(self) -> AlertKind {
        match self {
            Flag::NewDestination => AlertKind::LargeWithdrawal,
            _ => AlertKind::SuspiciousLogin,
        }
    }

    fn read(self, alert: &Alert) -> bool {
        match (&alert.signals, self) {
            (Signals::Login(l), Flag::NewDevice) => l.new_device,
            (Signals::Login(l), Flag::NewCountry) => l.new_country,
            (Signals::Login(l), Flag::ImpossibleTravel) => l.impossible_travel,
            (Signals::Login(l), Flag::AnonymizingNetwork) => l.anonymizing_network,
            (Signals::Login(l), Flag::CredentialChangeWithin24h) => l.credential_change_within_24h,
            (Signals::Withdrawal(w), Flag::NewDestination) => w.new_destination,
            _ => false,
        }
    }
}

impl Measure {
    const ALL: [(Measure, &'static str); 3] = [
        (Measure::FailedMfaAttempts, "failed_mfa_attempts"),
        (Measure::UsdValue, "usd_value"),
        (Measure::RiskScore, "risk_score"),
    ];

    /// The alert kind carrying this measure; `None` when every alert can.
    fn kind(self) -> Option<AlertKind> {
        match self {
            Measure::FailedMfaAttempts => Some(AlertKind::SuspiciousLogin),
            Measure::UsdValue => Some(AlertKind::LargeWithdrawal),
            Measure::RiskScore => None,
        }
    }

    fn read(self, alert: &Alert) -> Option<f64> {
        match (&alert.signals, self) {
            (Signals::Login(l), Measure::FailedMfaAttempts) => Some(f64::from(l.failed_mfa_attempts)),
            (Signals::Withdrawal(w), Measure::UsdValue) => Some(w.usd_value.approximate()),
            (_, Measure::RiskScore) => alert.risk_score,
            _ => None,
        }
    }
}

impl Condition {
    fn holds(self, alert: &Alert) -> bool {
        match self {
            Condition::Flag(flag, expected) => flag.read(alert) == expected,
            Condition::AtLeast(measure, limit) => measure.read(alert).is_some_and(|v| v >= limit),
            Condition::Below(measure, limit) => measure.read(alert).is_some_and(|v| v < limit),
        }
    }

    fn kind(self) -> Option<AlertKind> {
        match self {
            Condition::Flag(flag, _) => Some(flag.kind()),
            Condition::AtLeast(measure, _) | Condition::Below(measure, _) => measure.kind(),
        }
    }
}

impl Rule {
    fn fires(&self, alert: &Alert, incident_alerts: &[Alert]) -> bool {
        self.kind.is_none_or(|kind| kind == alert.kind)
            && self.when.iter().all(|c| c.holds(alert))
            && self.after.as_ref().is_none_or(|after| {
                incident_alerts.iter().any(|earlier| {
                    earlier.alert_id != alert.alert_id
                        && earlier.kind == after.kind
                        && earlier.occurred_at <= alert.occurred_at
                        && alert.occurred_at.since(earlier.occurred_at) <= after.within
                        && after.when.iter().all(|c| c.holds(earlier))
                })
            })
    }
}

impl PriorityRules {
    /// The rules shipped with Holdfast (`priority.toml` at the repository root).
    pub const BUILT_IN: &'static str = include_str!("../../priority.toml");

    /// Parses and validates a rules file; `origin` names it in error messages.
    pub fn parse(origin: &str, text: &str) -> Result<Self, String> {
        let file: rules_file::RulesFile = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        file.validate(text).map_err(|e| format!("{origin}: {e}"))
    }

    pub fn built_in() -> Self {
        Self::parse("built-in priority.toml", Self::BUILT_IN).expect("the built-in rules are valid")
    }

    /// The thresholds of campaign recognition.
    pub fn campaigns(&self) -> &campaigns::CampaignRules {
        &self.campaigns
    }

    pub fn sla(&self, priority: Priority) -> Sla {
        self.sla[&priority]
    }

    pub fn priority_for(&self, score: u32) -> Priority {
        self.thresholds
            .iter()
            .find(|(_, minimum)| score >= *minimum)
            .map_or(Priority::P4, |(priority, _)| *priority)
    }

    /// Scores every alert of an incident against the others and takes the worst.
    pub fn assess(&self, incident_alerts: &[Alert]) -> Assessment {
        let mut score = 0;
        let mut reasons = Vec::new();
        for alert in incident_alerts {
            let mut alert_score = 0;
            for rule in self.rules.iter().filter(|rule| rule.fires(alert, incident_alerts)) {
                // Saturating: a rules file may give points up to u32::MAX.
                alert_score = u32::saturating_add(alert_score, rule.points);
                reasons.push(Reason {
                    rule: rule.id.clone(),
                    description: rule.description.clone(),
                    points: rule.points,
                    alert_id: alert.alert_id.clone(),
                });
            }
            score = score.max(alert_score);
        }
        sort_reasons(&mut reasons);
        Assessment {
            priority: self.priority_for(score),
            score,
            reasons,
        }
    }

    /// How far back an `after` rule looks; alerts older than this never matter.
    pub fn lookback(&self) -> Duration {
        self.rules
            .iter()
            .filter_map(|rule| rule.after.as_ref().map(|after| after.within))
            .max()
            .unwrap_or(Duration::ZERO)
    }
}

/// Orders reasons as incidents list them: most points first, then by rule.
pub fn sort_reasons(reasons: &mut [Reason]) {
    reasons.sort_by(|a, b| b.points.cmp(&a.points).then_with(|| a.rule.cmp(&b.rule)));
}

pub mod campaigns;
mod rules_file;

#[cfg(test)]
mod tests;
