//! The account holder's self-service unfreeze flow.
//!
//! ```text
//! awaiting_code ──► awaiting_second_factor ──► awaiting_activity_review ──► in_review ──► unfrozen
//!      │                    │                          │                      ▲  └───────► rejected
//!      │                    │                          └──► unfrozen ─────────┘
//!      │                    │               (P3/P4, every activity "mine";  (the automatic
//!      │                    │                lifted automatically)           unfreeze failed)
//!      └────────────────────┴──► locked (tries exhausted)      any live state ──► expired (24 h)
//! ```
//! The second-factor step is skipped when the exchange says the holder has
//! no 2-step method of their own.
//!
//! Where a verified flow goes is in `route`, the wait a holder is told in
//! `wait`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::audit::AuditAction;
use super::ids::{AccountId, FlowId, IncidentId, RunId};
use super::time::Timestamp;

mod wait;
pub use wait::*;

mod route;
pub use route::*;

/// How long a flow stays open.
pub const FLOW_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// How long a one-time code is valid.
pub const CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Wrong one-time codes allowed before the flow locks.
pub const CODE_ATTEMPTS: u32 = 5;
/// Wrong second-factor codes allowed before the flow locks.
pub const SECOND_FACTOR_ATTEMPTS: u32 = 5;
/// Codes that may be sent for one flow (the first and four resends).
pub const MAX_CODES_SENT: u32 = 5;
/// How long a locked flow keeps its account from opening a new one.
pub const LOCK_BLOCK: Duration = Duration::from_secs(3600);
/// Wrong answers per account, across its flows, past which the automatic
/// route closes…
pub const ACCOUNT_FAILURE_LIMIT: u32 = 20;
/// …counted over this window.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// A link request for a live flow re-sends its link at most this often.
pub const LINK_RESEND_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "The state of a holder's unfreeze request.")]
pub enum FlowState {
    AwaitingCode,
    AwaitingSecondFactor,
    AwaitingActivityReview,
    InReview,
    Unfrozen,
    Rejected,
    Expired,
    Locked,
}

impl FlowState {
    pub const ALL: [FlowState; 8] = [
        FlowState::AwaitingCode,
        FlowState::AwaitingSecondFactor,
        FlowState::AwaitingActivityReview,
        FlowState::InReview,
        FlowState::Unfrozen,
        FlowState::Rejected,
        FlowState::Expired,
        FlowState::Locked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FlowState::AwaitingCode => "awaiting_code",
            FlowState::AwaitingSecondFactor => "awaiting_second_factor",
            FlowState::AwaitingActivityReview => "awaiting_activity_review",
            FlowState::InReview => "in_review",
            FlowState::Unfrozen => "unfrozen",
            FlowState::Rejected => "rejected",
            FlowState::Expired => "expired",
            FlowState::Locked => "locked",
        }
    }

    /// The audit action of a move to this state: `unfreeze.<state>`.
    pub fn audit_action(self) -> AuditAction {
        match self {
            FlowState::AwaitingCode => AuditAction::UnfreezeAwaitingCode,
            FlowState::AwaitingSecondFactor => AuditAction::UnfreezeAwaitingSecondFactor,
            FlowState::AwaitingActivityReview => AuditAction::UnfreezeAwaitingActivityReview,
            FlowState::InReview => AuditAction::UnfreezeInReview,
            FlowState::Unfrozen => AuditAction::UnfreezeUnfrozen,
            FlowState::Rejected => AuditAction::UnfreezeRejected,
            FlowState::Expired => AuditAction::UnfreezeExpired,
            FlowState::Locked => AuditAction::UnfreezeLocked,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Live flows can still move; at most one per account.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            FlowState::AwaitingCode
                | FlowState::AwaitingSecondFactor
                | FlowState::AwaitingActivityReview
                | FlowState::InReview
        )
    }
}

