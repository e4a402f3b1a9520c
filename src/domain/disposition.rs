//! What was true about an incident, as Holdfast tells the risk engine when
//! the incident ends (SPEC §14): its disposition, what the holder said, and
//! the rules that fired.
//!
//! What the holder said is one value per incident with one rule
//! ([`HolderSaid::after`]): "not mine" wins and sticks; "mine" counts only
//! after a verified unfreeze flow in which every activity was the holder's
//! ([`HolderSaid::of_flow`]), and never over "not mine".

use std::fmt;

use serde::{Deserialize, Serialize};

use super::incident::{Incident, IncidentStatus, Resolution};
use super::unfreeze::Flow;

/// How an incident ended, as the risk engine learns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    ConfirmedTakeover,
    FalsePositive,
    UserError,
    Dismissed,
}

impl Disposition {
    pub const ALL: [Disposition; 4] = [
        Disposition::ConfirmedTakeover,
        Disposition::FalsePositive,
        Disposition::UserError,
        Disposition::Dismissed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::ConfirmedTakeover => "confirmed_takeover",
            Disposition::FalsePositive => "false_positive",
            Disposition::UserError => "user_error",
            Disposition::Dismissed => "dismissed",
        }
    }

    /// The disposition of an incident that has ended: a dismissal is
    /// `dismissed` whatever resolution it stored; a resolved incident is its
    /// resolution. `None` while the incident is live.
    pub fn of(incident: &Incident) -> Option<Self> {
        Self::from_stored(incident.status.as_str(), incident.resolution.map(Resolution::as_str))
    }
}

impl Disposition {
    /// The disposition of an incident as stored: its status, and its
    /// resolution when resolved. `None` while it is live (or unreadable).
    pub fn from_stored(status: &str, resolution: Option<&str>) -> Option<Self> {
        match IncidentStatus::parse(status)? {
            IncidentStatus::Dismissed => Some(Disposition::Dismissed),
            IncidentStatus::Resolved => Some(match Resolution::parse(resolution?)? {
                Resolution::ConfirmedTakeover => Disposition::ConfirmedTakeover,
                Resolution::FalsePositive => Disposition::FalsePositive,
                Resolution::UserError => Disposition::UserError,
            }),
            _ => None,
        }
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the account holder said about the incident's activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HolderSaid {
    Mine,
    NotMine,
}

impl HolderSaid {
    pub fn as_str(self) -> &'static str {
        match self {
            HolderSaid::Mine => "mine",
            HolderSaid::NotMine => "not_mine",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "mine" => Some(HolderSaid::Mine),
            "not_mine" => Some(HolderSaid::NotMine),
            _ => None,
        }
    }

    /// What stands after the holder says `said`, given what stood before:
    /// "not mine" wins and sticks, "mine" never replaces it.
    pub fn after(before: Option<HolderSaid>, said: HolderSaid) -> HolderSaid {
        match (before, said) {
            (Some(HolderSaid::NotMine), _) | (_, HolderSaid::NotMine) => HolderSaid::NotMine,
            _ => HolderSaid::Mine,
        }
    }

    /// What a holder's unfreeze flow says, once its activities are answered:
    /// any answer "not mine" is `NotMine`; every answer "mine" is `Mine` only
    /// when the holder passed both proofs (the one-time code and their own
    /// 2-step code, not skipped for want of a method); otherwise nothing.
    pub fn of_flow(flow: &Flow) -> Option<HolderSaid> {
        let answers = flow.answers.as_deref().filter(|answers| !answers.is_empty())?;
        if answers.iter().any(|answer| !answer.mine) {
            return Some(HolderSaid::NotMine);
        }
        let verified = flow.code_verified_at.is_some()
            && flow.second_factor_required == Some(true)
            && flow.second_factor_verified_at.is_some();
        verified.then_some(HolderSaid::Mine)
    }
}

/// The rules that fired in an incident, each named once, in the order of its
/// priority reasons (highest points first).
pub fn rules_fired(incident: &Incident) -> Vec<String> {
    let mut rules: Vec<String> = Vec::new();
    for reason in &incident.priority_reasons {
        if !rules.contains(&reason.rule) {
            rules.push(reason.rule.clone());
        }
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_mine_wins_and_sticks() {
        use HolderSaid::*;
        assert_eq!(HolderSaid::after(None, Mine), Mine);
        assert_eq!(HolderSaid::after(None, NotMine), NotMine);
        assert_eq!(HolderSaid::after(Some(Mine), NotMine), NotMine);
        assert_eq!(HolderSaid::after(Some(NotMine), Mine), NotMine);
        assert_eq!(HolderSaid::after(Some(NotMine), NotMine), NotMine);
    }

    #[test]
    fn holder_said_round_trips_and_refuses_anything_else() {
        for said in [HolderSaid::Mine, HolderSaid::NotMine] {
            assert_eq!(HolderSaid::parse(said.as_str()), Some(said));
        }
        assert_eq!(HolderSaid::parse("maybe"), None);
    }
}
