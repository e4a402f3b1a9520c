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
/// Failed password or code attempts from one source that lock it out of a
/// username…
pub const LOCKOUT_THRESHOLD: u32 = 5;
/// …when they happen within any window this long…
pub const LOCKOUT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// …for this long.
pub const LOCKOUT_DURATION: Duration = Duration::from_secs(15 * 60);
/// Failures from every source within the window that lock a username for all.
pub const DISTRIBUTED_THRESHOLD: u32 = 50;
/// How long failures are remembered: long enough to know every lock in force.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(30 * 60);
/// The longest a failed answer is held back.
const MAX_DELAY: Duration = Duration::from_secs(4);

/// How the audit log and the timeline name an agent: `agent:<username>`.
pub fn agent_actor(username: &str) -> String {
    format!("agent:{username}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Reading how each priority rule's incidents ended (SPEC §14): leads.
    ReadRuleQuality,
    /// Setting and releasing legal holds on incidents (SPEC §15): leads.
    HoldLegally,
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

/// The failed sign-in and step-up attempts against one username in the
/// last [`FAILURE_MEMORY`], from the caller's source and from everywhere.
///
/// Counted per username and source: one anonymous client cannot lock every
/// agent (or a real agent out of their own account) by failing from its own
/// address; it locks only itself out of that username. Against a distributed
/// attack, every failure from anywhere slows the next failed answer
/// ([`FailureHistory::delay`]), and past [`DISTRIBUTED_THRESHOLD`] failures
/// from everywhere the username is locked for every source. Usernames that
/// do not exist are counted the same way, so locking reveals nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailureHistory {
    /// Failures from the caller's source, oldest first.
    pub from_source: Vec<Timestamp>,
    /// Failures from every source, oldest first.
    pub from_everywhere: Vec<Timestamp>,
}

impl FailureHistory {
    /// How much longer the caller is locked out of this username, if it is.
    pub fn locked_for(&self, now: Timestamp) -> Option<Duration> {
        let until = [
            lock_end(&self.from_source, LOCKOUT_THRESHOLD),
            lock_end(&self.from_everywhere, DISTRIBUTED_THRESHOLD),
        ]
        .into_iter()
        .flatten()
        .max()?;
        (until > now).then(|| until.since(now))
    }

    /// How long to hold back the answer to a failed attempt: doubling from a
    /// quarter of a second with each recent failure from anywhere, up to
    /// four seconds, so guessing from many sources at once stays slow.
    pub fn delay(&self) -> Duration {
        let recent = u32::try_from(self.from_everywhere.len()).unwrap_or(u32::MAX);
        match recent {
            0 => Duration::ZERO,
            n => (Duration::from_millis(250) * 2u32.saturating_pow(n.saturating_sub(1).min(8))).min(MAX_DELAY),
        }
    }
}

/// When the lock `failures` earn ends: [`LOCKOUT_DURATION`] after the latest
/// failure that completes `threshold` failures within any [`LOCKOUT_WINDOW`]
/// (a sliding window, not a fixed one that restarts).
fn lock_end(failures: &[Timestamp], threshold: u32) -> Option<Timestamp> {
    let threshold = usize::try_from(threshold).ok()?.max(1);
    failures
        .windows(threshold)
        .filter(|run| run[threshold - 1].since(run[0]) < LOCKOUT_WINDOW)
        .map(|run| run[threshold - 1].plus(LOCKOUT_DURATION))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: u64) -> Timestamp {
        Timestamp::parse_rfc3339("2026-11-23T04:00:00Z")
            .unwrap()
            .plus(Duration::from_secs(minutes * 60))
    }

    fn from_source(minutes: &[u64]) -> FailureHistory {
        let times: Vec<Timestamp> = minutes.iter().map(|m| at(*m)).collect();
        FailureHistory {
            from_source: times.clone(),
            from_everywhere: times,
        }
    }

    #[test]
    fn five_failures_within_fifteen_minutes_lock_for_fifteen_minutes() {
        let four = from_source(&[0, 1, 2, 3]);
        assert_eq!(four.locked_for(at(3)), None);
        let five = from_source(&[0, 1, 2, 3, 10]);
        assert_eq!(five.locked_for(at(10)), Some(Duration::from_secs(15 * 60)));
        assert_eq!(five.locked_for(at(25)), None);
    }

    #[test]
    fn failures_spread_over_more_than_the_window_do_not_lock() {
        assert_eq!(from_source(&[0, 5, 10, 14, 16]).locked_for(at(16)), None);
    }

    #[test]
    fn the_window_slides_rather_than_restarting() {
        // A fixed window opened at minute 0 would have restarted at 15 and
        // counted only two failures by minute 20.
        let history = from_source(&[0, 10, 12, 14, 16, 20]);
        assert_eq!(history.locked_for(at(20)), Some(Duration::from_secs(15 * 60)));
    }

    #[test]
    fn other_sources_failing_slow_the_answer_but_do_not_lock_this_one() {
        let history = FailureHistory {
            from_source: vec![],
            from_everywhere: (0..40).map(|i| at(i / 4)).collect(),
        };
        assert_eq!(history.locked_for(at(10)), None);
        assert_eq!(history.delay(), Duration::from_secs(4));
        assert_eq!(FailureHistory::default().delay(), Duration::ZERO);
        assert_eq!(from_source(&[0, 1]).delay(), Duration::from_millis(500));
    }

    #[test]
    fn fifty_failures_from_everywhere_lock_the_username_for_every_source() {
        let history = FailureHistory {
            from_source: vec![],
            from_everywhere: (0..50).map(|i| at(i / 5)).collect(),
        };
        assert!(history.locked_for(at(10)).is_some());
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
