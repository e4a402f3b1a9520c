//! Playbook runs: their states and the gates that pause them.
//!
//! A run moves through its steps in order. A step is `pending` until the
//! runner reaches it; an action with an effect (a hold, a request to the
//! exchange) is `running` until its effect is verified, then `succeeded`; a
//! gate (MFA, the holder's identity, a second lead's approval) is `waiting`
//! until it opens. The run is `waiting` while a gate holds it, `running`
//! while an effect is being confirmed, and ends `succeeded` or `failed`.
//!
//! (Over 400 lines: every step transition of a run on one type, so the
//! engine asks one place; unit tests at the end.)

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

    pub const ALL: [RunStatus; 4] = [
        RunStatus::Running,
        RunStatus::Waiting,
        RunStatus::Succeeded,
        RunStatus::Failed,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
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

    fn two_step_run(initiator: Initiator) -> Run {
        let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
        let steps: Vec<Step> = serde_json::from_value(serde_json::json!([
            {"name": "gate", "action": "approval.require", "approvals": 1, "role": "lead",
             "for_priorities": ["P1"], "automatic": false, "mfa": false},
            {"name": "freeze", "action": "hold.place", "scopes": ["login"], "reason": "r",
             "cool_off_seconds": null, "automatic": true, "mfa": false},
        ]))
        .unwrap();
        let reference = PlaybookRef {
            id: "p".into(),
            version: 1,
            digest: "d".into(),
            kind: PlaybookKind::Containment,
        };
        Run::start("r".into(), "i".into(), reference, &steps, initiator, at)
    }

    fn at(seconds: u64) -> Timestamp {
        Timestamp::parse_rfc3339("2026-11-23T04:00:00Z")
            .unwrap()
            .plus(Duration::from_secs(seconds))
    }

    #[test]
    fn who_starts_a_run_decides_its_mfa_and_whether_only_automatic_steps_run() {
        let system = two_step_run(Initiator::System);
        assert!(system.automatic_only && system.elevated_at.is_none());
        let holder = two_step_run(Initiator::Holder);
        assert!(!holder.automatic_only && holder.elevated_at == Some(holder.created_at));
        let agent = two_step_run(Initiator::Agent {
            id: "a-1".into(),
            username: "alice".into(),
            elevated_at: at(0),
        });
        assert_eq!(
            (agent.started_by.as_str(), agent.started_by_name.as_str()),
            ("a-1", "agent:alice")
        );
        assert!(agent.steps.iter().all(|s| s.status == StepStatus::Pending));
        assert_eq!(agent.steps[1].position, 2);
    }

    #[test]
    fn waiting_on_a_gate_is_recorded_once() {
        let mut run = two_step_run(Initiator::System);
        let first = run.wait_step(0, Gate::Approval, at(1)).unwrap();
        assert_eq!(first.action, "run.step_waiting");
        assert_eq!(first.detail["waiting_for"], "approval");
        assert_eq!(first.detail["position"], 1);
        assert_eq!(run.wait_step(0, Gate::Approval, at(2)), None);
        assert!(run.wait_step(0, Gate::Mfa, at(3)).is_some());
        assert_eq!(run.steps[0].started_at, Some(at(1)));
    }

    #[test]
    fn an_effect_step_runs_until_verified_then_succeeds() {
        let mut run = two_step_run(Initiator::System);
        let started = run.begin_step(
            1,
            serde_json::from_value(serde_json::json!({"messages": ["k"]})).unwrap(),
            at(1),
        );
        assert_eq!(started.action, "run.step_started");
        assert_eq!(run.steps[1].status, StepStatus::Running);
        let done = run.succeed_step(
            1,
            serde_json::from_value(serde_json::json!({"confirmed": ["k"]})).unwrap(),
            at(2),
        );
        assert_eq!(done.action, "run.step_succeeded");
        assert_eq!(run.steps[1].status, StepStatus::Succeeded);
        assert_eq!(
            (run.steps[1].started_at, run.steps[1].finished_at),
            (Some(at(1)), Some(at(2)))
        );
        assert_eq!(run.outcome(), None);
        assert_eq!(run.succeed(at(3)).action, "run.succeeded");
        assert_eq!(run.outcome(), Some(RunOutcome::Succeeded));
    }

    #[test]
    fn a_failed_step_fails_the_run_and_says_why() {
        let mut run = two_step_run(Initiator::System);
        let sent = StepOutcome {
            messages: Some(vec!["k".into()]),
            ..StepOutcome::default()
        };
        run.begin_step(1, sent, at(1));
        let [step, whole] = run.fail_step(1, "the exchange did not confirm k", at(2));
        assert_eq!(
            (step.action.as_str(), whole.action.as_str()),
            ("run.step_failed", "run.failed")
        );
        assert_eq!(run.status, RunStatus::Failed);
        assert_eq!(
            run.failure.as_deref(),
            Some("step 2 (freeze): the exchange did not confirm k")
        );
        assert_eq!(run.steps[1].outcome.as_ref().unwrap().messages()[0], "k");
        assert_eq!(run.outcome(), Some(RunOutcome::Failed));
    }

    #[test]
    fn a_skipped_step_says_why_and_counts_as_done() {
        let mut run = two_step_run(Initiator::System);
        let event = run.skip_step(0, "not automatic", at(1));
        assert_eq!(event.action, "run.step_skipped");
        assert!(run.steps[0].status.is_done());
        assert_eq!(
            run.steps[0].outcome.as_ref().unwrap().reason.as_deref(),
            Some("not automatic")
        );
    }
}
