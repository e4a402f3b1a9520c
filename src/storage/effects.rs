//! What a change did that must be followed up around its commit, recorded
//! on the transaction as one list of [`Effect`]s where it happens.
//!
//! Before the commit, `notices` reads the holder's news ([`HolderNews`]) in
//! the same transaction; after it, `AppState::commit` reads the rest
//! ([`Committed`]) and brings in-memory state in line.

use crate::domain::ids::{AccountId, IncidentId, RunId};
use crate::domain::incident::ResponseTime;
use crate::domain::priority::Priority;

/// One thing a change did that is followed up before or after its commit.
#[derive(Clone, Debug)]
pub enum Effect {
    /// The account's holds changed: its cached holds are stale (announced
    /// to every instance's hold index at commit on PostgreSQL).
    HoldsChanged { account_id: AccountId },
    /// A message was queued for the exchange: the outbox is woken (on
    /// PostgreSQL every instance's, announced at commit).
    MessageQueued,
    /// A run was started: every instance's run sweeper is told at commit
    /// (PostgreSQL), this one's after it.
    RunStarted,
    /// A run finished, to announce in this process (SQLite only: PostgreSQL
    /// announces it to every instance itself).
    RunFinished(RunId),
    /// An incident reached a response time, for the metrics: measured only
    /// once the change is durable.
    ResponseTimeReached(ResponseTime),
    /// A run step failed (`holdfast_run_steps_failed_total`).
    StepFailed,
    /// The change wrote an incident (holder's news; the last write of an
    /// incident counts).
    IncidentWritten(NotedIncident),
    /// The incident got a new freeze, a hold without expiry (holder's news).
    FreezeAdded(IncidentId),
    /// The incident's unfreeze flow ended its case, `Flow::ends_case`
    /// (holder's news).
    FlowDecided(IncidentId),
}

impl Effect {
    /// Whether this is news for the holder, read before the commit.
    fn is_holder_news(&self) -> bool {
        matches!(
            self,
            Effect::IncidentWritten(_) | Effect::FreezeAdded(_) | Effect::FlowDecided(_)
        )
    }
}

/// An incident as a change left it.
#[derive(Clone, Debug)]
pub struct NotedIncident {
    pub id: IncidentId,
    pub account_id: AccountId,
    pub priority: Priority,
    pub closed: bool,
}

/// What a change did that its incidents' holders may have to be told of
/// (SPEC §13): read once, before the commit, by `notices`.
#[derive(Debug, Default)]
pub struct HolderNews {
    /// Incidents written by the change, with the priority and whether closed.
    pub incidents: Vec<NotedIncident>,
    /// Incidents that got a new freeze (a hold without expiry).
    pub freezes_added: Vec<IncidentId>,
    /// Incidents whose unfreeze flow ended their case (`Flow::ends_case`).
    pub flows_decided: Vec<IncidentId>,
}

impl HolderNews {
    /// Takes the holder's news out of `effects`, leaving the rest.
    pub(super) fn take_from(effects: &mut Vec<Effect>) -> Self {
        let mut news = HolderNews::default();
        let (taken, kept) = std::mem::take(effects).into_iter().partition(Effect::is_holder_news);
        *effects = kept;
        for effect in taken {
            match effect {
                Effect::IncidentWritten(noted) => {
                    news.incidents.retain(|earlier| earlier.id != noted.id);
                    news.incidents.push(noted);
                }
                Effect::FreezeAdded(id) => news.freezes_added.push(id),
                Effect::FlowDecided(id) => news.flows_decided.push(id),
                _ => {}
            }
        }
        news
    }

    pub fn is_empty(&self) -> bool {
        self.freezes_added.is_empty()
            && self.flows_decided.is_empty()
            && self
                .incidents
                .iter()
                .all(|noted| !noted.closed && noted.priority > Priority::P2)
    }
}

/// What a committed transaction changed that in-memory state must follow:
/// its effects, less the holder's news (read before the commit).
///
/// Hand it to `AppState::commit`'s follow-up (or commit through
/// `AppState::commit` in the first place): dropping it would leave stale
/// holds in the cache or a queued message waiting for the next poll.
#[derive(Debug, Default)]
#[must_use = "commit through AppState::commit, or call no_follow_up() for a change that needs none"]
pub struct Committed {
    pub effects: Vec<Effect>,
}

impl Committed {
    pub(super) fn new(mut effects: Vec<Effect>) -> Self {
        effects.retain(|effect| !effect.is_holder_news());
        Self { effects }
    }

    /// The accounts whose holds changed, sorted, each once.
    pub fn accounts_with_changed_holds(&self) -> Vec<AccountId> {
        accounts_with_changed_holds(&self.effects)
    }

    /// For a change that touched neither holds nor the outbox (an agent's
    /// session, a command-line change): nothing in memory needs to follow.
    pub fn no_follow_up(self) {
        debug_assert!(
            self.effects.is_empty(),
            "a change to holds or the outbox was committed without its follow-up"
        );
    }
}

/// The accounts whose holds `effects` changed, sorted, each once.
pub(super) fn accounts_with_changed_holds(effects: &[Effect]) -> Vec<AccountId> {
    let mut accounts: Vec<AccountId> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::HoldsChanged { account_id } => Some(account_id.clone()),
            _ => None,
        })
        .collect();
    accounts.sort();
    accounts.dedup();
    accounts
}