/// The holder's answer about one flagged activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Answer {
    pub alert_id: String,
    /// True: "this was me".
    pub mine: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub id: FlowId,
    pub account_id: AccountId,
    pub incident_id: IncidentId,
    pub state: FlowState,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
    /// Keyed hash of the current one-time code.
    pub code_hash: Option<Vec<u8>>,
    pub code_expires_at: Option<Timestamp>,
    pub code_attempts_left: u32,
    pub codes_sent: u32,
    pub code_verified_at: Option<Timestamp>,
    pub second_factor_attempts_left: u32,
    /// `None` until the exchange said whether the holder has a 2-step method.
    pub second_factor_required: Option<bool>,
    /// When the second factor was passed (or found not needed).
    pub second_factor_verified_at: Option<Timestamp>,
    pub answers: Option<Vec<Answer>>,
    /// When the holder finished every verification step.
    pub verified_at: Option<Timestamp>,
    pub queued_at: Option<Timestamp>,
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    pub run_id: Option<RunId>,
    /// When the link was last sent; a request for a live flow re-sends the
    /// same link at most once a minute.
    pub link_sent_at: Option<Timestamp>,
    /// The master key the current code's HMAC was made with.
    pub code_key_id: Option<String>,
}

/// Why a holder's step was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The step is not the flow's current one.
    #[error("this step is not open: the flow is {0}")]
    NotNow(&'static str),
    /// Wrong code; this many tries are left.
    #[error("the code is not right")]
    Wrong { tries_left: u32 },
    /// The code expired; ask for a new one.
    #[error("the code has expired; ask for a new one")]
    CodeExpired,
    /// The last try was used: the flow is locked.
    #[error("too many wrong codes; this request is locked")]
    Locked,
    #[error("no more codes can be sent for this request")]
    TooManyCodes,
}

impl Flow {
    /// A new flow for a frozen account, waiting for its first one-time code.
    pub fn new(id: FlowId, account_id: AccountId, incident_id: IncidentId, now: Timestamp) -> Self {
        Self {
            id,
            account_id,
            incident_id,
            state: FlowState::AwaitingCode,
            created_at: now,
            updated_at: now,
            expires_at: now.plus(FLOW_LIFETIME),
            code_hash: None,
            code_expires_at: None,
            code_attempts_left: CODE_ATTEMPTS,
            codes_sent: 0,
            code_verified_at: None,
            second_factor_attempts_left: SECOND_FACTOR_ATTEMPTS,
            second_factor_required: None,
            second_factor_verified_at: None,
            answers: None,
            verified_at: None,
            queued_at: None,
            decided_at: None,
            decided_by: None,
            decision_reason: None,
            run_id: None,
            link_sent_at: None,
            code_key_id: None,
        }
    }

    /// Whether a link request for this live flow should re-send its link now.
    pub fn link_due(&self, now: Timestamp) -> bool {
        self.link_sent_at
            .is_none_or(|sent| now.since(sent) >= LINK_RESEND_INTERVAL)
    }

    /// Marks a live flow past its lifetime as expired; true if it changed.
    pub fn expire_if_due(&mut self, now: Timestamp) -> bool {
        if self.state.is_live() && now >= self.expires_at {
            self.state = FlowState::Expired;
            self.updated_at = now;
            return true;
        }
        false
    }

    fn require(&self, state: FlowState) -> Result<(), StepError> {
        if self.state == state {
            Ok(())
        } else {
            Err(StepError::NotNow(self.state.as_str()))
        }
    }

    /// Replaces the current code (a resend invalidates the previous one).
    pub fn issue_code(&mut self, code_hash: Vec<u8>, key_id: &str, now: Timestamp) -> Result<(), StepError> {
        self.require(FlowState::AwaitingCode)?;
        if self.codes_sent >= MAX_CODES_SENT {
            return Err(StepError::TooManyCodes);
        }
        self.code_hash = Some(code_hash);
        self.code_key_id = Some(key_id.to_owned());
        self.code_expires_at = Some(now.plus(CODE_LIFETIME));
        self.codes_sent += 1;
        self.updated_at = now;
        Ok(())
    }

    /// Checks the one-time code; `matches` tells whether it matched the hash.
    pub fn submit_code(&mut self, matches: bool, now: Timestamp) -> Result<(), StepError> {
        self.require(FlowState::AwaitingCode)?;
        if self.code_expires_at.is_none_or(|expiry| now >= expiry) {
            return Err(StepError::CodeExpired);
        }
        self.updated_at = now;
        if matches {
            self.code_hash = None;
            self.code_expires_at = None;
            self.code_verified_at = Some(now);
            self.state = FlowState::AwaitingSecondFactor;
            return Ok(());
        }
        self.code_attempts_left = self.code_attempts_left.saturating_sub(1);
        if self.code_attempts_left == 0 {
            self.state = FlowState::Locked;
            return Err(StepError::Locked);
        }
        Err(StepError::Wrong {
            tries_left: self.code_attempts_left,
        })
    }

