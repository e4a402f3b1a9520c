//! What-if replay (SPEC §14): stored alerts replayed through two rules files,
//! the one in force and a candidate, with the code intake uses
//! ([`PriorityRules::assess`] for an incident's alerts, and
//! [`campaign::forming_span`], [`campaign::is_live`] and the `[campaigns]`
//! settings for waves), to say what the candidate would change.
//!
//! Incidents stay as they were stored (which alerts belong together does not
//! depend on the rules). Under each rules file an incident takes the
//! priority its alerts score, raised to the floor of every campaign it would
//! be in; a P1 is contained automatically. Everything is kept in ordered
//! maps, so the same alerts give the same report.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::alert::Alert;
use super::campaign::{self, Sighting};
use super::disposition::Disposition;
use super::ids::{AccountId, IncidentId};
use super::priority::campaigns::SignalKind;
use super::priority::{Priority, PriorityRules};
use super::time::Timestamp;

/// One incident as the replay keeps it.
struct Replayed {
    id: IncidentId,
    account_id: AccountId,
    outcome: Option<Disposition>,
    /// The priority its alerts score under the rules in force, and under the candidate.
    scored: [Priority; 2],
}

/// The replay as it reads incidents one by one.
pub struct Replay<'a> {
    rules: [&'a PriorityRules; 2],
    incidents: Vec<Replayed>,
    /// Every sighting of every signal: the incident (an index) and when.
    sightings: HashMap<(SignalKind, String), Vec<(usize, Timestamp)>>,
    alerts: u64,
    unreadable: u64,
}

/// A campaign the replay found: its signal, span and incidents.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    kind: SignalKind,
    value: String,
    span: (Timestamp, Timestamp),
    members: BTreeSet<usize>,
}

/// From one priority to another, and how many incidents made that move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub from: Priority,
    pub to: Priority,
    pub incidents: u64,
}

/// A figure under the rules in force and under the candidate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Compared {
    pub current: u64,
    pub candidate: u64,
    /// Under the candidate only.
    pub gained: u64,
    /// Under the rules in force only.
    pub lost: u64,
}

/// Where the incidents that ended one way would rank: how many at each
/// priority, P1 first, under the rules in force and under the candidate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ranking {
    pub disposition: Disposition,
    pub incidents: u64,
    pub current: [u64; 4],
    pub candidate: [u64; 4],
}

/// What the replay found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplayReport {
    pub alerts: u64,
    pub incidents: u64,
    /// Stored alerts whose values retention has removed: not replayed.
    pub unreadable_alerts: u64,
    pub priority_changes: Vec<Change>,
    pub automatic_containments: Compared,
    pub campaigns: Compared,
    /// Ended incidents, by how they ended.
    pub resolved: Vec<Ranking>,
}

fn index(priority: Priority) -> usize {
    Priority::ALL.iter().position(|p| *p == priority).unwrap_or(3)
}

impl<'a> Replay<'a> {
    pub fn new(current: &'a PriorityRules, candidate: &'a PriorityRules) -> Self {
        Self {
            rules: [current, candidate],
            incidents: Vec::new(),
            sightings: HashMap::new(),
            alerts: 0,
            unreadable: 0,
        }
    }

    /// A stored alert that could not be read (its values are gone).
    pub fn unreadable(&mut self) {
        self.unreadable += 1;
    }

    /// One stored incident with its readable alerts, in the order they
    /// occurred, and how it ended if it has.
    pub fn incident(&mut self, id: IncidentId, outcome: Option<Disposition>, alerts: &[Alert]) {
        let Some(first) = alerts.first() else {
            return;
        };
        let at = self.incidents.len();
        for alert in alerts {
            for signal in campaign::signals_of(alert) {
                self.sightings
                    .entry((signal.kind, signal.value))
                    .or_default()
                    .push((at, alert.occurred_at));
            }
        }
        self.alerts += alerts.len() as u64;
        let scored = self.rules.map(|rules| rules.assess(alerts).priority);
        self.incidents.push(Replayed {
            id,
            account_id: first.account_id.clone(),
            outcome,
            scored,
        });
    }

