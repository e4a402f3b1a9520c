//! The intake queue: handlers submit validated alerts and wait for their
//! incident; the intake workers ([`super::intake`]) drain it in batches.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::domain::alert::Alert;
use crate::domain::ids::IncidentId;
use crate::domain::incident::IncidentStatus;
use crate::domain::priority::Priority;
use crate::error::ApiError;
use crate::trace_context::TraceContext;

/// How many alerts may wait for a worker before callers wait to enqueue.
const QUEUE_CAPACITY: usize = 4096;

/// The handle handlers submit alerts through.
#[derive(Clone)]
pub struct Intake {
    sender: mpsc::Sender<Job>,
}

/// The receiving end, consumed by [`super::intake::run_workers`].
pub struct IntakeQueue(pub(super) mpsc::Receiver<Job>);

/// One submitted alert and where to send its answer.
pub(super) struct Job {
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
    pub fn new() -> (Intake, IntakeQueue) {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        (Intake { sender }, IntakeQueue(receiver))
    }

    /// Stores an alert and returns its incident once committed.
    pub async fn submit(&self, alert: Alert, source: String) -> Result<Ingested, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job {
                alert,
                source,
                trace: crate::trace_context::current(),
                reply,
            })
            .await
            .map_err(|_| ApiError::Unavailable("the service is shutting down".into()))?;
        match answer.await {
            Ok(Ok(ingested)) => Ok(ingested),
            Ok(Err(cause)) => Err(ApiError::Internal(anyhow::anyhow!("{cause:#}"))),
            Err(_) => Err(ApiError::Unavailable("the service is shutting down".into())),
        }
    }
}
