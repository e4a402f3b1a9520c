//! The intake pipeline: alerts in, incidents out, in batched transactions.
//!
//! Handlers hand validated alerts to a queue and wait. Worker tasks take
//! whatever has queued up (one alert when traffic is light, up to
//! [`MAX_BATCH`] under load) and store the whole batch in one transaction, so
//! the cost of a durable commit, and of the audit chain's head lock, is shared
//! by every alert in it. Each caller is answered only after the commit.
//!
//! Batches are processed in (account, alert id) order, so concurrent batches
//! take incident locks in one global order and cannot deadlock each other.
//! Should a batch fail anyway, its alerts are retried one transaction each,
//! and only an alert that fails on its own gets an error.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

use super::queue::{Ingested, IntakeQueue, Job};
use crate::domain::alert::Alert;
use crate::domain::audit::AuditRecord;
use crate::domain::ids::IncidentId;
use crate::domain::incident::{Incident, IncidentStatus};
use crate::domain::priority::Priority;
use crate::domain::time::Timestamp;
use crate::state::AppState;
use crate::storage::{InsertedAlert, LiveIncident, WriteTx};

/// The most alerts stored in one transaction.
pub const MAX_BATCH: usize = 64;
/// How many earlier alerts of an incident a correlation rule looks at.
const CORRELATION_LIMIT: i64 = 100;
/// How often a single alert is retried after a deadlock or serialisation failure.
const RETRIES: usize = 3;

