//! An incident: one account's suspicious activity, worked as one ticket,
//! with what it reached and when (its milestones and deadlines).
//!
//! Its state machine is in `status`; its deadlines, breaches and response
//! times in `deadlines`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::audit::{AuditAction, AuditRecord};
use super::ids::{AccountId, IncidentId};
use super::priority::{Priority, Sla};
use super::time::Timestamp;

mod deadlines;
pub use deadlines::*;

mod status;
pub use status::*;

/// The longest note an agent may leave on a decision.
pub const MAX_NOTE_CHARS: usize = 4000;

/// An agent's note on a decision: at most [`MAX_NOTE_CHARS`] characters.
pub fn check_note(note: &str) -> Result<(), &'static str> {
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err("must be at most 4000 characters");
    }
    Ok(())
}

/// The priority after a new assessment: it only rises.
pub fn raised_priority(current: Priority, assessed: Priority) -> Priority {
    current.min(assessed)
}

/// An incident: one account's suspicious activity, worked as one ticket.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub id: IncidentId,
    pub account_id: AccountId,
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
        account_id: AccountId,
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
mod tests;
