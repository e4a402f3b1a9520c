//! The holder's case (SPEC §13): what the account holder is told about an
//! incident of their account, and what a case link may and may not do.
//!
//! A case link is a bearer link a thief may hold too, so nothing reached
//! through it lifts, lowers or proves anything: its rules only ever make the
//! account safer.

use std::time::Duration;

use serde::Serialize;

use super::alert::Alert;
use super::campaign::{SignalKind, mask};
use super::hold::Hold;
use super::priority::Priority;
use super::time::Timestamp;

/// How long a case link covers its incident after the incident ends.
pub const TOKEN_GRACE: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a lock link (from a report of theft) lives.
pub const LOCK_LINK_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The longest message, in Unicode scalar values.
pub const MESSAGE_MAX_CHARS: usize = 2000;
/// Holder messages per case per hour.
pub const HOLDER_MESSAGES_PER_HOUR: usize = 20;
/// The least time between two `case_message` notices of one case.
pub const TEAM_NOTICE_GAP: Duration = Duration::from_secs(5 * 60);
/// The longest satisfaction comment, in Unicode scalar values.
pub const COMMENT_MAX_CHARS: usize = 500;
/// The priority reason an incident gets when its holder says "not me".
pub const HOLDER_REPORTED_RULE: &str = "holder_reported";

/// How a case token reached the holder, as the console shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuedAs {
    RiskNotice,
    UnfreezeUnfrozen,
    LockLink,
    AppLock,
}

impl IssuedAs {
    pub const ALL: [IssuedAs; 4] = [
        IssuedAs::RiskNotice,
        IssuedAs::UnfreezeUnfrozen,
        IssuedAs::LockLink,
        IssuedAs::AppLock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IssuedAs::RiskNotice => "risk_notice",
            IssuedAs::UnfreezeUnfrozen => "unfreeze_unfrozen",
            IssuedAs::LockLink => "lock_link",
            IssuedAs::AppLock => "app_lock",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|issued| issued.as_str() == text)
    }
}

/// The holder's unverified answer through a case link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HolderAnswer {
    WasMe,
    NotMe,
}

impl HolderAnswer {
    pub fn as_str(self) -> &'static str {
        match self {
            HolderAnswer::WasMe => "was_me",
            HolderAnswer::NotMe => "not_me",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [HolderAnswer::WasMe, HolderAnswer::NotMe]
            .into_iter()
            .find(|answer| answer.as_str() == text)
    }
}

/// Where the case stands, as the holder sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    WaitingForYou,
    FrozenToProtectYou,
    Reviewing,
    Resolved,
}

impl CaseState {
    /// The first that applies: the holder has a step to take in a live flow;
    /// the account is frozen; the case has not ended; it has.
    pub fn of(flow_awaits_holder: bool, frozen: bool, ended: bool) -> Self {
        if flow_awaits_holder {
            CaseState::WaitingForYou
        } else if frozen {
            CaseState::FrozenToProtectYou
        } else if !ended {
            CaseState::Reviewing
        } else {
            CaseState::Resolved
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::WaitingForYou => "waiting_for_you",
            CaseState::FrozenToProtectYou => "frozen_to_protect_you",
            CaseState::Reviewing => "reviewing",
            CaseState::Resolved => "resolved",
        }
    }

    /// What the holder may do next, in plain English (the JSON API's words).
    pub fn next_step(self, satisfaction_asked: bool) -> &'static str {
        match self {
            CaseState::WaitingForYou => "Finish the steps of your unfreeze request from the link we sent you.",
            CaseState::FrozenToProtectYou => {
                "Your account is frozen so nobody can use it. If this was you, ask to unfreeze it; if not, tell us here."
            }
            CaseState::Reviewing => "The security team is looking into it. You can write to them here.",
            CaseState::Resolved if satisfaction_asked => "This case is closed. Tell us how we did.",
            CaseState::Resolved => "This case is closed.",
        }
    }
}

/// Whether a case token issued for an incident still covers it: until 30
/// days after the incident ends.
pub fn token_covers(incident_closed_at: Option<Timestamp>, now: Timestamp) -> bool {
    incident_closed_at.is_none_or(|closed| now < closed.plus(TOKEN_GRACE))
}

/// Whether a case has ended: its incident closed, or its end recorded (its
/// unfreeze flow `unfrozen` or `rejected`).
pub fn case_ended(incident_closed: bool, recorded_end: Option<Timestamp>) -> bool {
    incident_closed || recorded_end.is_some()
}

/// Whether a change calls for a risk notice: it added a freeze, or it first
/// brought the incident to P2 or P1 (`notified`: the highest priority a
/// notice went out for).
pub fn notice_due(freeze_added: bool, priority: Priority, notified: Option<Priority>) -> bool {
    let serious = priority <= Priority::P2;
    freeze_added || (serious && notified.is_none_or(|notified| priority < notified))
}

