//! One intake batch's six steps inside its transaction, a handful of statements
//! whatever its size: repeats found, live incidents opened or locked in account
//! order, alerts stored, correlated, P1s contained, changed incidents written
//! back, with campaign recognition in its place.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use serde_json::json;
use tracing::Instrument;

use super::{CORRELATION_LIMIT, RacedWithOriginal};
use crate::domain::alert::Alert;
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{Incident, IncidentStatus, Milestones};
use crate::domain::priority::Priority;
use crate::domain::time::Timestamp;
use crate::state::AppState;
use crate::state::handles::intake::{Ingested, Job};
use crate::storage::{CorrelationWindow, LiveIncident, WriteTx};

/// An account's live incident as the batch changes it.
struct Touched<'a> {
    incident: Incident,
    /// What it had reached when it was locked (or opened).
    before: Milestones,
    opened: bool,
    /// The batch's new alerts of this incident, in batch order.
    alerts: Vec<&'a Alert>,
    /// Whether it must be written back.
    changed: bool,
}

/// Stores a batch with a handful of statements, whatever its size:
///
/// 1. look up which alert ids are stored already (repeats);
/// 2. open or lock the live incident of every account with a new alert;
/// 3. store the new alerts, attached to their incidents;
/// 4. correlate each incident's alerts and raise its priority;
/// 5. contain P1 incidents (their holds and pushes, in this transaction);
/// 6. write back the incidents that changed.
///
/// Audit entries are chained at commit. `jobs` come sorted by account.
pub(super) async fn store_batch(
    state: &AppState,
    tx: &mut WriteTx,
    jobs: &[Job],
    spans: &[tracing::Span],
    now: Timestamp,
) -> anyhow::Result<Vec<Ingested>> {
    let rules = &state.config().priority_rules;
    let ids: Vec<String> = jobs.iter().map(|job| job.alert.alert_id.to_string()).collect();
    let stored = tx.stored_alerts(&ids).await?;

    // The first job of each id not stored before carries a new alert; any
    // other job is a repeat.
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    let mut by_account: BTreeMap<&AccountId, Vec<&Alert>> = BTreeMap::new();
    for (i, job) in jobs.iter().enumerate() {
        let id = job.alert.alert_id.as_str();
        if stored.contains_key(id) || first_of.contains_key(id) {
            continue;
        }
        first_of.insert(id, i);
        by_account.entry(&job.alert.account_id).or_default().push(&job.alert);
    }

    // Each account's candidate incident is assessed from its first new alert alone.
    let candidates = by_account
        .iter()
        .map(|(account, alerts)| {
            let alone = rules.assess(std::slice::from_ref(alerts[0]));
            let sla = rules.sla(alone.priority);
            Incident::open(IncidentId::new(), (*account).clone(), alone, sla, now)
        })
        .collect();
    let mut touched: BTreeMap<AccountId, Touched> = BTreeMap::new();
    for live in tx.open_or_lock_live_incidents(candidates).await? {
        let (incident, opened) = match live {
            LiveIncident::Opened(incident) => (incident, true),
            LiveIncident::Existing(incident) => (incident, false),
        };
        let alerts = by_account.remove(&incident.account_id).unwrap_or_default();
        touched.insert(
            incident.account_id.clone(),
            Touched {
                before: incident.milestones(),
                incident,
                opened,
                alerts,
                changed: !opened,
            },
        );
    }

    let attached: Vec<(&Alert, &IncidentId)> = touched
        .values()
        .flat_map(|t| t.alerts.iter().map(|alert| (*alert, &t.incident.id)))
        .collect();
    let inserted = tx.insert_attached_alerts(&attached, now).await?;
    if inserted.len() != attached.len()
        && let Some((alert, _)) = attached
            .iter()
            .find(|(a, _)| !inserted.iter().any(|id| id == a.alert_id.as_str()))
    {
        return Err(RacedWithOriginal(alert.alert_id.to_string()).into());
    }
    for (alert, incident_id) in &attached {
        let score = rules.assess(std::slice::from_ref(*alert)).score;
        let source = &jobs[first_of[alert.alert_id.as_str()]].source;
        tx.audit(
            AuditRecord::new(now, source, AuditAction::AlertReceived)
                .incident(incident_id, &alert.account_id)
                .detail(json!({"alert_id": alert.alert_id, "kind": alert.kind, "score": score})),
        );
    }
    for t in touched.values().filter(|t| t.opened) {
        let incident = &t.incident;
        metrics::counter!("holdfast_incidents_opened_total", "priority" => incident.priority.as_str()).increment(1);
        tx.audit(
            AuditRecord::new(now, "system", AuditAction::IncidentOpened)
                .incident(&incident.id, &incident.account_id)
                .detail(json!({
                    "priority": incident.priority,
                    "score": incident.score,
                    "acknowledge_by": incident.deadlines.acknowledge_by,
                    "contain_by": incident.deadlines.contain_by,
                })),
        );
    }

    correlate(state, tx, &mut touched, now).await?;
    let raised = recognize_campaigns(state, tx, &mut touched, now).await?;

    for t in touched.values_mut() {
        let incident = &mut t.incident;
        if incident.priority == Priority::P1 && incident.status != IncidentStatus::Contained {
            let trigger = t.alerts.last().expect("a touched incident has a new alert");
            // Containment runs in the trace of the alert that triggered it,
            // and its pushes to the exchange carry that trace.
            let job = first_of[trigger.alert_id.as_str()];
            let span = &spans[job];
            tx.set_trace(jobs[job].trace.map(|trace| trace.within(span)));
            crate::runs::containment::contain_automatically(state, tx, incident, trigger, now)
                .instrument(span.clone())
                .await?;
            tx.set_trace(None);
            t.changed = true;
        }
    }
    // Incidents of earlier batches that joined a campaign: raised, and
    // contained if that made them P1.
    let mut others: Vec<(Incident, Milestones)> = Vec::with_capacity(raised.len());
    for crate::campaigns::Raised { mut incident, trigger } in raised {
        let before = incident.milestones();
        if incident.priority == Priority::P1
            && incident.status != IncidentStatus::Contained
            && let Some(trigger) = &trigger
        {
            crate::runs::containment::contain_automatically(state, tx, &mut incident, trigger, now).await?;
        }
        others.push((incident, before));
    }
    let changed: Vec<(&Incident, Milestones)> = touched
        .values()
        .filter(|t| t.changed)
        .map(|t| (&t.incident, t.before))
        .chain(others.iter().map(|(incident, before)| (incident, *before)))
        .collect();
    tx.save_incidents(&changed).await?;

    answer(tx, jobs, &stored, &first_of, &touched).await
}

