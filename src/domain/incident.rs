//! The incident state machine and its deadlines.
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
//!
//! (Over 400 lines: the state machine, its deadlines and the response
//! times it reports are one rule set on one type; unit tests at the end.)

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::audit::{AuditAction, AuditRecord};
use super::ids::IncidentId;
use super::priority::{Priority, Sla};
use super::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// The longest note an agent may leave on a decision.
pub const MAX_NOTE_CHARS: usize = 4000;

/// An agent's note on a decision: at most [`MAX_NOTE_CHARS`] characters.
pub fn check_note(note: &str) -> Result<(), &'static str> {
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err("must be at most 4000 characters");
    }
    Ok(())
}

/// When an incident must be acknowledged and contained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    pub acknowledge_by: Timestamp,
    pub contain_by: Timestamp,
}

impl Deadlines {
    pub fn starting(at: Timestamp, sla: Sla) -> Self {
        Self {
            acknowledge_by: at.plus(sla.acknowledge),
            contain_by: at.plus(sla.contain),
        }
    }

    /// Deadlines after the priority rose at `at`: the tighter of the old ones
    /// and those the new priority sets from now. Deadlines never move later.
    pub fn tightened(self, at: Timestamp, sla: Sla) -> Self {
        let fresh = Self::starting(at, sla);
        Self {
            acknowledge_by: self.acknowledge_by.min(fresh.acknowledge_by),
            contain_by: self.contain_by.min(fresh.contain_by),
        }
    }
}

/// Which deadline an incident missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breach {
    Acknowledge,
    Contain,
}

impl Breach {
    pub const ALL: [Breach; 2] = [Breach::Acknowledge, Breach::Contain];

    pub fn as_str(self) -> &'static str {
        match self {
            Breach::Acknowledge => "acknowledge",
            Breach::Contain => "contain",
        }
    }
}

/// What an incident had reached when it was last stored: the instants
/// response times are measured to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Milestones {
    pub acknowledged_at: Option<Timestamp>,
    pub contained_at: Option<Timestamp>,
    /// When it was resolved (not dismissed).
    pub resolved_at: Option<Timestamp>,
}

/// The response times reported as metrics (SPEC §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Milestone {
    Acknowledge,
    Contain,
    Resolve,
}

impl Milestone {
    pub const ALL: [Milestone; 3] = [Milestone::Acknowledge, Milestone::Contain, Milestone::Resolve];

    /// The histogram the time to this milestone is recorded in.
    pub fn metric(self) -> &'static str {
        match self {
            Milestone::Acknowledge => "holdfast_time_to_acknowledge_seconds",
            Milestone::Contain => "holdfast_time_to_contain_seconds",
            Milestone::Resolve => "holdfast_time_to_resolve_seconds",
        }
    }
}

/// The time from an incident's opening to a milestone, under the priority it opened with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseTime {
    pub milestone: Milestone,
    pub priority: Priority,
    pub duration: Duration,
}

/// The priority after a new assessment: it only rises.
pub fn raised_priority(current: Priority, assessed: Priority) -> Priority {
    current.min(assessed)
}

/// An incident: one account's suspicious activity, worked as one ticket.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub id: IncidentId,
    pub account_id: String,
    pub status: IncidentStatus,
    pub priority: Priority,
    /// The priority the incident opened with, which response times are
    /// reported under (`priority` may rise later).
    pub opened_priority: Priority,
    /// The highest alert score seen; with `priority`, it only rises.
    pub score: u32,
    pub priority_reasons: Vec<super::priority::Reason>,
    pub opened_at: Timestamp,
    pub updated_at: Timestamp,
    pub deadlines: Deadlines,
    /// When the incident was found past its acknowledge deadline, still open.
    pub acknowledge_breached_at: Option<Timestamp>,
    /// When the incident was found past its contain deadline, not yet contained.
    pub contain_breached_at: Option<Timestamp>,
    /// The agent working the incident, once one claimed or acknowledged it.
    pub assignee: Option<String>,
    pub acknowledged_at: Option<Timestamp>,
    pub contained_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub resolution: Option<Resolution>,
    pub resolution_note: Option<String>,
}

impl Incident {
    /// A new incident for `assessment`, opened at `at`.
    pub fn open(
        id: IncidentId,
        account_id: String,
        assessment: super::priority::Assessment,
        sla: Sla,
        at: Timestamp,
    ) -> Self {
        Self {
            id,
            account_id,
            status: IncidentStatus::Open,
            priority: assessment.priority,
            opened_priority: assessment.priority,
            score: assessment.score,
            priority_reasons: assessment.reasons,
            opened_at: at,
            updated_at: at,
            deadlines: Deadlines::starting(at, sla),
            acknowledge_breached_at: None,
            contain_breached_at: None,
            assignee: None,
            acknowledged_at: None,
            contained_at: None,
            closed_at: None,
            resolution: None,
            resolution_note: None,
        }
    }

