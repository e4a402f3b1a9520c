//! Playbook runs: their states and the gates that pause them.
//!
//! A run moves through its steps in order. A step is `pending` until the
//! runner reaches it; an action with an effect (a hold, a request to the
//! exchange) is `running` until its effect is verified, then `succeeded`; a
//! gate (MFA, the holder's identity, a second lead's approval) is `waiting`
//! until it opens. The run is `waiting` while a gate holds it, `running`
//! while an effect is being confirmed, and ends `succeeded` or `failed`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::agent::ELEVATION;
use super::playbook::{PlaybookKind, Step};
use super::priority::Priority;
use super::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Waiting,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Waiting => "waiting",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            RunStatus::Running,
            RunStatus::Waiting,
            RunStatus::Succeeded,
            RunStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Failed)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    Waiting,
    Succeeded,
    Failed,
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Waiting => "waiting",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            StepStatus::Pending,
            StepStatus::Running,
            StepStatus::Waiting,
            StepStatus::Succeeded,
            StepStatus::Failed,
            StepStatus::Skipped,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    pub fn is_done(self) -> bool {
        matches!(self, StepStatus::Succeeded | StepStatus::Skipped)
    }
}

/// What a waiting step waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// A fresh step-up (an agent's, or the holder's verified second factor).
    Mfa,
    /// The holder's identity, verified by the unfreeze flow.
    Identity,
    /// Approvals by leads other than the agent who started the run.
    Approval,
}

impl Gate {
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Mfa => "mfa",
            Gate::Identity => "identity",
            Gate::Approval => "approval",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Gate::Mfa, Gate::Identity, Gate::Approval]
            .into_iter()
            .find(|g| g.as_str() == text)
    }
}

/// The playbook a run follows, as it was when the run started.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlaybookRef {
    pub id: String,
    pub version: u32,
    pub digest: String,
    pub kind: PlaybookKind,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Approval {
    pub agent_id: String,
    pub username: String,
    pub approved_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunStep {
    pub position: u32,
    pub step: Step,
    pub status: StepStatus,
    pub waiting_for: Option<Gate>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// What the step did: holds placed, messages sent, why it failed.
    pub outcome: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub id: String,
    pub incident_id: String,
    pub playbook: PlaybookRef,
    pub status: RunStatus,
    /// `system`, `holder`, or the id of the agent who started the run.
    pub started_by: String,
    pub started_by_name: String,
    /// Only the playbook's automatic steps run; the others are skipped.
    pub automatic_only: bool,
    /// The latest fresh MFA given for this run.
    pub elevated_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub failure: Option<String>,
    pub steps: Vec<RunStep>,
    pub approvals: Vec<Approval>,
}

impl Run {
    /// Whether an MFA-marked step may run now: an MFA was given for this run
    /// within the elevation window.
    pub fn mfa_is_fresh(&self, now: Timestamp) -> bool {
        self.elevated_at
            .is_some_and(|at| at <= now && now.since(at) < ELEVATION)
    }

    /// Whether an approval step needing `needed` approvals (for incidents of
    /// `for_priorities`) is satisfied for an incident of `priority`. Only
    /// approvals by someone other than the run's initiator count.
    pub fn approved(&self, needed: u32, for_priorities: &[Priority], priority: Priority) -> bool {
        if !for_priorities.contains(&priority) {
            return true;
        }
        let counted = self.approvals.iter().filter(|a| a.agent_id != self.started_by).count();
        counted >= needed as usize
    }

    /// Whether the playbook has an approval step at all.
    pub fn needs_approvals(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.step.action, super::playbook::Action::RequireApproval { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn run(started_by: &str, approvals: &[&str]) -> Run {
        let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
        Run {
            id: "r".into(),
            incident_id: "i".into(),
            playbook: PlaybookRef {
                id: "p".into(),
                version: 1,
                digest: "d".into(),
                kind: PlaybookKind::Unfreeze,
            },
            status: RunStatus::Waiting,
            started_by: started_by.into(),
            started_by_name: started_by.into(),
            automatic_only: false,
            elevated_at: Some(at),
            created_at: at,
            updated_at: at,
            finished_at: None,
            failure: None,
            steps: vec![],
            approvals: approvals
                .iter()
                .map(|a| Approval {
                    agent_id: (*a).into(),
                    username: (*a).into(),
                    approved_at: at,
                })
                .collect(),
        }
    }

    #[test]
    fn the_initiators_own_approval_never_counts() {
        assert!(!run("alice", &["alice"]).approved(1, &Priority::ALL, Priority::P1));
        assert!(run("alice", &["alice", "bob"]).approved(1, &Priority::ALL, Priority::P1));
        assert!(!run("alice", &["bob"]).approved(2, &Priority::ALL, Priority::P1));
    }

    #[test]
    fn approvals_are_not_needed_outside_their_priorities() {
        assert!(run("alice", &[]).approved(1, &[Priority::P1, Priority::P2], Priority::P3));
        assert!(!run("alice", &[]).approved(1, &[Priority::P1, Priority::P2], Priority::P2));
    }

    #[test]
    fn mfa_stays_fresh_for_five_minutes() {
        let run = run("alice", &[]);
        let at = run.elevated_at.unwrap();
        assert!(run.mfa_is_fresh(at.plus(Duration::from_secs(299))));
        assert!(!run.mfa_is_fresh(at.plus(Duration::from_secs(300))));
    }
}