/// Raises each incident's priority from its alerts taken together: the
/// batch's and the earlier ones a correlation rule may look at, read in one
/// statement for the whole batch.
async fn correlate(
    state: &AppState,
    tx: &mut WriteTx,
    touched: &mut BTreeMap<AccountId, Touched<'_>>,
    now: Timestamp,
) -> anyhow::Result<()> {
    let rules = &state.config().priority_rules;
    let lookback = rules.lookback();
    // A new incident with one alert was assessed from it already.
    let windows: Vec<CorrelationWindow> = touched
        .values()
        .filter(|t| !t.opened || t.alerts.len() > 1)
        .map(|t| {
            let earliest = t.alerts.iter().map(|a| a.occurred_at).min().expect("a new alert");
            let latest = t.alerts.iter().map(|a| a.occurred_at).max().expect("a new alert");
            CorrelationWindow {
                incident_id: t.incident.id.clone(),
                from: earliest.minus(lookback),
                until: latest.plus(lookback),
            }
        })
        .collect();
    if windows.is_empty() {
        return Ok(());
    }
    let mut related = tx.alerts_in_windows(&windows, CORRELATION_LIMIT).await?;
    for t in touched.values_mut().filter(|t| !t.opened || t.alerts.len() > 1) {
        let mut alerts = related.remove(&t.incident.id).unwrap_or_default();
        for alert in &t.alerts {
            if !alerts.iter().any(|a| a.alert_id == alert.alert_id) {
                alerts.push((*alert).clone());
            }
        }
        let assessment = rules.assess(&alerts);
        let latest = t.alerts.last().expect("a new alert");
        let incident = &mut t.incident;
        if let Some(before) = incident.reassess(assessment, |p| rules.sla(p), now) {
            tx.audit(
                AuditRecord::new(now, "system", AuditAction::IncidentPriorityRaised)
                    .incident(&incident.id, &incident.account_id)
                    .detail(json!({
                        "from": before,
                        "to": incident.priority,
                        "alert_id": latest.alert_id,
                        "acknowledge_by": incident.deadlines.acknowledge_by,
                        "contain_by": incident.deadlines.contain_by,
                    })),
            );
        }
        t.changed = true;
    }
    Ok(())
}

