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
//! (Over 400 lines: the holder's flow as one state machine with its wait
//! estimate; unit tests at the end.)

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::audit::AuditAction;
use super::ids::{FlowId, IncidentId, RunId};
use super::time::Timestamp;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub alert_id: String,
    /// "This was me".
    pub mine: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub id: FlowId,
    pub account_id: String,
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
    pub fn new(id: FlowId, account_id: String, incident_id: IncidentId, now: Timestamp) -> Self {
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// Estimates how long a holder at `position` in the review queue will wait.
///
/// Throughput first: if agents decided at least three reviews within the
/// recent `window`, they clear about `decided / window` reviews per second,
/// so position `p` waits about `p × window / decided` (Little's law for a
/// queue served at a steady rate). With fewer recent decisions throughput
/// cannot be measured; then each position ahead is taken to cost the median
/// time recent reviews took from queueing to decision (conservative: it
/// ignores agents working in parallel), and with no history at all a prior of
/// `default_per_review`. The answer is rounded up to whole minutes, between
/// one minute and two days: a holder is told "about 20 minutes", not
/// "1,197 seconds" or "never".
pub fn estimate_wait(
    position: u32,
    recent_durations: &[Duration],
    decided_in_window: u32,
    window: Duration,
    default_per_review: Duration,
) -> Duration {
    let position = position.max(1);
    let raw = if decided_in_window >= 3 {
        window.mul_f64(f64::from(position) / f64::from(decided_in_window))
    } else if !recent_durations.is_empty() {
        let mut sorted = recent_durations.to_vec();
        sorted.sort();
        sorted[sorted.len() / 2] * position
    } else {
        default_per_review * position
    };
    let minutes = raw.as_secs().div_ceil(60).clamp(1, 48 * 60);
    Duration::from_secs(minutes * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: u64) -> Timestamp {
        Timestamp::parse_rfc3339("2026-11-23T04:00:00Z")
            .unwrap()
            .plus(Duration::from_secs(minutes * 60))
    }

    fn flow() -> Flow {
        let mut flow = Flow::new(
            FlowId::from_string("f".into()),
            "a".into(),
            IncidentId::from_string("i".into()),
            at(0),
        );
        flow.issue_code(vec![1], "k", at(0)).unwrap();
        flow
    }

    const OPEN: AutomaticRoute = AutomaticRoute {
        playbook_allows: true,
        recent_failures: 0,
        confirmed_takeover: false,
        two_proofs: true,
    };

    fn answered(mine: bool) -> Vec<Answer> {
        vec![Answer {
            alert_id: "x".into(),
            mine,
        }]
    }

    #[test]
    fn the_happy_path_reaches_unfrozen_only_once_the_run_lifted_the_freeze() {
        let mut flow = flow();
        flow.submit_code(true, at(1)).unwrap();
        flow.submit_second_factor(true, at(2)).unwrap();
        let route = flow.submit_answers(answered(true), &OPEN, at(3)).unwrap();
        assert_eq!(route, Route::Unfreeze);
        assert_eq!(flow.state, FlowState::AwaitingActivityReview);
        assert!(flow.unfreezing());
        assert!(!flow.steps()[3].1, "not unfrozen before the lift");
        assert_eq!(
            flow.submit_answers(answered(true), &OPEN, at(3)),
            Err(StepError::NotNow("being unfrozen"))
        );
        flow.mark_unfrozen("holder", &RunId::from("r"), at(4));
        assert_eq!(flow.state, FlowState::Unfrozen);
        assert!(flow.steps().iter().all(|(_, done)| *done));
    }

    #[test]
    fn a_serious_incident_a_disowned_activity_or_a_guessed_account_goes_to_review() {
        let closed = [
            (
                AutomaticRoute {
                    playbook_allows: false,
                    ..OPEN
                },
                true,
            ),
            (OPEN, false),
            (
                AutomaticRoute {
                    recent_failures: ACCOUNT_FAILURE_LIMIT + 1,
                    ..OPEN
                },
                true,
            ),
            (
                AutomaticRoute {
                    confirmed_takeover: true,
                    ..OPEN
                },
                true,
            ),
            (
                AutomaticRoute {
                    two_proofs: false,
                    ..OPEN
                },
                true,
            ),
        ];
        for (route, mine) in closed {
            let mut flow = flow();
            flow.submit_code(true, at(1)).unwrap();
            flow.skip_second_factor(at(1)).unwrap();
            assert_eq!(
                flow.submit_answers(answered(mine), &route, at(2)),
                Ok(Route::Review),
                "{route:?} mine={mine}"
            );
            assert_eq!(flow.state, FlowState::InReview);
        }
        assert!(
            AutomaticRoute {
                recent_failures: ACCOUNT_FAILURE_LIMIT,
                ..OPEN
            }
            .is_open()
        );
    }

    #[test]
    fn a_failed_automatic_unfreeze_goes_to_the_agents() {
        let mut flow = flow();
        flow.submit_code(true, at(1)).unwrap();
        flow.skip_second_factor(at(1)).unwrap();
        flow.submit_answers(answered(true), &OPEN, at(2)).unwrap();
        flow.reopen_for_review(at(3));
        assert_eq!(flow.state, FlowState::InReview);
        assert_eq!(flow.queued_at, Some(at(3)));
    }

    #[test]
    fn a_locked_flow_blocks_a_new_one_for_an_hour() {
        assert!(new_flow_allowed(None, at(0)));
        assert!(!new_flow_allowed(Some(at(0)), at(59)));
        assert!(new_flow_allowed(Some(at(0)), at(60)));
    }

    #[test]
    fn a_live_flows_link_is_sent_again_at_most_once_a_minute() {
        let mut flow = flow();
        assert!(flow.link_due(at(0)));
        flow.link_sent_at = Some(at(0));
        assert!(!flow.link_due(at(0).plus(Duration::from_secs(59))));
        assert!(flow.link_due(at(1)));
    }

    #[test]
    fn five_wrong_codes_lock_the_flow() {
        let mut flow = flow();
        for tries_left in (1..5).rev() {
            assert_eq!(flow.submit_code(false, at(1)), Err(StepError::Wrong { tries_left }));
        }
        assert_eq!(flow.submit_code(false, at(1)), Err(StepError::Locked));
        assert_eq!(flow.state, FlowState::Locked);
        assert_eq!(flow.submit_code(true, at(1)), Err(StepError::NotNow("locked")));
    }

    #[test]
    fn a_code_expires_after_ten_minutes_and_a_resend_replaces_it() {
        let mut flow = flow();
        assert_eq!(flow.submit_code(true, at(10)), Err(StepError::CodeExpired));
        flow.issue_code(vec![2], "k", at(10)).unwrap();
        assert_eq!(flow.code_hash, Some(vec![2]));
        flow.submit_code(true, at(11)).unwrap();
    }

    #[test]
    fn codes_stop_after_five_sends() {
        let mut flow = flow();
        for _ in 1..MAX_CODES_SENT {
            flow.issue_code(vec![3], "k", at(1)).unwrap();
        }
        assert_eq!(flow.issue_code(vec![4], "k", at(1)), Err(StepError::TooManyCodes));
    }

    #[test]
    fn a_live_flow_expires_after_a_day() {
        let mut flow = flow();
        assert!(!flow.expire_if_due(at(24 * 60 - 1)));
        assert!(flow.expire_if_due(at(24 * 60)));
        assert_eq!(flow.state, FlowState::Expired);
    }

    #[test]
    fn the_wait_follows_recent_throughput() {
        let hour = Duration::from_secs(3600);
        // Six reviews decided in the last hour: ten minutes each.
        assert_eq!(estimate_wait(3, &[], 6, hour, hour), Duration::from_secs(30 * 60));
    }

    #[test]
    fn without_throughput_the_wait_follows_the_median_handling_time() {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        let recent = [minutes(5), minutes(20), minutes(400)];
        assert_eq!(estimate_wait(2, &recent, 1, minutes(60), minutes(30)), minutes(40));
        assert_eq!(estimate_wait(2, &[], 0, minutes(60), minutes(30)), minutes(60));
    }

    #[test]
    fn the_wait_is_whole_minutes_between_one_minute_and_two_days() {
        let hour = Duration::from_secs(3600);
        assert_eq!(estimate_wait(1, &[], 1000, hour, hour), Duration::from_secs(60));
        assert_eq!(estimate_wait(500, &[], 0, hour, hour), Duration::from_secs(48 * 3600));
    }
}
