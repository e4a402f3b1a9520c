//! Agents: roles, what each may do, and the rules of sign-in.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::time::Timestamp;

/// How long a session may sit unused.
pub const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long a session lasts at most, used or not.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// How long a step-up allows sensitive actions.
pub const ELEVATION: Duration = Duration::from_secs(5 * 60);
/// Failed password or code attempts that lock an agent…
pub const LOCKOUT_THRESHOLD: u32 = 5;
/// …when they happen within this window…
pub const LOCKOUT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// …for this long.
pub const LOCKOUT_DURATION: Duration = Duration::from_secs(15 * 60);

/// How the audit log and the timeline name an agent: `agent:<username>`.
pub fn agent_actor(username: &str) -> String {
    format!("agent:{username}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Analyst,
    Lead,
    Admin,
}

/// Something an agent may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    ReadIncidents,
    ClaimIncidents,
    AcknowledgeIncidents,
    DismissIncidents,
    RunContainment,
    RunRecovery,
    ApproveRuns,
    ResolveIncidents,
    ReviewUnfreezes,
    ManageAgents,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Analyst, Role::Lead, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Lead => "lead",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == text)
    }

    /// Analysts work the queue and contain; leads also recover, approve and
    /// resolve; admins manage agents (and may read, to see what they manage).
    pub fn can(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Analyst => matches!(
                permission,
                ReadIncidents | ClaimIncidents | AcknowledgeIncidents | DismissIncidents | RunContainment
            ),
            Role::Lead => !matches!(permission, ManageAgents),
            Role::Admin => matches!(permission, ManageAgents | ReadIncidents),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An agent's failed sign-in attempts and lock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lockout {
    pub failed_attempts: u32,
    pub window_started_at: Option<Timestamp>,
    pub locked_until: Option<Timestamp>,
}

impl Lockout {
    /// How much longer the agent is locked, if it is.
    pub fn remaining(&self, now: Timestamp) -> Option<Duration> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| until.since(now))
    }

    /// The state after one more failed attempt at `now`. The count restarts
    /// when the window of the first counted failure has passed.
    pub fn after_failure(&self, now: Timestamp) -> Lockout {
        let in_window = self
            .window_started_at
            .is_some_and(|start| now.since(start) < LOCKOUT_WINDOW);
        let (failed_attempts, window_started_at) = if in_window {
            (self.failed_attempts + 1, self.window_started_at)
        } else {
            (1, Some(now))
        };
        let locked_until = if failed_attempts >= LOCKOUT_THRESHOLD {
            Some(now.plus(LOCKOUT_DURATION))
        } else {
            self.locked_until
        };
        Lockout {
            failed_attempts,
            window_started_at,
            locked_until,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: u64) -> Timestamp {
        Timestamp::parse_rfc3339("2026-11-23T04:00:00Z")
            .unwrap()
            .plus(Duration::from_secs(minutes * 60))
    }

    #[test]
    fn five_failures_within_fifteen_minutes_lock_for_fifteen_minutes() {
        let mut lockout = Lockout::default();
        for minute in 0..4 {
            lockout = lockout.after_failure(at(minute));
            assert_eq!(lockout.remaining(at(minute)), None);
        }
        lockout = lockout.after_failure(at(10));
        assert_eq!(lockout.remaining(at(10)), Some(Duration::from_secs(15 * 60)));
        assert_eq!(lockout.remaining(at(25)), None);
    }

    #[test]
    fn failures_spread_over_more_than_the_window_do_not_lock() {
        let mut lockout = Lockout::default();
        for minute in [0, 5, 10, 14, 16] {
            lockout = lockout.after_failure(at(minute));
        }
        assert_eq!(lockout.remaining(at(16)), None);
        assert_eq!(lockout.failed_attempts, 1);
    }

    #[test]
    fn each_role_has_exactly_its_permissions() {
        assert!(Role::Analyst.can(Permission::RunContainment));
        assert!(!Role::Analyst.can(Permission::RunRecovery));
        assert!(!Role::Analyst.can(Permission::ApproveRuns));
        assert!(!Role::Analyst.can(Permission::ResolveIncidents));
        assert!(Role::Lead.can(Permission::ApproveRuns));
        assert!(Role::Lead.can(Permission::DismissIncidents));
        assert!(!Role::Lead.can(Permission::ManageAgents));
        assert!(Role::Admin.can(Permission::ManageAgents));
        assert!(!Role::Admin.can(Permission::RunContainment));
    }
}
