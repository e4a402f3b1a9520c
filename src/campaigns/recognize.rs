//! Recognising campaigns inside each intake batch: every signal of the batch
//! locked in sorted order, sighted, then joined to its latest campaign or
//! forming one, and the incidents it covers raised to the campaign's floor.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::domain::alert::{Alert, AlertId};
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::campaign::{self, CampaignRule, Sighting, Signal};
use crate::domain::ids::{AccountId, CampaignId, IncidentId};
use crate::domain::incident::Incident;
use crate::domain::priority::PriorityRules;
use crate::domain::time::Timestamp;
use crate::state::AppState;
use crate::storage::{CampaignRecord, CorrelationWindow, WriteTx};

/// An incident outside the intake batch whose priority a campaign raised:
/// locked, changed, not yet saved. Intake saves it, and contains it when it
/// became P1, with `trigger` (the alert that carried the signal).
pub struct Raised {
    pub incident: Incident,
    pub trigger: Option<Alert>,
}

/// One campaign decision of a batch: a campaign (new or live) and the
/// sightings that belong to it.
struct Join {
    campaign: CampaignRecord,
    sightings: Vec<Sighting>,
    new: bool,
}

/// Recognises campaigns among the alerts of one intake batch, called once
/// per batch after every alert has its incident and before any is saved.
///
/// `entries` are the batch's new alerts with their incidents; `incidents`
/// the batch's incidents (locked), raised in place. Incidents of earlier
/// batches that join a campaign now are locked, raised and returned.
pub async fn recognize(
    state: &AppState,
    tx: &mut WriteTx,
    entries: &[(&Alert, IncidentId)],
    incidents: &mut [&mut Incident],
    now: Timestamp,
) -> anyhow::Result<Vec<Raised>> {
    let rules = &state.config().priority_rules;
    let campaigns = rules.campaigns();
    if !campaigns.enabled {
        return Ok(Vec::new());
    }
    let mut fresh: BTreeMap<Signal, Vec<Sighting>> = BTreeMap::new();
    for (alert, incident_id) in entries {
        for signal in campaign::signals_of(alert) {
            fresh.entry(signal).or_default().push(Sighting {
                account_id: alert.account_id.clone(),
                incident_id: incident_id.clone(),
                alert_id: alert.alert_id.clone(),
                seen_at: alert.occurred_at,
            });
        }
    }
    if fresh.is_empty() {
        return Ok(Vec::new());
    }

    let signals: Vec<Signal> = fresh.keys().cloned().collect();
    tx.lock_signals(&signals).await?;
    let all: Vec<(Signal, Sighting)> = fresh
        .iter()
        .flat_map(|(signal, seen)| seen.iter().map(move |s| (signal.clone(), s.clone())))
        .collect();
    tx.record_sightings(&all, now).await?;
    let latest: BTreeMap<Signal, CampaignRecord> = tx.latest_campaigns(&signals).await?.into_iter().collect();

    let mut joins = Vec::new();
    let mut undecided = Vec::new();
    for (signal, seen) in &fresh {
        let rule = campaigns.rule(signal.kind);
        let live = latest.get(signal).filter(|c| {
            seen.iter()
                .any(|s| campaign::is_live(c.first_seen, c.last_seen, s.seen_at, rule.within))
        });
        match live {
            Some(c) => joins.push(Join {
                campaign: c.clone(),
                sightings: seen.clone(),
                new: false,
            }),
            None => undecided.push(signal.clone()),
        }
    }

    if !undecided.is_empty() {
        let ranges: Vec<(Signal, Timestamp, Timestamp)> = undecided
            .iter()
            .map(|signal| {
                let within = campaigns.rule(signal.kind).within;
                let seen = &fresh[signal];
                let first = seen.iter().map(|s| s.seen_at).min().unwrap_or(now);
                let last = seen.iter().map(|s| s.seen_at).max().unwrap_or(now);
                (signal.clone(), first.minus(within), last.plus(within))
            })
            .collect();
        let found = tx.sightings_between(&ranges).await?;
        for signal in undecided {
            let rule = campaigns.rule(signal.kind);
            let near: Vec<Sighting> = found
                .iter()
                .filter(|(s, _)| *s == signal)
                .map(|(_, sighting)| sighting.clone())
                .collect();
            let fresh_alerts: BTreeSet<&AlertId> = fresh[&signal].iter().map(|s| &s.alert_id).collect();
            let Some((start, end)) = campaign::forming_span(&near, |s| fresh_alerts.contains(&s.alert_id), rule) else {
                continue;
            };
            let record = CampaignRecord {
                id: CampaignId::new(),
                kind: signal.kind,
                value_masked: campaign::mask(signal.kind, &signal.value),
                value: Some(signal.value.clone()),
                accounts: 0,
                first_seen: start,
                last_seen: end,
                recognized_at: now,
            };
            tx.insert_campaign(&record).await?;
            joins.push(Join {
                campaign: record,
                sightings: near
                    .into_iter()
                    .filter(|s| s.seen_at >= start && s.seen_at <= end)
                    .collect(),
                new: true,
            });
        }
    }

    let mut raised: BTreeMap<IncidentId, Raised> = BTreeMap::new();
    for join in joins {
        apply(tx, rules, join, incidents, &mut raised, now).await?;
    }
    Ok(raised.into_values().collect())
}

