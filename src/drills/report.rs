//! `holdfast drill report <id>`: how fast a drill's wave was contained, per
//! incident and as medians, and whether it was recognised as a campaign.
//!
//! Every figure is measured from the incident's opening (the moment intake
//! stored its first alert): to its containment by Holdfast itself (a P1's
//! automatic containment, on the timeline as done by `system`), to an
//! agent's acknowledgement, and to a containment an agent started.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::domain::audit::AuditAction;
use crate::domain::drill::{DrillId, median};
use crate::domain::ids::CampaignId;
use crate::domain::incident::Incident;
use crate::storage::Database;

/// One incident of the drill and its figures.
#[derive(Clone, Debug)]
pub struct IncidentFigures {
    pub incident: Incident,
    pub automatic_containment: Option<Duration>,
    pub acknowledge: Option<Duration>,
    pub team_containment: Option<Duration>,
    /// The first campaign it joined.
    pub campaign: Option<CampaignId>,
}

/// What a drill's report says.
#[derive(Clone, Debug)]
pub struct DrillReport {
    pub drill: DrillId,
    pub incidents: Vec<IncidentFigures>,
}

impl DrillReport {
    /// The campaign most of the drill's incidents joined, with how many
    /// joined it; `None` when no two of them share one.
    pub fn campaign(&self) -> Option<(&CampaignId, usize)> {
        let mut members: BTreeMap<&CampaignId, usize> = BTreeMap::new();
        for figures in &self.incidents {
            if let Some(campaign) = &figures.campaign {
                *members.entry(campaign).or_default() += 1;
            }
        }
        members
            .into_iter()
            .filter(|(_, count)| *count >= 2)
            .max_by_key(|(_, count)| *count)
    }

    fn median_of(&self, figure: fn(&IncidentFigures) -> Option<Duration>) -> Option<Duration> {
        median(&self.incidents.iter().filter_map(figure).collect::<Vec<_>>())
    }
}

/// Reads a drill's incidents and their timelines.
pub async fn report(db: &Database, drill: &DrillId) -> anyhow::Result<DrillReport> {
    let mut incidents = Vec::new();
    for incident in db.drill_incidents(drill).await? {
        let timeline = db.timeline(&incident.id).await?;
        let campaign = db.incident_campaigns(&incident.id).await?.into_iter().next();
        let contained_by_system = timeline
            .iter()
            .find(|entry| entry.action == AuditAction::IncidentContained.as_str())
            .map(|entry| entry.actor == "system");
        let contain = incident.time_to_contain();
        incidents.push(IncidentFigures {
            automatic_containment: contain.filter(|_| contained_by_system == Some(true)),
            team_containment: contain.filter(|_| contained_by_system == Some(false)),
            acknowledge: incident.time_to_acknowledge(),
            campaign,
            incident,
        });
    }
    Ok(DrillReport {
        drill: drill.clone(),
        incidents,
    })
}

/// A duration as the report prints it: milliseconds under a second (a
/// containment in the transaction that opened the incident is `0.0 ms`),
/// then seconds, minutes and hours; `-` when there is none.
fn shown(duration: Option<Duration>) -> String {
    let Some(duration) = duration else {
        return "-".into();
    };
    let millis = duration.as_millis();
    let seconds = duration.as_secs();
    if millis < 1_000 {
        format!("{:.1} ms", duration.as_secs_f64() * 1_000.0)
    } else if seconds < 60 {
        format!("{:.1} s", duration.as_secs_f64())
    } else if seconds < 3_600 {
        format!("{}m {:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{}h {:02}m", seconds / 3_600, seconds % 3_600 / 60)
    }
}

impl fmt::Display for DrillReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "drill {}: {} incident(s)", self.drill, self.incidents.len())?;
        writeln!(
            f,
            "{:<24} {:<4} {:<12} {:>12} {:>12} {:>12}  campaign",
            "account", "prio", "status", "auto-contain", "acknowledge", "team-contain"
        )?;
        for figures in &self.incidents {
            let incident = &figures.incident;
            writeln!(
                f,
                "{:<24} {:<4} {:<12} {:>12} {:>12} {:>12}  {}",
                incident.account_id,
                incident.priority.as_str(),
                incident.status.as_str(),
                shown(figures.automatic_containment),
                shown(figures.acknowledge),
                shown(figures.team_containment),
                figures.campaign.as_ref().map_or("-", |c| c.as_str()),
            )?;
        }
        writeln!(
            f,
            "medians: automatic containment {}, team acknowledge {}, team containment {}",
            shown(self.median_of(|i| i.automatic_containment)),
            shown(self.median_of(|i| i.acknowledge)),
            shown(self.median_of(|i| i.team_containment)),
        )?;
        match (self.incidents.len(), self.campaign()) {
            (0 | 1, _) => write!(f, "recognised as a campaign: not applicable (one account)"),
            (total, Some((campaign, members))) => write!(
                f,
                "recognised as a campaign: yes ({campaign}, {members} of {total} incidents)"
            ),
            (_, None) => write!(f, "recognised as a campaign: no"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_shown_in_the_largest_sensible_unit() {
        assert_eq!(shown(None), "-");
        assert_eq!(shown(Some(Duration::from_micros(4_250))), "4.2 ms");
        assert_eq!(shown(Some(Duration::ZERO)), "0.0 ms");
        assert_eq!(shown(Some(Duration::from_millis(12_340))), "12.3 s");
        assert_eq!(shown(Some(Duration::from_secs(192))), "3m 12s");
        assert_eq!(shown(Some(Duration::from_secs(3_900))), "1h 05m");
    }
}
