//! Playbook runs: their states and the gates that pause them.
//!
//! A run moves through its steps in order: a step starts once the steps it
//! waits for are done (every step before it, unless it is a request to the
//! exchange that names its own; see [`super::playbook::Step::after`]), so
//! several requests may be in flight at once. A step is `pending` until the
//! runner reaches it; an action with an effect (a hold, a request to the
//! exchange) is `running` until its effect is verified, then `succeeded`; a
//! gate (MFA, the holder's identity, a second lead's approval) is `waiting`
//! until it opens. The run is `waiting` while a gate holds it, `running`
//! while an effect is being confirmed, and ends `succeeded` or `failed`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::agent::{ELEVATION, agent_actor};
use super::audit::AuditAction;
use super::ids::{AgentId, IncidentId, RunId};
use super::incident::{Incident, Resolution};
use super::playbook::{PlaybookKind, Step};
use super::priority::Priority;
use super::time::Timestamp;

pub mod outcome;

pub use outcome::StepOutcome;

mod status;
pub use status::*;

/// The playbook a run follows, as it was when the run started.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlaybookRef {
    pub id: String,
    pub version: u32,
    pub digest: String,
    pub kind: PlaybookKind,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Approval {
    pub agent_id: AgentId,
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
    pub outcome: Option<StepOutcome>,
}

impl std::borrow::Borrow<Step> for RunStep {
    fn borrow(&self) -> &Step {
        &self.step
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub id: RunId,
    pub incident_id: IncidentId,
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
        let counted = self
            .approvals
            .iter()
            .filter(|a| a.agent_id.as_str() != self.started_by)
            .count();
        counted >= needed as usize
    }

    /// How many approvals the run's playbook asks for at `priority`.
    pub fn approvals_needed(&self, priority: Priority) -> u32 {
        let steps: Vec<Step> = self.steps.iter().map(|s| s.step.clone()).collect();
        super::playbook::approvals_needed(&steps, priority)
    }

    /// Whether a `hold.lift` may go ahead now, judged against the incident as
    /// it is in the transaction that lifts: its priority may have risen (and
    /// with it the approvals it needs) since the run's approval step passed,
    /// and a confirmed takeover is never lifted on the holder's word alone.
    pub fn lift_check(&self, incident: &Incident) -> LiftCheck {
        if self.started_by == "holder" && incident.resolution == Some(Resolution::ConfirmedTakeover) {
            return LiftCheck::Refuse(
                "the incident was resolved as a confirmed takeover: only an agent may lift its freeze".into(),
            );
        }
        let needed = self.approvals_needed(incident.priority);
        if needed > 0 && self.started_by == "holder" {
            return LiftCheck::Refuse(format!(
                "the incident is now {}: lifting its freeze needs an agent and a second lead",
                incident.priority
            ));
        }
        let counted = self
            .approvals
            .iter()
            .filter(|a| a.agent_id.as_str() != self.started_by)
            .count();
        if counted < needed as usize {
            return LiftCheck::Wait(Gate::Approval);
        }
        LiftCheck::Proceed
    }

    /// Whether step `index` may start: every step it waits for succeeded or
    /// was skipped.
    pub fn ready(&self, index: usize) -> bool {
        super::playbook::waits_for(&self.steps, index).all(|position| self.steps[position].status.is_done())
    }

    /// Whether the playbook has an approval step at all.
    pub fn needs_approvals(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.step.action, super::playbook::Action::RequireApproval { .. }))
    }
}

/// A timeline entry a run's transition asks the runner to record.
#[derive(Clone, Debug, PartialEq)]
pub struct RunEvent {
    /// `run.step_started`, `run.step_succeeded`, …, `run.succeeded`, `run.failed`.
    pub action: AuditAction,
    pub detail: Value,
}

/// Whether a `hold.lift` step may act now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiftCheck {
    Proceed,
    /// Wait at the lift step until the gate opens (a second lead's approval).
    Wait(Gate),
    /// Never, in this run: the step fails and says why.
    Refuse(String),
}

/// How a run ended, for the features that react to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    Succeeded,
    Failed,
}

impl Run {
    /// A new run of `playbook`'s `steps` on an incident, every step pending.
    pub fn start(
        id: RunId,
        incident_id: IncidentId,
        playbook: PlaybookRef,
        steps: &[Step],
        initiator: Initiator,
        now: Timestamp,
    ) -> Self {
        let (started_by, started_by_name, elevated_at, automatic_only) = match initiator {
            Initiator::System => ("system".to_owned(), "system".to_owned(), None, true),
            Initiator::Holder => ("holder".to_owned(), "holder".to_owned(), Some(now), false),
            Initiator::Agent {
                id,
                username,
                elevated_at,
            } => (id.to_string(), agent_actor(&username), Some(elevated_at), false),
        };
        Run {
            id,
            incident_id,
            playbook,
            status: RunStatus::Running,
            started_by,
            started_by_name,
            automatic_only,
            elevated_at,
            created_at: now,
            updated_at: now,
            finished_at: None,
            failure: None,
            steps: steps
                .iter()
                .enumerate()
                .map(|(index, step)| RunStep {
                    position: index as u32 + 1,
                    step: step.clone(),
                    status: StepStatus::Pending,
                    waiting_for: None,
                    started_at: None,
                    finished_at: None,
                    outcome: None,
                })
                .collect(),
            approvals: Vec::new(),
        }
    }