/// Adds a campaign's sightings' incidents to it and raises those new to it.
async fn apply(
    tx: &mut WriteTx,
    rules: &PriorityRules,
    join: Join,
    incidents: &mut [&mut Incident],
    raised: &mut BTreeMap<IncidentId, Raised>,
    now: Timestamp,
) -> anyhow::Result<()> {
    let Join {
        campaign: record,
        mut sightings,
        new,
    } = join;
    let rule = rules.campaigns().rule(record.kind);
    sightings.sort_by(|a, b| (&a.incident_id, a.seen_at).cmp(&(&b.incident_id, b.seen_at)));
    // The first sighting of each incident names the alert its reason cites.
    let mut by_incident: BTreeMap<IncidentId, &Sighting> = BTreeMap::new();
    for sighting in &sightings {
        by_incident.entry(sighting.incident_id.clone()).or_insert(sighting);
    }
    let members: Vec<(IncidentId, AccountId)> = by_incident
        .iter()
        .map(|(id, s)| (id.clone(), s.account_id.clone()))
        .collect();
    let added = tx.add_campaign_incidents(&record.id, &members, now).await?;
    let first = sightings.iter().map(|s| s.seen_at).min().unwrap_or(record.first_seen);
    let last = sightings.iter().map(|s| s.seen_at).max().unwrap_or(record.last_seen);
    let accounts = tx.widen_campaign(&record.id, first, last, now).await?;
    if !new {
        tx.touch_campaign_head(&record, now).await?;
    }
    if new {
        metrics::counter!("holdfast_campaigns_recognized_total", "kind" => record.kind.as_str()).increment(1);
        tx.audit(
            AuditRecord::new(now, "system", AuditAction::CampaignRecognized).detail(json!({
                "campaign_id": record.id,
                "kind": record.kind,
                "accounts": accounts,
                "incidents": added.len(),
            })),
        );
    }
    for incident_id in added {
        let sighting = by_incident[&incident_id];
        let reason = campaign::reason(record.kind, accounts, rule, &sighting.alert_id);
        let audit = match incidents.iter_mut().find(|i| i.id == incident_id) {
            Some(incident) => raise(incident, rule, reason, &record.id, rules, now),
            None => {
                if !raised.contains_key(&incident_id) {
                    let Some(incident) = tx.lock_incident(&incident_id).await? else {
                        continue;
                    };
                    raised.insert(
                        incident_id.clone(),
                        Raised {
                            incident,
                            trigger: None,
                        },
                    );
                }
                let entry = raised.get_mut(&incident_id).expect("inserted above");
                let audit = raise(&mut entry.incident, rule, reason, &record.id, rules, now);
                if entry.trigger.is_none() && entry.incident.priority == crate::domain::priority::Priority::P1 {
                    let window = CorrelationWindow {
                        incident_id: incident_id.clone(),
                        from: sighting.seen_at,
                        until: sighting.seen_at,
                    };
                    entry.trigger = tx
                        .alerts_in_windows(&[window], 20)
                        .await?
                        .remove(&incident_id)
                        .unwrap_or_default()
                        .into_iter()
                        .find(|a| a.alert_id == sighting.alert_id);
                }
                audit
            }
        };
        tx.audit(
            AuditRecord::new(now, "system", AuditAction::CampaignJoined)
                .incident(&incident_id, &sighting.account_id)
                .detail(json!({"campaign_id": record.id, "kind": record.kind, "accounts": accounts})),
        );
        if let Some(audit) = audit {
            tx.audit(audit);
        }
    }
    Ok(())
}

/// Gives an incident the campaign's floor through its own reassessment (so
/// priorities only rise and deadlines only tighten); returns the audit entry
/// when the priority rose. Closed incidents are left as they are.
fn raise(
    incident: &mut Incident,
    rule: CampaignRule,
    reason: crate::domain::priority::Reason,
    campaign_id: &CampaignId,
    rules: &PriorityRules,
    now: Timestamp,
) -> Option<AuditRecord> {
    if incident.status.is_closed() {
        return None;
    }
    let before = incident.reassess(campaign::floor(rule, reason), |p| rules.sla(p), now)?;
    Some(
        AuditRecord::new(now, "system", AuditAction::IncidentPriorityRaised)
            .incident(&incident.id, &incident.account_id)
            .detail(json!({
                "from": before,
                "to": incident.priority,
                "campaign_id": campaign_id,
                "acknowledge_by": incident.deadlines.acknowledge_by,
                "contain_by": incident.deadlines.contain_by,
            })),
    )
}