    /// Takes a fresh assessment of all the incident's alerts into account.
    /// Returns the previous priority when it rose.
    pub fn reassess(
        &mut self,
        assessment: super::priority::Assessment,
        sla_of: impl Fn(Priority) -> Sla,
        at: Timestamp,
    ) -> Option<Priority> {
        let before = self.priority;
        self.priority = raised_priority(before, assessment.priority);
        self.score = self.score.max(assessment.score);
        for reason in assessment.reasons {
            if !self
                .priority_reasons
                .iter()
                .any(|r| r.rule == reason.rule && r.alert_id == reason.alert_id)
            {
                self.priority_reasons.push(reason);
            }
        }
        super::priority::sort_reasons(&mut self.priority_reasons);
        self.updated_at = at;
        (self.priority != before).then(|| {
            self.deadlines = self.deadlines.tightened(at, sla_of(self.priority));
            before
        })
    }

    /// Moves the incident through the state machine, stamping when it happened.
    pub fn apply(&mut self, transition: Transition, at: Timestamp) -> Result<(), IllegalTransition> {
        if transition == Transition::EndDrill && !self.is_drill() {
            return Err(IllegalTransition {
                from: self.status,
                transition,
            });
        }
        self.status = self.status.apply(transition)?;
        self.updated_at = at;
        match transition {
            Transition::Acknowledge => self.acknowledged_at = Some(at),
            Transition::Contain => self.contained_at = self.contained_at.or(Some(at)),
            Transition::Resolve | Transition::Dismiss | Transition::EndDrill => self.closed_at = Some(at),
            Transition::StartRecovery => {}
        }
        Ok(())
    }

    /// Applies `transition` and returns the timeline entry recording it:
    /// `incident.<new status>` by `actor`, with `from` and `to` added to `detail`.
    pub fn transition(
        &mut self,
        transition: Transition,
        actor: &str,
        detail: serde_json::Value,
        at: Timestamp,
    ) -> Result<AuditRecord, IllegalTransition> {
        let from = self.status;
        self.apply(transition, at)?;
        let mut detail = if detail.is_object() {
            detail
        } else {
            serde_json::json!({})
        };
        detail["from"] = serde_json::json!(from);
        detail["to"] = serde_json::json!(self.status);
        Ok(AuditRecord::new(at, actor, self.status.audit_action())
            .incident(&self.id, &self.account_id)
            .detail(detail))
    }

    /// Whether this is a drill's incident (SPEC §14): it counts in no figure
    /// (histograms, overview, rule quality, replay) and ends by itself.
    pub fn is_drill(&self) -> bool {
        super::drill::is_drill_account(&self.account_id)
    }

    /// The time to acknowledge as the overview counts it: never a drill's.
    pub fn counted_time_to_acknowledge(&self) -> Option<Duration> {
        self.time_to_acknowledge().filter(|_| !self.is_drill())
    }

    /// The time to contain as the overview counts it: never a drill's.
    pub fn counted_time_to_contain(&self) -> Option<Duration> {
        self.time_to_contain().filter(|_| !self.is_drill())
    }

    /// The time to resolve as the overview counts it: never a drill's.
    pub fn counted_time_to_resolve(&self) -> Option<Duration> {
        self.time_to_resolve().filter(|_| !self.is_drill())
    }

    /// How long the incident took to be acknowledged, once it was.
    pub fn time_to_acknowledge(&self) -> Option<Duration> {
        self.acknowledged_at.map(|at| at.since(self.opened_at))
    }

    /// How long the incident took to be contained, once it was.
    pub fn time_to_contain(&self) -> Option<Duration> {
        self.contained_at.map(|at| at.since(self.opened_at))
    }

    /// How long the incident took to be resolved (not dismissed), once it was.
    pub fn time_to_resolve(&self) -> Option<Duration> {
        match self.status {
            IncidentStatus::Resolved => self.closed_at.map(|at| at.since(self.opened_at)),
            _ => None,
        }
    }

    /// The instants its response times are measured to, as they stand.
    pub fn milestones(&self) -> Milestones {
        Milestones {
            acknowledged_at: self.acknowledged_at,
            contained_at: self.contained_at,
            resolved_at: self.closed_at.filter(|_| self.status == IncidentStatus::Resolved),
        }
    }