    /// The exchange says the holder has no 2-step method: the step is skipped.
    pub fn skip_second_factor(&mut self, now: Timestamp) -> Result<(), StepError> {
        self.require(FlowState::AwaitingSecondFactor)?;
        self.second_factor_required = Some(false);
        self.second_factor_verified_at = Some(now);
        self.state = FlowState::AwaitingActivityReview;
        self.updated_at = now;
        Ok(())
    }

    /// The exchange judged the holder's own 2-step code.
    pub fn submit_second_factor(&mut self, valid: bool, now: Timestamp) -> Result<(), StepError> {
        self.require(FlowState::AwaitingSecondFactor)?;
        self.second_factor_required = Some(true);
        self.updated_at = now;
        if valid {
            self.second_factor_verified_at = Some(now);
            self.state = FlowState::AwaitingActivityReview;
            return Ok(());
        }
        self.second_factor_attempts_left = self.second_factor_attempts_left.saturating_sub(1);
        if self.second_factor_attempts_left == 0 {
            self.state = FlowState::Locked;
            return Err(StepError::Locked);
        }
        Err(StepError::Wrong {
            tries_left: self.second_factor_attempts_left,
        })
    }

    /// Records the holder's answers and decides where the flow goes: the
    /// automatic unfreeze when `automatic` allows it and every activity was
    /// the holder's own, the agents' queue otherwise.
    ///
    /// On the automatic route the flow stays `awaiting_activity_review`, its
    /// answers recorded, until the unfreeze run has really lifted the freeze
    /// ([`Flow::mark_unfrozen`]): the holder is never told "unfrozen" early.
    pub fn submit_answers(
        &mut self,
        answers: Vec<Answer>,
        automatic: &AutomaticRoute,
        now: Timestamp,
    ) -> Result<Route, StepError> {
        self.require(FlowState::AwaitingActivityReview)?;
        if self.unfreezing() {
            return Err(StepError::NotNow("being unfrozen"));
        }
        let all_mine = answers.iter().all(|answer| answer.mine);
        self.answers = Some(answers);
        self.verified_at = Some(now);
        self.updated_at = now;
        if all_mine && automatic.is_open() {
            Ok(Route::Unfreeze)
        } else {
            self.state = FlowState::InReview;
            self.queued_at = Some(now);
            Ok(Route::Review)
        }
    }

    /// Verified and answered, waiting for the automatic unfreeze to lift the freeze.
    pub fn unfreezing(&self) -> bool {
        self.state == FlowState::AwaitingActivityReview && self.verified_at.is_some()
    }

    /// An unfreeze run lifted the freeze (verified): the flow is done.
    pub fn mark_unfrozen(&mut self, by: &str, run_id: &RunId, now: Timestamp) {
        self.state = FlowState::Unfrozen;
        self.decided_at.get_or_insert(now);
        self.decided_by.get_or_insert_with(|| by.to_owned());
        self.run_id = Some(run_id.clone());
        self.updated_at = now;
    }

    /// The automatic unfreeze could not finish (the exchange did not confirm
    /// a step, or the incident became serious): the request goes to the
    /// agents' queue instead.
    pub fn reopen_for_review(&mut self, now: Timestamp) {
        self.state = FlowState::InReview;
        self.queued_at = Some(now);
        self.decided_at = None;
        self.decided_by = None;
        self.updated_at = now;
    }

    /// An agent refused to unfreeze, telling the holder why.
    pub fn reject(&mut self, by: &str, reason: &str, now: Timestamp) -> Result<(), StepError> {
        if !self.state.is_live() {
            return Err(StepError::NotNow(self.state.as_str()));
        }
        self.state = FlowState::Rejected;
        self.decided_at = Some(now);
        self.decided_by = Some(by.to_owned());
        self.decision_reason = Some(reason.to_owned());
        self.updated_at = now;
        Ok(())
    }

    /// The progress shown to the holder: each step and whether it is done.
    pub fn steps(&self) -> [(&'static str, bool); 4] {
        [
            ("code", self.code_verified_at.is_some()),
            ("second_factor", self.second_factor_verified_at.is_some()),
            ("activity_review", self.verified_at.is_some()),
            ("unfreeze", self.state == FlowState::Unfrozen),
        ]
    }
}

#[cfg(test)]
mod tests;
