//! Playbooks: what they may contain, and the static verifier every playbook
//! passes before it may run.
//!
//! A playbook is a TOML file with `id`, `version`, `title`, `kind`
//! (`containment`, `recovery` or `unfreeze`), `applies_to` (alert kinds) and
//! ordered `[[steps]]`, each with a `name`, an `action`, its parameters, and
//! the flags `automatic` and `mfa`. A step starts once every step before it
//! took effect, unless it is a request to the exchange that names the steps
//! it waits for in `after` (see [`Step::after`]). The verifier reports every
//! problem as `step N: what is wrong`.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::agent::{Permission, Role};
use super::alert::AlertKind;
use super::hold::HoldScope;
use super::priority::Priority;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaybookKind {
    /// Restricts an account; may run automatically; never lifts a hold.
    Containment,
    /// Restores a taken-over account (credentials, keys); leads only.
    Recovery,
    /// Gives the account back to its verified holder; leads only.
    Unfreeze,
}

impl PlaybookKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlaybookKind::Containment => "containment",
            PlaybookKind::Recovery => "recovery",
            PlaybookKind::Unfreeze => "unfreeze",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            PlaybookKind::Containment,
            PlaybookKind::Recovery,
            PlaybookKind::Unfreeze,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }

    /// What an agent needs to start a run of this kind.
    pub fn permission(self) -> Permission {
        match self {
            PlaybookKind::Containment => Permission::RunContainment,
            PlaybookKind::Recovery | PlaybookKind::Unfreeze => Permission::RunRecovery,
        }
    }
}

impl fmt::Display for PlaybookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Requests to the exchange's account control a step can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeAction {
    RevokeSessions,
    RevokeApiKeys,
    RequireCredentialReset,
    CancelPendingWithdrawals,
}

impl ExchangeAction {
    const ALL: [ExchangeAction; 4] = [
        ExchangeAction::RevokeSessions,
        ExchangeAction::RevokeApiKeys,
        ExchangeAction::RequireCredentialReset,
        ExchangeAction::CancelPendingWithdrawals,
    ];

    /// The `action` sent to the exchange.
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeAction::RevokeSessions => "revoke_sessions",
            ExchangeAction::RevokeApiKeys => "revoke_api_keys",
            ExchangeAction::RequireCredentialReset => "require_credential_reset",
            ExchangeAction::CancelPendingWithdrawals => "cancel_pending_withdrawals",
        }
    }
}

/// How a holder's identity is verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityMethod {
    /// The holder completed the self-service unfreeze flow (one-time code,
    /// their own second factor, and their answers about the activity).
    UnfreezeFlow,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Action {
    #[serde(rename = "hold.place")]
    PlaceHold {
        scopes: Vec<HoldScope>,
        reason: String,
        /// Set for a cool-off: the hold ends by itself after this many seconds.
        cool_off_seconds: Option<u64>,
    },
    #[serde(rename = "hold.lift")]
    LiftHold { scopes: Vec<HoldScope> },
    #[serde(rename = "exchange")]
    Exchange { request: ExchangeAction },
    #[serde(rename = "identity.verify")]
    VerifyIdentity { method: IdentityMethod },
    #[serde(rename = "approval.require")]
    RequireApproval {
        approvals: u32,
        role: Role,
        /// The approval is needed only for incidents of these priorities.
        for_priorities: Vec<Priority>,
    },
}

impl Action {
    /// The action's name as written in playbook files.
    pub fn name(&self) -> String {
        match self {
            Action::PlaceHold { .. } => "hold.place".into(),
            Action::LiftHold { .. } => "hold.lift".into(),
            Action::Exchange { request } => format!("exchange.{}", request.as_str()),
            Action::VerifyIdentity { .. } => "identity.verify".into(),
            Action::RequireApproval { .. } => "approval.require".into(),
        }
    }

    /// Loosens a restriction or changes the holder's credentials: needs `mfa = true`.
    pub fn is_sensitive(&self) -> bool {
        matches!(
            self,
            Action::LiftHold { .. }
                | Action::Exchange {
                    request: ExchangeAction::RequireCredentialReset
                }
        )
    }

    /// Only restricts the account: may run with no agent (`automatic = true`).
    pub fn is_containment(&self) -> bool {
        match self {
            Action::PlaceHold { cool_off_seconds, .. } => cool_off_seconds.is_none(),
            Action::Exchange { request } => matches!(
                request,
                ExchangeAction::RevokeSessions
                    | ExchangeAction::RevokeApiKeys
                    | ExchangeAction::CancelPendingWithdrawals
            ),
            _ => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    #[serde(flatten)]
    pub action: Action,
    pub automatic: bool,
    pub mfa: bool,
    /// The names of the earlier steps this one waits for. `None`, which is
    /// what a step that does not say gets (and every step stored before
    /// the field existed), waits for every step before it. Only requests to
    /// the exchange may name their own, and the verifier holds them to
    /// waiting, directly or through the steps they name, for every hold and
    /// every gate written before them: so requests that do not depend on
    /// one another (cancel the pending withdrawals, sign out everywhere,
    /// revoke the API keys) go out together once the freeze took effect,
    /// each still verified before anything that waits for it starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Vec<String>>,
}

impl Step {
    /// May name the steps it waits for: a request to the exchange that
    /// needs no step-up (holds, gates and MFA steps wait for everything
    /// before them, so nothing runs beside a gate that is still shut).
    pub fn may_run_beside_others(&self) -> bool {
        matches!(self.action, Action::Exchange { .. }) && !self.mfa
    }
}

/// The positions (0-based) of the steps `steps[index]` waits for: those its
/// `after` names, or every step before it. (`T` is a playbook's `Step` or a
/// run's step, which holds one.)
pub fn waits_for<T: Borrow<Step>>(steps: &[T], index: usize) -> impl Iterator<Item = usize> + '_ {
    let after = &Borrow::<Step>::borrow(&steps[index]).after;
    (0..index).filter(move |&position| match after {
        None => true,
        Some(names) => names.contains(&Borrow::<Step>::borrow(&steps[position]).name),
    })
}

/// A verified playbook.
#[derive(Clone, Debug, PartialEq)]
pub struct Playbook {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub description: Option<String>,
    pub kind: PlaybookKind,
    pub applies_to: Vec<AlertKind>,
    pub steps: Vec<Step>,
}

impl Playbook {
    /// How many approvals (by agents other than the one who starts the run)
    /// the playbook asks for on an incident of `priority`.
    pub fn approvals_needed(&self, priority: Priority) -> u32 {
        approvals_needed(&self.steps, priority)
    }
}

/// The approvals `steps` ask for on an incident of `priority`: the most any
/// of their `approval.require` steps asks for at that priority.
pub fn approvals_needed(steps: &[Step], priority: Priority) -> u32 {
    steps
        .iter()
        .filter_map(|step| match &step.action {
            Action::RequireApproval {
                approvals,
                for_priorities,
                ..
            } if for_priorities.contains(&priority) => Some(*approvals),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

mod verify;

pub use verify::verify;
