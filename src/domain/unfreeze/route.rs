//! Where a verified flow goes: the automatic route's rule, review and its reasons, and who may open a new flow.

use super::*;

/// The reason an agent gives the holder for a decision: 1 to 1000
/// characters once trimmed, because the holder reads it.
pub fn decision_reason(text: &str) -> Result<String, &'static str> {
    let reason = text.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err("must be 1 to 1000 characters: the holder reads it");
    }
    Ok(reason.to_owned())
}

/// Whether a verified holder who owns every flagged activity is unfrozen at
/// once. The one home of the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutomaticRoute {
    /// A verified unfreeze playbook exists and needs no approval at the
    /// incident's priority (its `approval.require` step's `for_priorities`:
    /// P1 and P2 in the shipped playbook).
    pub playbook_allows: bool,
    /// Wrong codes and 2-step answers for the account in the last 24 hours,
    /// across all its flows.
    pub recent_failures: u32,
    /// The incident was resolved as a confirmed takeover.
    pub confirmed_takeover: bool,
    /// The holder proved who they are twice, independently: the one-time
    /// code to the registered contact and their own 2-step code (NIST SP
    /// 800-63B-4 §4.2). A holder without a 2-step method proved it once.
    pub two_proofs: bool,
}

impl AutomaticRoute {
    pub fn is_open(&self) -> bool {
        self.playbook_allows
            && self.recent_failures <= ACCOUNT_FAILURE_LIMIT
            && !self.confirmed_takeover
            && self.two_proofs
    }
}

impl Flow {
    /// Whether the holder gave both proofs (the code and their own 2-step code).
    pub fn two_proofs(&self) -> bool {
        self.code_verified_at.is_some()
            && self.second_factor_required == Some(true)
            && self.second_factor_verified_at.is_some()
    }

    /// Whether this flow's outcome ends the holder's case (SPEC §13): it was
    /// unfrozen, or an agent turned it down. A flow the holder's own "not
    /// me" rejected leaves the case open: the conversation has just begun.
    pub fn ends_case(&self) -> bool {
        match self.state {
            FlowState::Unfrozen => true,
            FlowState::Rejected => self.decided_by.as_deref() != Some(HOLDER_DECIDER),
            _ => false,
        }
    }

    /// Why a verified flow waits for an agent rather than the automatic
    /// route, as far as the flow itself says (shown to agents).
    pub fn review_reasons(&self) -> Vec<ReviewReason> {
        let mut reasons = Vec::new();
        if self.second_factor_required == Some(false) {
            reasons.push(ReviewReason::NoSecondFactor);
        }
        if self
            .answers
            .as_ref()
            .is_some_and(|answers| answers.iter().any(|answer| !answer.mine))
        {
            reasons.push(ReviewReason::DisownedActivity);
        }
        reasons
    }
}

/// Who is recorded as deciding a flow the holder's "not me" rejected.
pub const HOLDER_DECIDER: &str = "holder";

/// Why a flow waits for an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// The holder has no 2-step method: one proof of identity only.
    NoSecondFactor,
    /// The holder said an activity was not theirs.
    DisownedActivity,
}

impl ReviewReason {
    pub fn code(self) -> &'static str {
        match self {
            ReviewReason::NoSecondFactor => "no_second_factor",
            ReviewReason::DisownedActivity => "disowned_activity",
        }
    }
}

/// Whether an account may open a new flow: not within an hour of one of its
/// flows locking (`last_locked_at`).
pub fn new_flow_allowed(last_locked_at: Option<Timestamp>, now: Timestamp) -> bool {
    last_locked_at.is_none_or(|locked| now.since(locked) >= LOCK_BLOCK)
}

/// Where a verified flow goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Lifted at once by the `unfreeze-account` playbook.
    Unfreeze,
    /// Queued for an agent.
    Review,
}