    /// An effect step has acted and is `running` until its effect is verified.
    pub fn begin_step(&mut self, index: usize, outcome: StepOutcome, now: Timestamp) -> RunEvent {
        let step = &mut self.steps[index];
        step.status = StepStatus::Running;
        step.waiting_for = None;
        step.started_at = Some(now);
        let detail = outcome.to_json();
        step.outcome = Some(outcome);
        self.step_event(index, AuditAction::RunStepStarted, detail)
    }

    /// The step is done: its effect is verified, or its gate opened.
    pub fn succeed_step(&mut self, index: usize, outcome: StepOutcome, now: Timestamp) -> RunEvent {
        let step = &mut self.steps[index];
        step.status = StepStatus::Succeeded;
        step.waiting_for = None;
        step.started_at.get_or_insert(now);
        step.finished_at = Some(now);
        let detail = outcome.to_json();
        step.outcome = Some(outcome);
        self.step_event(index, AuditAction::RunStepSucceeded, detail)
    }

    /// The step waits for `gate`; recorded only when it starts waiting for it.
    pub fn wait_step(&mut self, index: usize, gate: Gate, now: Timestamp) -> Option<RunEvent> {
        let step = &mut self.steps[index];
        if step.status == StepStatus::Waiting && step.waiting_for == Some(gate) {
            return None;
        }
        step.status = StepStatus::Waiting;
        step.waiting_for = Some(gate);
        step.started_at.get_or_insert(now);
        Some(self.step_event(
            index,
            AuditAction::RunStepWaiting,
            json!({"waiting_for": gate.as_str()}),
        ))
    }

    /// The step is passed over (a manual step in an automatic-only run).
    pub fn skip_step(&mut self, index: usize, reason: &str, now: Timestamp) -> RunEvent {
        let step = &mut self.steps[index];
        step.status = StepStatus::Skipped;
        step.finished_at = Some(now);
        step.outcome = Some(StepOutcome {
            reason: Some(reason.to_owned()),
            ..StepOutcome::default()
        });
        self.step_event(index, AuditAction::RunStepSkipped, json!({}))
    }

    /// The step failed, and the run with it.
    pub fn fail_step(&mut self, index: usize, reason: &str, now: Timestamp) -> [RunEvent; 2] {
        let step = &mut self.steps[index];
        step.status = StepStatus::Failed;
        step.waiting_for = None;
        step.finished_at = Some(now);
        let mut outcome = step.outcome.take().unwrap_or_default();
        outcome.error = Some(reason.to_owned());
        step.outcome = Some(outcome);
        let failure = format!("step {} ({}): {reason}", step.position, step.step.name);
        let step_failed = self.step_event(index, AuditAction::RunStepFailed, json!({"error": reason}));
        self.status = RunStatus::Failed;
        self.failure = Some(failure.clone());
        self.finished_at = Some(now);
        self.updated_at = now;
        let run_failed = RunEvent {
            action: AuditAction::RunFailed,
            detail: json!({"run_id": self.id, "failure": failure}),
        };
        [step_failed, run_failed]
    }

    /// The run pauses: `running` while an effect is confirmed, `waiting` at a gate.
    pub fn pause(&mut self, status: RunStatus, now: Timestamp) {
        self.status = status;
        self.updated_at = now;
    }

    /// Every step is done.
    pub fn succeed(&mut self, now: Timestamp) -> RunEvent {
        self.status = RunStatus::Succeeded;
        self.finished_at = Some(now);
        self.updated_at = now;
        RunEvent {
            action: AuditAction::RunSucceeded,
            detail: json!({"run_id": self.id, "playbook_id": self.playbook.id}),
        }
    }

    /// The outcome of a finished run.
    pub fn outcome(&self) -> Option<RunOutcome> {
        match self.status {
            RunStatus::Succeeded => Some(RunOutcome::Succeeded),
            RunStatus::Failed => Some(RunOutcome::Failed),
            RunStatus::Running | RunStatus::Waiting => None,
        }
    }

    fn step_event(&self, index: usize, action: AuditAction, detail: Value) -> RunEvent {
        let step = &self.steps[index];
        let mut detail = if detail.is_object() { detail } else { json!({}) };
        detail["run_id"] = json!(self.id);
        detail["position"] = json!(step.position);
        detail["step"] = json!(step.step.name);
        detail["action"] = json!(step.step.action.name());
        RunEvent { action, detail }
    }
}

/// Who starts a run.
#[derive(Clone, Debug, PartialEq)]
pub enum Initiator {
    /// Holdfast itself, for automatic containment: only automatic steps run.
    System,
    /// The account holder, through the unfreeze flow; their verified second
    /// factor counts as the run's MFA.
    Holder,
    /// An agent, who stepped up at `elevated_at`.
    Agent {
        id: AgentId,
        username: String,
        elevated_at: Timestamp,
    },
}

#[cfg(test)]
mod tests;