/// Runs `workers` intake workers until `cancel` fires.
pub async fn run_workers(state: AppState, queue: IntakeQueue, workers: usize, cancel: CancellationToken) {
    let queue = Arc::new(Mutex::new(queue.0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let (state, queue, cancel) = (state.clone(), queue.clone(), cancel.clone());
        tasks.spawn(async move {
            while let Some(batch) = next_batch(&queue, &cancel).await {
                process(&state, batch).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Waits for one job, then takes every job already queued, up to [`MAX_BATCH`].
async fn next_batch(queue: &Mutex<mpsc::Receiver<Job>>, cancel: &CancellationToken) -> Option<Vec<Job>> {
    let mut queue = queue.lock().await;
    let first = tokio::select! {
        _ = cancel.cancelled() => return None,
        job = queue.recv() => job?,
    };
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

async fn process(state: &AppState, mut batch: Vec<Job>) {
    batch.sort_by(|a, b| (&a.alert.account_id, &a.alert.alert_id).cmp(&(&b.alert.account_id, &b.alert.alert_id)));
    metrics::histogram!("holdfast_intake_batch_size").record(batch.len() as f64);
    match ingest(state, &batch).await {
        Ok(results) => {
            let stored: Vec<(String, IncidentId)> = results
                .iter()
                .map(|r| (r.alert_id.clone(), r.incident_id.clone()))
                .collect();
            state.shared().remember_alerts(&stored).await;
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.reply.send(Ok(result));
            }
        }
        Err(error) if batch.len() > 1 => {
            tracing::warn!(
                error = format!("{error:#}"),
                size = batch.len(),
                "an intake batch failed; storing its alerts one by one"
            );
            for job in batch {
                let result = ingest_alone(state, &job).await;
                let _ = job.reply.send(result.map_err(Arc::new));
            }
        }
        Err(error) => {
            let job = batch.pop().expect("a batch of one");
            let result = match is_retryable(&error) {
                true => ingest_alone(state, &job).await,
                false => Err(error),
            };
            let _ = job.reply.send(result.map_err(Arc::new));
        }
    }
}

async fn ingest_alone(state: &AppState, job: &Job) -> anyhow::Result<Ingested> {
    let mut attempt = 0;
    loop {
        match ingest(state, std::slice::from_ref(job)).await {
            Ok(mut results) => return Ok(results.remove(0)),
            Err(error) if attempt < RETRIES && is_retryable(&error) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(5 * attempt as u64)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Deadlocks and serialisation failures succeed when simply tried again.
fn is_retryable(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

/// Stores `jobs` in one transaction, in two passes: first every alert with
/// its incident (opened or locked, reassessed), then campaign recognition
/// for the whole batch, then containment of P1 incidents and one write of
/// each changed incident. A campaign may make an incident P1, so
/// containment comes after it.
async fn ingest(state: &AppState, jobs: &[Job]) -> anyhow::Result<Vec<Ingested>> {
    let now = state.clock().now();
    let mut tx = state
        .db()
        .begin()
        .await
        .context("Failed to start the intake transaction")?;
    let mut held: BTreeMap<IncidentId, Held> = BTreeMap::new();
    let mut steps = Vec::with_capacity(jobs.len());
    for job in jobs {
        let step = ingest_one(state, &mut tx, &job.alert, &job.source, now, &mut held)
            .await
            .with_context(|| format!("Failed to store alert {}", job.alert.alert_id))?;
        steps.push(step);
    }

    let entries: Vec<(&Alert, IncidentId)> = jobs
        .iter()
        .zip(&steps)
        .filter(|(_, step)| !step.duplicate)
        .map(|(job, step)| (&job.alert, step.incident_id.clone()))
        .collect();
    let raised = {
        let mut incidents: Vec<&mut Incident> = held.values_mut().map(|h| &mut h.incident).collect();
        crate::campaigns::recognize(state, &mut tx, &entries, &mut incidents, now)
            .await
            .context("Failed to recognise campaigns")?
    };
    for raised in raised {
        held.insert(
            raised.incident.id.clone(),
            Held {
                incident: raised.incident,
                stored: None,
                trigger: raised.trigger,
                latest: None,
            },
        );
    }

    for held in held.values_mut() {
        let incident = &mut held.incident;
        let trigger = held.trigger.as_ref().or(held.latest.as_ref());
        if incident.priority == Priority::P1
            && incident.status != IncidentStatus::Contained
            && let Some(trigger) = trigger
        {
            crate::containment::contain_automatically(state, &mut tx, incident, trigger, now).await?;
        }
        if held.stored.as_ref() != Some(&held.incident) {
            tx.save_incident(&held.incident).await?;
        }
    }

    let results: Vec<Ingested> = jobs
        .iter()
        .zip(steps)
        .map(|(job, step)| {
            let (priority, incident_status) = match held.get(&step.incident_id) {
                Some(held) => (held.incident.priority, held.incident.status),
                None => (step.priority, step.status),
            };
            Ingested {
                alert_id: job.alert.alert_id.to_string(),
                incident_id: step.incident_id,
                priority,
                incident_status,
                duplicate: step.duplicate,
            }
        })
        .collect();
    state
        .commit(tx)
        .await
        .context("Failed to commit the intake transaction")?;
    for (job, result) in jobs.iter().zip(&results) {
        count(&job.alert, result);
    }
    Ok(results)
}

/// An incident of the batch: locked, changed in memory, written once at the end.
struct Held {
    incident: Incident,
    /// As it is stored now (`None`: write it in any case); an unchanged
    /// incident is not written back.
    stored: Option<Incident>,
    /// The alert that made it P1, which containment starts from.
    trigger: Option<Alert>,
    /// Its latest alert in the batch (containment's trigger otherwise).
    latest: Option<Alert>,
}

/// What the first pass did with one alert.
struct Step {
    incident_id: IncidentId,
    duplicate: bool,
    /// The incident's state when it is not one the batch holds.
    priority: Priority,
    status: IncidentStatus,
}

fn count(alert: &Alert, result: &Ingested) {
    if result.duplicate {
        metrics::counter!("holdfast_alerts_duplicate_total", "kind" => alert.kind.as_str()).increment(1);
    } else {
        metrics::counter!("holdfast_alerts_total", "kind" => alert.kind.as_str()).increment(1);
    }
}

async fn ingest_one(
    state: &AppState,
    tx: &mut WriteTx,
    alert: &Alert,
    source: &str,
    now: Timestamp,
    held: &mut BTreeMap<IncidentId, Held>,
) -> anyhow::Result<Step> {
    if let InsertedAlert::Duplicate { incident_id } = tx.insert_alert(alert, now).await? {
        let (priority, status) = match held.get(&incident_id) {
            Some(held) => (held.incident.priority, held.incident.status),
            None => {
                let incident = tx
                    .lock_incident(&incident_id)
                    .await?
                    .context("a stored alert's incident is missing")?;
                (incident.priority, incident.status)
            }
        };
        return Ok(Step {
            incident_id,
            duplicate: true,
            priority,
            status,
        });
    }

    let rules = &state.config().priority_rules;
    let alone = rules.assess(std::slice::from_ref(alert));
    let candidate = Incident::open(
        IncidentId::new(),
        alert.account_id.to_string(),
        alone.clone(),
        rules.sla(alone.priority),
        now,
    );
    let (locked, opened) = match tx.open_or_lock_live_incident(candidate).await? {
        LiveIncident::Opened(incident) => (incident, true),
        LiveIncident::Existing(incident) => (incident, false),
    };
    // An incident an earlier alert of this batch changed is taken as changed.
    let entry = held.entry(locked.id.clone()).or_insert_with(|| Held {
        stored: Some(locked.clone()),
        incident: locked,
        trigger: None,
        latest: None,
    });
    let incident = &mut entry.incident;
    tx.attach_alert(alert.alert_id.as_str(), &incident.id).await?;
    tx.audit(
        AuditRecord::new(now, source, "alert.received")
            .incident(&incident.id, &incident.account_id)
            .detail(json!({"alert_id": alert.alert_id, "kind": alert.kind, "score": alone.score})),
    );

    if opened {
        metrics::counter!("holdfast_incidents_opened_total", "priority" => incident.priority.as_str()).increment(1);
        tx.audit(
            AuditRecord::new(now, "system", "incident.opened")
                .incident(&incident.id, &incident.account_id)
                .detail(json!({
                    "priority": incident.priority,
                    "score": incident.score,
                    "acknowledge_by": incident.deadlines.acknowledge_by,
                    "contain_by": incident.deadlines.contain_by,
                })),
        );
    } else {
        let lookback = rules.lookback();
        let mut related = tx
            .incident_alerts_between(
                &incident.id,
                alert.occurred_at.minus(lookback),
                alert.occurred_at.plus(lookback),
                CORRELATION_LIMIT,
            )
            .await?;
        if !related.iter().any(|a| a.alert_id == alert.alert_id) {
            related.push(alert.clone());
        }
        let assessment = rules.assess(&related);
        if let Some(before) = incident.reassess(assessment, |p| rules.sla(p), now) {
            tx.audit(
                AuditRecord::new(now, "system", "incident.priority_raised")
                    .incident(&incident.id, &incident.account_id)
                    .detail(json!({
                        "from": before,
                        "to": incident.priority,
                        "alert_id": alert.alert_id,
                        "acknowledge_by": incident.deadlines.acknowledge_by,
                        "contain_by": incident.deadlines.contain_by,
                    })),
            );
        }
    }

    if incident.priority == Priority::P1 && entry.trigger.is_none() {
        entry.trigger = Some(alert.clone());
    }
    entry.latest = Some(alert.clone());
    Ok(Step {
        incident_id: incident.id.clone(),
        duplicate: false,
        priority: incident.priority,
        status: incident.status,
    })
}
