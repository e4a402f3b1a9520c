//! The intake pipeline: alerts in, incidents out, in batched transactions.
//!
//! Handlers hand validated alerts to a queue and wait. Worker tasks take
//! whatever has queued up (one alert when traffic is light, up to
//! [`MAX_BATCH`] under load) and store the whole batch in one transaction, so
//! the cost of a durable commit, and of the audit chains' head locks, is shared
//! by every alert in it. Each caller is answered only after the commit.
//!
//! A batch costs a handful of statements whatever its size (see
//! [`batch::store_batch`]): on PostgreSQL each step is one statement over arrays.
//! Incidents are opened and locked in account order, so concurrent batches
//! take their locks in one global order and do not deadlock each other.
//! Should a batch fail anyway, its alerts are retried one transaction each,
//! and only an alert that fails on its own gets an error.
//!
//! This file holds the workers and the answers; the batch's steps are
//! `batch`, its SQL `storage/intake`.

mod batch;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::batch::store_batch;
use crate::domain::alert::Alert;
use crate::domain::ids::IncidentId;
use crate::state::AppState;
use crate::state::handles::intake::{Ingested, IntakeQueue, Job};

/// The most alerts stored in one transaction.
pub const MAX_BATCH: usize = 64;
/// How many earlier alerts of an incident a correlation rule looks at.
const CORRELATION_LIMIT: i64 = 100;
/// How often a single alert is retried after a deadlock or serialisation failure.
const RETRIES: usize = 3;

/// Runs one intake worker per queue shard until `cancel` fires.
pub async fn run_workers(state: AppState, queue: IntakeQueue, cancel: CancellationToken) {
    let mut tasks = tokio::task::JoinSet::new();
    for mut shard in queue.0 {
        let (state, cancel) = (state.clone(), cancel.clone());
        tasks.spawn(async move {
            while let Some(batch) = next_batch(&mut shard, &cancel).await {
                process(&state, batch).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Waits for one job, then takes every job already queued, up to [`MAX_BATCH`].
async fn next_batch(queue: &mut mpsc::Receiver<Job>, cancel: &CancellationToken) -> Option<Vec<Job>> {
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

/// Deadlocks, serialisation failures and a retry racing its original
/// succeed when simply tried again.
fn is_retryable(error: &anyhow::Error) -> bool {
    error.downcast_ref::<RacedWithOriginal>().is_some()
        || error
            .downcast_ref::<sqlx::Error>()
            .and_then(|e| e.as_database_error())
            .and_then(|e| e.code())
            .is_some_and(|code| code == "40P01" || code == "40001")
}

/// An alert of the batch was stored by another transaction between the
/// batch's look-up and its insert: a retry that raced its original. Tried
/// again, it is answered as the repeat it is.
#[derive(Debug, thiserror::Error)]
#[error("alert {0} was stored by a concurrent transaction")]
struct RacedWithOriginal(String);

/// Stores `jobs` in one transaction.
async fn ingest(state: &AppState, jobs: &[Job]) -> anyhow::Result<Vec<Ingested>> {
    let now = state.clock().now();
    let mut tx = state
        .db()
        .begin()
        .await
        .context("Failed to start the intake transaction")?;
    // Each alert in the trace of the request that sent it.
    let spans: Vec<tracing::Span> = jobs
        .iter()
        .map(|job| {
            let span = tracing::info_span!("intake", alert.id = %job.alert.alert_id);
            if let Some(trace) = job.trace {
                trace.adopt(&span);
            }
            span
        })
        .collect();
    let results = store_batch(state, &mut tx, jobs, &spans, now).await?;
    state
        .commit(tx)
        .await
        .context("Failed to commit the intake transaction")?;
    for (job, result) in jobs.iter().zip(&results) {
        count(&job.alert, result);
    }
    Ok(results)
}

fn count(alert: &Alert, result: &Ingested) {
    if result.duplicate {
        metrics::counter!("holdfast_alerts_duplicate_total", "kind" => alert.kind.as_str()).increment(1);
    } else {
        metrics::counter!("holdfast_alerts_total", "kind" => alert.kind.as_str()).increment(1);
    }
}