    /// The response times this incident reached since it was in the state
    /// `before` records: each is reported once, by the change that reached it.
    pub fn response_times_since(&self, before: &Milestones) -> Vec<ResponseTime> {
        if self.is_drill() {
            // A rehearsal's response times are its report's, not the team's figures.
            return Vec::new();
        }
        let reached = |milestone, was: Option<Timestamp>, now: Option<Duration>| {
            now.filter(|_| was.is_none()).map(|duration| ResponseTime {
                milestone,
                priority: self.opened_priority,
                duration,
            })
        };
        [
            reached(
                Milestone::Acknowledge,
                before.acknowledged_at,
                self.time_to_acknowledge(),
            ),
            reached(Milestone::Contain, before.contained_at, self.time_to_contain()),
            reached(Milestone::Resolve, before.resolved_at, self.time_to_resolve()),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    pub fn sla_breached(&self) -> bool {
        self.acknowledge_breached_at.is_some() || self.contain_breached_at.is_some()
    }

    /// Records the deadlines the incident has missed by `now` and returns those
    /// not recorded before: each breach is escalated once.
    ///
    /// The acknowledge deadline counts while nobody has acknowledged the
    /// incident; the contain deadline while the account is not yet contained.
    pub fn record_breaches(&mut self, now: Timestamp) -> Vec<Breach> {
        let mut new = Vec::new();
        let unacknowledged = self.status == IncidentStatus::Open;
        let uncontained = matches!(self.status, IncidentStatus::Open | IncidentStatus::Acknowledged);
        if unacknowledged && now >= self.deadlines.acknowledge_by && self.acknowledge_breached_at.is_none() {
            self.acknowledge_breached_at = Some(now);
            new.push(Breach::Acknowledge);
        }
        if uncontained && now >= self.deadlines.contain_by && self.contain_breached_at.is_none() {
            self.contain_breached_at = Some(now);
            new.push(Breach::Contain);
        }
        if !new.is_empty() {
            self.updated_at = now;
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;
    use std::time::Duration;

    #[test]
    fn the_documented_path_is_allowed() {
        assert_eq!(Open.apply(Transition::Acknowledge), Ok(Acknowledged));
        assert_eq!(Acknowledged.apply(Transition::Contain), Ok(Contained));
        assert_eq!(Contained.apply(Transition::StartRecovery), Ok(Recovering));
        assert_eq!(Recovering.apply(Transition::Resolve), Ok(Resolved));
        assert_eq!(Open.apply(Transition::Dismiss), Ok(Dismissed));
        assert_eq!(Acknowledged.apply(Transition::Dismiss), Ok(Dismissed));
    }

    #[test]
    fn closed_and_contained_incidents_cannot_be_dismissed() {
        for from in [Contained, Recovering, Resolved, Dismissed] {
            assert_eq!(
                from.apply(Transition::Dismiss),
                Err(IllegalTransition {
                    from,
                    transition: Transition::Dismiss
                })
            );
        }
    }

    #[test]
    fn an_open_incident_cannot_be_resolved_before_it_is_contained() {
        assert!(Open.apply(Transition::Resolve).is_err());
        assert!(Acknowledged.apply(Transition::Resolve).is_err());
    }

    #[test]
    fn acknowledging_twice_is_illegal() {
        let error = Acknowledged.apply(Transition::Acknowledge).unwrap_err();
        assert_eq!(error.to_string(), "cannot acknowledge an incident that is acknowledged");
    }

    #[test]
    fn priority_only_rises() {
        assert_eq!(raised_priority(Priority::P3, Priority::P1), Priority::P1);
        assert_eq!(raised_priority(Priority::P1, Priority::P4), Priority::P1);
    }

    #[test]
    fn a_rise_tightens_deadlines_but_never_relaxes_them() {
        let t0 = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
        let p3 = Sla {
            acknowledge: Duration::from_secs(4 * 3600),
            contain: Duration::from_secs(24 * 3600),
        };
        let p1 = Sla {
            acknowledge: Duration::from_secs(300),
            contain: Duration::from_secs(900),
        };
        let start = Deadlines::starting(t0, p3);
        let later = t0.plus(Duration::from_secs(60));
        let raised = start.tightened(later, p1);
        assert_eq!(raised.acknowledge_by, later.plus(Duration::from_secs(300)));
        assert_eq!(
            Deadlines::starting(t0, p1).tightened(later, p3),
            Deadlines::starting(t0, p1)
        );
    }

    #[test]
    fn only_unacknowledged_incidents_breach_the_acknowledge_deadline_and_only_once() {
        let t0 = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
        let sla = Sla {
            acknowledge: Duration::from_secs(300),
            contain: Duration::from_secs(900),
        };
        let assessment = crate::domain::priority::Assessment {
            priority: Priority::P2,
            score: 60,
            reasons: vec![],
        };
        let mut incident = Incident::open(IncidentId::from_string("i".into()), "a".into(), assessment, sla, t0);
        assert!(incident.record_breaches(t0).is_empty());
        let after_ack = t0.plus(Duration::from_secs(301));
        assert_eq!(incident.record_breaches(after_ack), [Breach::Acknowledge]);
        assert!(incident.record_breaches(after_ack).is_empty());
        assert!(incident.sla_breached());

        let mut acknowledged = Incident::open(
            IncidentId::from_string("j".into()),
            "a".into(),
            incident_assessment(),
            sla,
            t0,
        );
        acknowledged.apply(Transition::Acknowledge, t0).unwrap();
        assert!(acknowledged.record_breaches(after_ack).is_empty());
        let after_contain = t0.plus(Duration::from_secs(901));
        assert_eq!(acknowledged.record_breaches(after_contain), [Breach::Contain]);
        acknowledged.apply(Transition::Contain, after_contain).unwrap();
        assert!(
            acknowledged
                .record_breaches(t0.plus(Duration::from_secs(10_000)))
                .is_empty()
        );
    }

    fn incident_assessment() -> crate::domain::priority::Assessment {
        crate::domain::priority::Assessment {
            priority: Priority::P2,
            score: 60,
            reasons: vec![],
        }
    }
}
