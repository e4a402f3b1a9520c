//! Holds: restrictions on an account, each tied to the incident that placed it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::{AccountId, HoldId, IncidentId};
use super::time::Timestamp;

/// What a hold stops the account holder from doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "What a hold stops the account holder from doing.")]
pub enum HoldScope {
    Login,
    Withdrawal,
    Trading,
    Api,
}

impl HoldScope {
    pub const ALL: [HoldScope; 4] = [
        HoldScope::Login,
        HoldScope::Withdrawal,
        HoldScope::Trading,
        HoldScope::Api,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HoldScope::Login => "login",
            HoldScope::Withdrawal => "withdrawal",
            HoldScope::Trading => "trading",
            HoldScope::Api => "api",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for HoldScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hold as the exchange sees it on its hot path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hold {
    pub scope: HoldScope,
    #[schema(value_type = String)]
    pub incident_id: IncidentId,
    pub reason: String,
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: Timestamp,
    /// Set for a cool-off, which ends on its own; null for a freeze.
    #[schema(value_type = Option<String>, format = DateTime, required)]
    pub expires_at: Option<Timestamp>,
}

impl Hold {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|expiry| expiry > now)
    }

    /// A hold with an expiry is a cool-off, not a freeze.
    pub fn is_freeze(&self) -> bool {
        self.expires_at.is_none()
    }
}

/// The answer to "may this account act?".
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AccountHolds {
    #[schema(value_type = String)]
    pub account_id: AccountId,
    // A cool-off (a hold that expires on its own) restricts the account
    // without freezing it.
    /// True while at least one hold without an expiry (a freeze) is in force.
    pub frozen: bool,
    /// The holds in force.
    pub holds: Vec<Hold>,
}

impl AccountHolds {
    /// The holds in force at `now`, from every hold recorded as not lifted.
    pub fn at(account_id: AccountId, holds: &[Hold], now: Timestamp) -> Self {
        let holds: Vec<Hold> = holds.iter().filter(|hold| hold.is_active(now)).cloned().collect();
        Self {
            account_id,
            frozen: holds.iter().any(Hold::is_freeze),
            holds,
        }
    }
}

/// A hold as recorded, with who placed it and whether it was lifted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HoldRecord {
    pub id: HoldId,
    pub account_id: AccountId,
    pub incident_id: IncidentId,
    pub scope: HoldScope,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub lifted_at: Option<Timestamp>,
    pub lifted_by: Option<String>,
}

impl HoldRecord {
    pub fn view(&self) -> Hold {
        Hold {
            scope: self.scope,
            incident_id: self.incident_id.clone(),
            reason: self.reason.clone(),
            placed_at: self.placed_at,
            expires_at: self.expires_at,
        }
    }

    pub fn in_force(&self, now: Timestamp) -> bool {
        self.lifted_at.is_none() && self.view().is_active(now)
    }

    /// A hold without an expiry freezes; one with an expiry is a cool-off.
    pub fn is_freeze(&self) -> bool {
        self.expires_at.is_none()
    }
}

/// A hold to place.
#[derive(Clone, Debug)]
pub struct NewHold {
    pub account_id: AccountId,
    pub incident_id: IncidentId,
    pub scope: HoldScope,
    pub reason: String,
    pub placed_by: String,
    pub expires_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn hold(scope: HoldScope, placed_at: Timestamp, expires_at: Option<Timestamp>) -> Hold {
        Hold {
            scope,
            incident_id: IncidentId::from_string("inc".into()),
            reason: "test".into(),
            placed_at,
            expires_at,
        }
    }

    fn account() -> AccountId {
        AccountId::parse("a").unwrap()
    }

    #[test]
    fn an_account_with_a_hold_without_expiry_is_frozen() {
        let now = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
        let view = AccountHolds::at(account(), &[hold(HoldScope::Login, now, None)], now);
        assert!(view.frozen);
        assert_eq!(view.holds.len(), 1);
    }

    #[test]
    fn a_cool_off_restricts_without_freezing_and_disappears_when_it_expires() {
        let now = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
        let cool_off = hold(HoldScope::Withdrawal, now, Some(now.plus(Duration::from_secs(86_400))));
        let view = AccountHolds::at(account(), std::slice::from_ref(&cool_off), now);
        assert!(!view.frozen);
        assert_eq!(view.holds.len(), 1);
        let later = AccountHolds::at(account(), &[cool_off], now.plus(Duration::from_secs(86_401)));
        assert!(later.holds.is_empty());
    }
}
