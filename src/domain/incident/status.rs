//! The incident state machine: its statuses, the transitions between them,
//! and how a resolved incident ended.
//!
//! ```text
//! from                              transition       to
//! open                              acknowledge      acknowledged
//! open, acknowledged, recovering    contain          contained     (recovering: new evidence)
//! contained                         start recovery   recovering
//! contained, recovering             resolve          resolved
//! open, acknowledged                dismiss          dismissed     (false positive)
//! any live state (drills only)      end drill        dismissed     (stopped, or 24 h old)
//! ```
//! Containment may come from `open`, `acknowledged` or `recovering`; a
//! contained incident may be resolved without a recovery. A P1 incident skips
//! straight to `contained`: its account is frozen at intake. The transitions
//! are [`IncidentStatus::apply`]; nothing else decides them.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    Acknowledged,
    Contained,
    Recovering,
    Resolved,
    Dismissed,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 6] = [
        IncidentStatus::Open,
        IncidentStatus::Acknowledged,
        IncidentStatus::Contained,
        IncidentStatus::Recovering,
        IncidentStatus::Resolved,
        IncidentStatus::Dismissed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Acknowledged => "acknowledged",
            IncidentStatus::Contained => "contained",
            IncidentStatus::Recovering => "recovering",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Dismissed => "dismissed",
        }
    }

    /// The audit action of a move to this status: `incident.<status>`.
    pub fn audit_action(self) -> AuditAction {
        match self {
            IncidentStatus::Open => AuditAction::IncidentOpen,
            IncidentStatus::Acknowledged => AuditAction::IncidentAcknowledged,
            IncidentStatus::Contained => AuditAction::IncidentContained,
            IncidentStatus::Recovering => AuditAction::IncidentRecovering,
            IncidentStatus::Resolved => AuditAction::IncidentResolved,
            IncidentStatus::Dismissed => AuditAction::IncidentDismissed,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Closed incidents take no new alerts; the account's next alert opens a new one.
    pub fn is_closed(self) -> bool {
        matches!(self, IncidentStatus::Resolved | IncidentStatus::Dismissed)
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an agent or Holdfast itself does to an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Acknowledge,
    Contain,
    StartRecovery,
    Resolve,
    Dismiss,
    /// A drill's incident ends (stopped, or 24 h old): dismissed from any
    /// live state. Only a drill's incident may take it.
    EndDrill,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Acknowledge => "acknowledge",
            Transition::Contain => "contain",
            Transition::StartRecovery => "start recovery of",
            Transition::Resolve => "resolve",
            Transition::Dismiss => "dismiss",
            Transition::EndDrill => "end the drill of",
        }
    }
}

/// A transition the state machine does not allow from the current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} an incident that is {}", .transition.as_str(), .from)]
pub struct IllegalTransition {
    pub from: IncidentStatus,
    pub transition: Transition,
}

impl IncidentStatus {
    /// The state after `transition`, or why it is not allowed.
    pub fn apply(self, transition: Transition) -> Result<IncidentStatus, IllegalTransition> {
        use IncidentStatus::*;
        let next = match (self, transition) {
            (Open, Transition::Acknowledge) => Acknowledged,
            (Open | Acknowledged | Recovering, Transition::Contain) => Contained,
            (Contained, Transition::StartRecovery) => Recovering,
            (Contained | Recovering, Transition::Resolve) => Resolved,
            (Open | Acknowledged, Transition::Dismiss) => Dismissed,
            (Open | Acknowledged | Contained | Recovering, Transition::EndDrill) => Dismissed,
            _ => {
                return Err(IllegalTransition { from: self, transition });
            }
        };
        Ok(next)
    }

    /// Whether the state machine allows `transition` from this state.
    pub fn allows(self, transition: Transition) -> bool {
        self.apply(transition).is_ok()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    ConfirmedTakeover,
    FalsePositive,
    UserError,
}

impl Resolution {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "confirmed_takeover" => Some(Resolution::ConfirmedTakeover),
            "false_positive" => Some(Resolution::FalsePositive),
            "user_error" => Some(Resolution::UserError),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::ConfirmedTakeover => "confirmed_takeover",
            Resolution::FalsePositive => "false_positive",
            Resolution::UserError => "user_error",
        }
    }
}
