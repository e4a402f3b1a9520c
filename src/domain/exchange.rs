//! The vocabulary Holdfast speaks with the exchange (SPEC §6, §8): where a
//! message goes and what account control is asked to do.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::playbook::ExchangeAction;

/// Where an outbound message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// `HOLDFAST_ACCOUNT_CONTROL_URL`: holds, session revocation, 2-step checks.
    AccountControl,
    /// `HOLDFAST_NOTIFY_URL`: messages to account holders and to the leads.
    Notify,
    /// `HOLDFAST_RISK_FEEDBACK_URL`: dispositions back to the risk engine (SPEC §14).
    RiskFeedback,
}

impl Destination {
    pub const ALL: [Destination; 3] = [
        Destination::AccountControl,
        Destination::Notify,
        Destination::RiskFeedback,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Destination::AccountControl => "account_control",
            Destination::Notify => "notify",
            Destination::RiskFeedback => "risk_feedback",
        }
    }

    /// `None` for anything else: an unknown destination is never guessed.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What account control is asked to do (the `action` of SPEC §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountAction {
    PlaceHold,
    LiftHold,
    RevokeSessions,
    RevokeApiKeys,
    RequireCredentialReset,
    CancelPendingWithdrawals,
    CheckSecondFactor,
}

impl AccountAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountAction::PlaceHold => "place_hold",
            AccountAction::LiftHold => "lift_hold",
            AccountAction::RevokeSessions => "revoke_sessions",
            AccountAction::RevokeApiKeys => "revoke_api_keys",
            AccountAction::RequireCredentialReset => "require_credential_reset",
            AccountAction::CancelPendingWithdrawals => "cancel_pending_withdrawals",
            AccountAction::CheckSecondFactor => "check_second_factor",
        }
    }
}

impl fmt::Display for AccountAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ExchangeAction> for AccountAction {
    fn from(action: ExchangeAction) -> Self {
        match action {
            ExchangeAction::RevokeSessions => AccountAction::RevokeSessions,
            ExchangeAction::RevokeApiKeys => AccountAction::RevokeApiKeys,
            ExchangeAction::RequireCredentialReset => AccountAction::RequireCredentialReset,
            ExchangeAction::CancelPendingWithdrawals => AccountAction::CancelPendingWithdrawals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_round_trip_and_unknown_ones_are_refused() {
        for destination in Destination::ALL {
            assert_eq!(Destination::parse(destination.as_str()), Some(destination));
        }
        assert_eq!(Destination::parse("elsewhere"), None);
    }

    #[test]
    fn a_playbook_request_keeps_its_wire_name() {
        for request in [
            ExchangeAction::RevokeSessions,
            ExchangeAction::RevokeApiKeys,
            ExchangeAction::RequireCredentialReset,
            ExchangeAction::CancelPendingWithdrawals,
        ] {
            assert_eq!(AccountAction::from(request).as_str(), request.as_str());
        }
    }
}