/// One activity as a notice and the case show it: never an IP address or a
/// device id, and a destination only masked.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(description = "Never an IP address or a device id; a destination as its first 4 characters, `…`, its last 4.")]
pub struct WhatHappened {
    pub kind: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    #[schema(required)]
    pub country: Option<String>,
    #[schema(required)]
    pub asset: Option<String>,
    #[schema(required)]
    pub amount: Option<String>,
    #[schema(required)]
    pub destination: Option<String>,
}

impl WhatHappened {
    pub fn of(alert: &Alert) -> Self {
        let login = alert.login();
        let withdrawal = alert.withdrawal();
        Self {
            kind: alert.kind.as_str(),
            occurred_at: alert.occurred_at,
            country: login.and_then(|login| login.country.clone()),
            asset: withdrawal.and_then(|w| w.asset.clone()),
            amount: withdrawal.and_then(|w| w.amount.as_ref().map(|amount| amount.as_str().to_owned())),
            destination: withdrawal
                .and_then(|w| w.destination.as_deref())
                .map(|destination| mask(SignalKind::Destination, destination)),
        }
    }
}

/// One hold as the holder sees it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WhatWeDid {
    #[schema(value_type = crate::domain::hold::HoldScope)]
    pub scope: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime, required)]
    pub expires_at: Option<Timestamp>,
}

impl WhatWeDid {
    pub fn of(hold: &Hold) -> Self {
        Self {
            scope: hold.scope.as_str(),
            placed_at: hold.placed_at,
            expires_at: hold.expires_at,
        }
    }
}

/// Why a message body is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError {
    Empty,
    TooLong,
    ForbiddenCharacter,
}

impl BodyError {
    pub fn message(self, max: usize) -> String {
        match self {
            BodyError::Empty => "must not be empty".into(),
            BodyError::TooLong => format!("must be at most {max} characters"),
            BodyError::ForbiddenCharacter => "must not contain control characters or bidirectional overrides".into(),
        }
    }
}

/// Checks a message or comment: 1..=`max` Unicode scalar values, no control
/// characters (a line break or tab is allowed) and no bidirectional
/// overrides or isolates, which could make a text read differently than it is.
pub fn check_text(text: &str, max: usize) -> Result<(), BodyError> {
    if text.trim().is_empty() {
        return Err(BodyError::Empty);
    }
    if text.chars().count() > max {
        return Err(BodyError::TooLong);
    }
    let forbidden = |c: char| {
        (c.is_control() && c != '\n' && c != '\t' && c != '\r')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
    };
    if text.chars().any(forbidden) {
        return Err(BodyError::ForbiddenCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_seconds(seconds).unwrap()
    }

    #[test]
    fn the_state_is_the_first_that_applies() {
        assert_eq!(CaseState::of(true, true, false), CaseState::WaitingForYou);
        assert_eq!(CaseState::of(false, true, true), CaseState::FrozenToProtectYou);
        assert_eq!(CaseState::of(false, false, false), CaseState::Reviewing);
        assert_eq!(CaseState::of(false, false, true), CaseState::Resolved);
    }

    #[test]
    fn a_token_covers_its_incident_until_thirty_days_after_it_ends() {
        let closed = at(1_800_000_000);
        assert!(token_covers(None, at(1_900_000_000)));
        assert!(token_covers(
            Some(closed),
            closed.plus(TOKEN_GRACE).minus(Duration::from_secs(1))
        ));
        assert!(!token_covers(Some(closed), closed.plus(TOKEN_GRACE)));
    }

    #[test]
    fn a_notice_goes_out_for_a_freeze_and_for_the_first_p2_or_p1() {
        assert!(notice_due(true, Priority::P4, None));
        assert!(!notice_due(false, Priority::P3, None));
        assert!(notice_due(false, Priority::P2, None));
        assert!(!notice_due(false, Priority::P2, Some(Priority::P2)));
        assert!(notice_due(false, Priority::P1, Some(Priority::P2)));
        assert!(!notice_due(false, Priority::P1, Some(Priority::P1)));
    }

    #[test]
    fn texts_are_bounded_and_free_of_controls_and_overrides() {
        assert_eq!(check_text("", 10), Err(BodyError::Empty));
        assert_eq!(check_text("   ", 10), Err(BodyError::Empty));
        assert_eq!(check_text(&"가".repeat(2000), 2000), Ok(()));
        assert_eq!(check_text(&"가".repeat(2001), 2000), Err(BodyError::TooLong));
        assert_eq!(check_text("hi\u{202E}there", 100), Err(BodyError::ForbiddenCharacter));
        assert_eq!(check_text("bell\u{7}", 100), Err(BodyError::ForbiddenCharacter));
        assert_eq!(check_text("two\nlines", 100), Ok(()));
    }
}
