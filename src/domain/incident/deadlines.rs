//! When an incident must be acknowledged and contained, which deadline it
//! missed, and the response times it reports.

use super::*;

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
