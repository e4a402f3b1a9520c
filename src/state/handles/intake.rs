//! The intake queue: handlers submit validated alerts and wait for their
//! incident; the intake workers ([`crate::alerts::intake`]) drain it in batches.
//!
//! The queue is sharded by account, one shard per worker: all alerts of an
//! account go to the same worker, so two batches of this instance never
//! wait for each other on an account's incident row. The shard is chosen by
//! the stable hash that also picks an account's audit chain, so with a
//! number of chains that is a multiple of the number of workers, two
//! workers' batches never lock the same chain's head either.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::domain::alert::Alert;
use crate::domain::audit::stable_hash;
use crate::domain::ids::IncidentId;
use crate::domain::incident::IncidentStatus;
use crate::domain::priority::Priority;
use crate::platform::trace_context::TraceContext;
use crate::state::ratelimit::Refusal;

/// How many alerts may wait for a worker before callers wait to enqueue.
const QUEUE_CAPACITY: usize = 4096;

/// The handle handlers submit alerts through.
#[derive(Clone)]
pub struct Intake {
    /// One sender per worker; an account's alerts always take the same one.
    shards: Arc<[mpsc::Sender<Job>]>,
}

/// The receiving ends, one per worker, consumed by `alerts::intake::run_workers`.
pub struct IntakeQueue(pub(crate) Vec<mpsc::Receiver<Job>>);

/// One submitted alert and where to send its answer.
pub(crate) struct Job {
    pub alert: Alert,
    /// Who sent it, for the audit log: `risk-engine:<key id>`.
    pub source: String,
    /// The trace of the request that submitted it.
    pub trace: Option<TraceContext>,
    pub reply: oneshot::Sender<Result<Ingested, Arc<anyhow::Error>>>,
}

/// What became of an alert.
#[derive(Clone, Debug)]
pub struct Ingested {
    pub alert_id: String,
    pub incident_id: IncidentId,
    pub priority: Priority,
    pub incident_status: IncidentStatus,
    /// The alert id was seen before; nothing was changed.
    pub duplicate: bool,
}

impl Intake {
    /// A queue for `workers` workers.
    pub fn new(workers: usize) -> (Intake, IntakeQueue) {
        let workers = workers.max(1);
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..workers)
            .map(|_| mpsc::channel(QUEUE_CAPACITY.div_ceil(workers)))
            .unzip();
        let intake = Intake { shards: senders.into() };
        (intake, IntakeQueue(receivers))
    }

    /// Stores an alert and returns its incident once committed.
    pub async fn submit(&self, alert: Alert, source: String) -> Result<Ingested, Refusal> {
        let (reply, answer) = oneshot::channel();
        let shard = (stable_hash(alert.account_id.as_str()) % self.shards.len() as u64) as usize;
        self.shards[shard]
            .send(Job {
                alert,
                source,
                trace: crate::platform::trace_context::current(),
                reply,
            })
            .await
            .map_err(|_| Refusal::Unavailable("the service is shutting down"))?;
        match answer.await {
            Ok(Ok(ingested)) => Ok(ingested),
            Ok(Err(cause)) => Err(Refusal::Failed(anyhow::anyhow!("{cause:#}"))),
            Err(_) => Err(Refusal::Unavailable("the service is shutting down")),
        }
    }
}
