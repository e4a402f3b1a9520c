//! Campaigns (SPEC §12): recognising, inside each intake batch, incidents
//! of different accounts that share an attacker signal; listing them; and
//! containing every incident of one at once. The rules (signals, windows,
//! the priority floor) are `domain::campaign`; the SQL `storage::campaigns`.
//!
//! Recognition is exactly once under concurrency: a batch first locks each
//! of its signals (an advisory lock on PostgreSQL, held until the batch
//! commits; SQLite's single writer already runs one batch at a time).
//! Whoever holds a signal's lock sees every sighting committed before it
//! and the signal's latest campaign, so the alerts that complete a campaign
//! on several instances at once make one campaign, the later ones joining
//! it. The lock writes nothing: most signals (a fresh address per sign-in)
//! never form a campaign, and cost only their sighting row.
//!
//! Privacy: signal values (IP addresses among them) are never logged and
//! never enter the audit log. They are kept for the window and
//! [`RETENTION`] after it, then swept ([`forget_expired`], run by the application's periodic sweep); a
//! campaign keeps only its masked value after that.
//!
//! (Just over 400 lines: recognition is one algorithm read top to bottom,
//! and the list and bulk containment beside it are short.)

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::json;

use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::alert::{Alert, AlertId};
use crate::domain::audit::AuditRecord;
use crate::domain::campaign::{self, CampaignRule, Sighting, Signal};
use crate::domain::ids::{CampaignId, IncidentId, RunId};
use crate::domain::incident::{Incident, IncidentStatus};
use crate::domain::playbook::PlaybookKind;
use crate::domain::priority::PriorityRules;
use crate::domain::time::Timestamp;
use crate::edge::error::ApiError;
use crate::runs::agent_actions;
use crate::state::AppState;
use crate::storage::{CampaignMember, CampaignRecord, CorrelationWindow, WriteTx};

pub mod api;

/// How long signal values are kept after the window they can matter in:
/// long enough for the security team to work a wave of takeovers and
/// compare it with the next, short enough not to keep a profile of
/// anyone's addresses. Afterwards sightings are deleted and campaigns keep
/// only the masked value.
pub const RETENTION: Duration = Duration::from_secs(7 * 86_400);
/// The most campaigns a list shows.
pub const LIST_LIMIT: i64 = 200;

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
                account_id: alert.account_id.to_string(),
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
    let members: Vec<(IncidentId, String)> = by_incident
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
        tx.audit(AuditRecord::new(now, "system", "campaign.recognized").detail(json!({
            "campaign_id": record.id,
            "kind": record.kind,
            "accounts": accounts,
            "incidents": added.len(),
        })));
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
            AuditRecord::new(now, "system", "campaign.joined")
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
        AuditRecord::new(now, "system", "incident.priority_raised")
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

/// A campaign with its incidents, as the API and the console show it.
#[derive(Clone, Debug)]
pub struct CampaignView {
    pub campaign: CampaignRecord,
    pub incidents: Vec<CampaignMember>,
}

impl CampaignView {
    /// The value to show: in full while it is kept, masked afterwards.
    pub fn shown_value(&self) -> &str {
        self.campaign.value.as_deref().unwrap_or(&self.campaign.value_masked)
    }
}

/// The newest campaigns, most recent activity first.
pub async fn list(state: &AppState, agent: &CurrentAgent) -> Result<Vec<CampaignView>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let db = state.db();
    let (campaigns, members) = tokio::try_join!(db.campaigns(LIST_LIMIT), db.newest_campaigns_members(LIST_LIMIT))?;
    let mut by_campaign: BTreeMap<CampaignId, Vec<CampaignMember>> = BTreeMap::new();
    for member in members {
        by_campaign.entry(member.campaign_id.clone()).or_default().push(member);
    }
    Ok(campaigns
        .into_iter()
        .map(|campaign| CampaignView {
            incidents: by_campaign.remove(&campaign.id).unwrap_or_default(),
            campaign,
        })
        .collect())
}

/// One campaign (404 when there is none).
pub async fn show(state: &AppState, agent: &CurrentAgent, id: &CampaignId) -> Result<CampaignView, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let db = state.db();
    let (campaign, incidents) = tokio::try_join!(db.campaign(id), db.campaign_members(id))?;
    let campaign = campaign.ok_or_else(|| ApiError::not_found("the campaign"))?;
    Ok(CampaignView { campaign, incidents })
}

/// What containing a campaign did: a run per incident not yet contained,
/// and the incidents skipped with their status.
#[derive(Clone, Debug, Default)]
pub struct Containment {
    pub runs: Vec<(IncidentId, RunId)>,
    pub skipped: Vec<(IncidentId, IncidentStatus)>,
}

/// Starts the containment playbook `playbook_id` on every incident of the
/// campaign that is not contained yet, each through
/// `runs::agent_actions::start` (the rules of starting one run: role,
/// step-up, audit), after one step-up for all.
#[tracing::instrument(skip_all, fields(campaign.id = %id, agent = %agent.username))]
pub async fn contain(
    state: &AppState,
    agent: &mut CurrentAgent,
    id: &CampaignId,
    playbook_id: &str,
    otp: Option<&str>,
) -> Result<Containment, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let found = show(state, agent, id).await?;
    let (_, playbook) = agent_actions::runnable_playbook(state, playbook_id)?;
    if playbook.kind != PlaybookKind::Containment {
        return Err(ApiError::invalid("playbook_id", "must be a containment playbook"));
    }
    agent.require(playbook.kind.permission())?;
    // One code steps up once; every start below uses that elevation.
    agent.require_fresh_mfa(state, otp).await?;
    let mut done = Containment::default();
    let mut seen = BTreeSet::new();
    for member in found.incidents {
        if !seen.insert(member.incident_id.clone()) {
            continue;
        }
        if !matches!(member.status, IncidentStatus::Open | IncidentStatus::Acknowledged) {
            done.skipped.push((member.incident_id, member.status));
            continue;
        }
        match agent_actions::start(state, agent, &member.incident_id, playbook_id, None).await {
            Ok(run) => done.runs.push((member.incident_id, run.id)),
            Err(ApiError::Conflict(_)) => {
                // Contained, closed or already being contained meanwhile.
                let status = state
                    .db()
                    .incident(&member.incident_id)
                    .await?
                    .map_or(member.status, |i| i.status);
                done.skipped.push((member.incident_id, status));
            }
            Err(error) => return Err(error),
        }
    }
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    tx.audit(AuditRecord::new(now, agent.actor(), "campaign.contained").detail(json!({
        "campaign_id": id,
        "playbook_id": playbook_id,
        "runs": done.runs.iter().map(|(incident, run)| json!({"incident_id": incident, "run_id": run})).collect::<Vec<_>>(),
        "skipped": done.skipped.len(),
    })));
    state.commit(tx).await?;
    Ok(done)
}

/// Forgets the signal values whose window and retention period are over
/// (the application's periodic sweep calls it).
pub async fn forget_expired(state: &AppState) -> Result<u64, sqlx::Error> {
    let keep = state.config().priority_rules.campaigns().longest_window() + RETENTION;
    let now = state.clock().now();
    state
        .db()
        .forget_campaign_signals(now.minus(keep), now.minus(crate::storage::RELEASE_GRACE))
        .await
}