    /// The campaigns `rules` would form among the sightings.
    fn campaigns(&self, rules: &PriorityRules) -> Vec<Found> {
        let settings = rules.campaigns();
        if !settings.enabled {
            return Vec::new();
        }
        // Recognition never looks at which alert carried a sighting.
        let unnamed = super::alert::AlertId::parse("replayed").expect("a valid alert id");
        let mut found = Vec::new();
        for ((kind, value), seen) in &self.sightings {
            let rule = settings.rule(*kind);
            let accounts: BTreeSet<&str> = seen
                .iter()
                .map(|(i, _)| self.incidents[*i].account_id.as_str())
                .collect();
            if accounts.len() < rule.accounts {
                continue;
            }
            let mut sorted = seen.clone();
            sorted.sort_by_key(|(i, at)| (*at, *i));
            // Sightings further apart than the window never meet: each
            // stretch is recognised on its own, as intake would have.
            let mut stretches: Vec<Vec<(usize, Timestamp)>> = Vec::new();
            for sighting in sorted {
                match stretches.last_mut() {
                    Some(stretch) if sighting.1 <= stretch.last().map_or(sighting.1, |s| s.1).plus(rule.within) => {
                        stretch.push(sighting)
                    }
                    _ => stretches.push(vec![sighting]),
                }
            }
            for stretch in stretches {
                let as_sightings: Vec<Sighting> = stretch
                    .iter()
                    .map(|(i, at)| Sighting {
                        account_id: self.incidents[*i].account_id.clone(),
                        incident_id: self.incidents[*i].id.clone(),
                        alert_id: unnamed.clone(),
                        seen_at: *at,
                    })
                    .collect();
                let Some((first, last)) = campaign::forming_span(&as_sightings, |_| true, rule) else {
                    continue;
                };
                let members = stretch
                    .iter()
                    .filter(|(_, at)| campaign::is_live(first, last, *at, rule.within))
                    .map(|(i, _)| *i)
                    .collect();
                found.push(Found {
                    kind: *kind,
                    value: value.clone(),
                    span: (first, last),
                    members,
                });
            }
        }
        found.sort();
        found
    }

    /// Compares the two rules files over everything read.
    pub fn report(&self) -> ReplayReport {
        let campaigns = self.rules.map(|rules| self.campaigns(rules));
        // Each incident's priority under each rules file: what its alerts
        // score, raised to the floor of every campaign it is in.
        let mut priority: Vec<[Priority; 2]> = self.incidents.iter().map(|i| i.scored).collect();
        for (side, found) in campaigns.iter().enumerate() {
            for campaign in found {
                let floor = self.rules[side].campaigns().rule(campaign.kind).priority;
                for member in &campaign.members {
                    priority[*member][side] = priority[*member][side].min(floor);
                }
            }
        }
        let mut changes: BTreeMap<(Priority, Priority), u64> = BTreeMap::new();
        let mut containments = Compared::default();
        let mut rankings: BTreeMap<Disposition, Ranking> = BTreeMap::new();
        for (incident, [current, candidate]) in self.incidents.iter().zip(&priority) {
            if current != candidate {
                *changes.entry((*current, *candidate)).or_default() += 1;
            }
            let contained = [*current == Priority::P1, *candidate == Priority::P1];
            containments.current += u64::from(contained[0]);
            containments.candidate += u64::from(contained[1]);
            containments.gained += u64::from(!contained[0] && contained[1]);
            containments.lost += u64::from(contained[0] && !contained[1]);
            if let Some(outcome) = incident.outcome {
                let ranking = rankings.entry(outcome).or_insert(Ranking {
                    disposition: outcome,
                    incidents: 0,
                    current: [0; 4],
                    candidate: [0; 4],
                });
                ranking.incidents += 1;
                ranking.current[index(*current)] += 1;
                ranking.candidate[index(*candidate)] += 1;
            }
        }
        let overlaps = |a: &Found, others: &[Found]| {
            others
                .iter()
                .any(|b| a.kind == b.kind && a.value == b.value && a.span.0 <= b.span.1 && b.span.0 <= a.span.1)
        };
        let [current, candidate] = &campaigns;
        ReplayReport {
            alerts: self.alerts,
            incidents: self.incidents.len() as u64,
            unreadable_alerts: self.unreadable,
            priority_changes: changes
                .into_iter()
                .map(|((from, to), incidents)| Change { from, to, incidents })
                .collect(),
            automatic_containments: containments,
            campaigns: Compared {
                current: current.len() as u64,
                candidate: candidate.len() as u64,
                gained: candidate.iter().filter(|c| !overlaps(c, current)).count() as u64,
                lost: current.iter().filter(|c| !overlaps(c, candidate)).count() as u64,
            },
            resolved: rankings.into_values().collect(),
        }
    }
}

#[cfg(test)]
mod tests;