/// Recognises campaigns among the batch's new alerts (after correlation,
/// before containment: a campaign may make an incident P1). Returns the
/// incidents of earlier batches that joined one, locked and raised.
async fn recognize_campaigns(
    state: &AppState,
    tx: &mut WriteTx,
    touched: &mut BTreeMap<AccountId, Touched<'_>>,
    now: Timestamp,
) -> anyhow::Result<Vec<crate::campaigns::Raised>> {
    let entries: Vec<(&Alert, IncidentId)> = touched
        .values()
        .flat_map(|t| t.alerts.iter().map(|alert| (*alert, t.incident.id.clone())))
        .collect();
    let reasons_before: Vec<usize> = touched.values().map(|t| t.incident.priority_reasons.len()).collect();
    let raised = {
        let mut incidents: Vec<&mut Incident> = touched.values_mut().map(|t| &mut t.incident).collect();
        crate::campaigns::recognize(state, tx, &entries, &mut incidents, now)
            .await
            .context("Failed to recognise campaigns")?
    };
    // A campaign reason is a change to write back.
    for (t, before) in touched.values_mut().zip(reasons_before) {
        t.changed |= t.incident.priority_reasons.len() != before;
    }
    Ok(raised)
}

/// Each job's answer, in the jobs' order. A repeat of an alert stored
/// before is answered with its incident as it stands now.
async fn answer(
    tx: &mut WriteTx,
    jobs: &[Job],
    stored: &HashMap<String, IncidentId>,
    first_of: &HashMap<&str, usize>,
    touched: &BTreeMap<AccountId, Touched<'_>>,
) -> anyhow::Result<Vec<Ingested>> {
    let by_id: HashMap<&IncidentId, &Incident> = touched.values().map(|t| (&t.incident.id, &t.incident)).collect();
    let elsewhere: Vec<IncidentId> = stored
        .values()
        .filter(|id| !by_id.contains_key(id))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let read = tx.incidents_by_id(&elsewhere).await?;
    let mut results = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let id = job.alert.alert_id.as_str();
        let (incident, duplicate) = match stored.get(id) {
            Some(incident_id) => {
                let incident = by_id
                    .get(incident_id)
                    .copied()
                    .or_else(|| read.iter().find(|incident| &incident.id == incident_id))
                    .context("a stored alert's incident is missing")?;
                (incident, true)
            }
            None => {
                let incident = &touched
                    .get(&job.alert.account_id)
                    .context("a new alert has no incident")?
                    .incident;
                (incident, first_of.get(id) != Some(&i))
            }
        };
        results.push(Ingested {
            alert_id: id.to_owned(),
            incident_id: incident.id.clone(),
            priority: incident.priority,
            incident_status: incident.status,
            duplicate,
        });
    }
    Ok(results)
}
