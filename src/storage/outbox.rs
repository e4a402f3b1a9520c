//! The transactional outbox: messages for the exchange, written in the same
//! transaction as the change that calls for them and delivered afterwards.
//!
//! A message keeps its idempotency key and exact body for every attempt, so
//! the exchange can recognise a retry; a key is never queued twice. Once
//! the exchange confirms it, the message moves to `outbox_delivered`
//! (partitioned by month on PostgreSQL and expired by retention), leaving
//! the outbox to what waits and what was given up on. A delivery claims the message for a
//! lease; if the instance dies mid-delivery the lease runs out and another
//! delivery (with the same key) follows.

use std::time::Duration;

use super::{Backend, Database, WriteTx, execute, on_backend, parsed};
use crate::domain::exchange::Destination;
use crate::domain::ids::{IncidentId, MessageId, RunId};
use crate::domain::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxStatus {
    Pending,
    Delivered,
    Failed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [OutboxStatus::Pending, OutboxStatus::Delivered, OutboxStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A message for the exchange.
#[derive(Clone, Debug)]
pub struct OutboxMessage {
    pub id: MessageId,
    pub idempotency_key: String,
    pub destination: Destination,
    /// The exact JSON body sent on every attempt.
    pub body: String,
    pub created_at: Timestamp,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub response: Option<String>,
    /// The playbook run step waiting for this message, if any.
    pub run_id: Option<RunId>,
    /// The trace of the change that queued it (a `traceparent` value).
    pub traceparent: Option<String>,
}

super::from_row!(OutboxMessage, |row| Ok(OutboxMessage {
    id: row.try_get("id")?,
    idempotency_key: row.try_get("idempotency_key")?,
    destination: parsed("destination", row.try_get("destination")?, Destination::parse)?,
    body: row.try_get("body")?,
    created_at: row.try_get("created_at")?,
    status: parsed("status", row.try_get("status")?, OutboxStatus::parse)?,
    attempts: row.try_get("attempts")?,
    next_attempt_at: row.try_get("next_attempt_at")?,
    last_error: row.try_get("last_error")?,
    response: row.try_get("response")?,
    run_id: row.try_get("run_id")?,
    traceparent: row.try_get("traceparent")?,
}));

macro_rules! columns {
    () => {
        "id, idempotency_key, destination, body, created_at, status, attempts, next_attempt_at, last_error, response, run_id, traceparent"
    };
}

/// A message to queue.
pub struct Queued<'a> {
    pub idempotency_key: &'a str,
    pub destination: Destination,
    /// The exact JSON body to send on every attempt (or its sealed form).
    pub body: &'a str,
    /// The playbook run to wake when the message is settled.
    pub run_id: Option<&'a RunId>,
    /// The incident the message is about: a legal hold keeps its delivery.
    pub incident_id: Option<&'a IncidentId>,
}

/// The exchange's confirmation of a message.
pub struct Confirmed<'a> {
    pub id: &'a MessageId,
    /// The answer, kept with the delivered message.
    pub response: String,
    /// The message carried a secret: its body is not kept.
    pub redact: bool,
}

/// What a settled message carrying a secret keeps of its body.
const REDACTED: &str = "{\"redacted\": true}";

impl WriteTx {
    /// Queues a message in this transaction's trace, unless a message with
    /// the same idempotency key was ever queued (whatever became of it).
    /// Returns whether it was queued.
    pub async fn enqueue(&mut self, message: &Queued<'_>, at: Timestamp) -> Result<bool, sqlx::Error> {
        let new_key = execute!(
            self.conn(),
            "INSERT INTO outbox_keys (idempotency_key, queued_at) VALUES ($1, $2) ON CONFLICT (idempotency_key) DO NOTHING",
            message.idempotency_key,
            at
        )?;
        if new_key == 0 {
            return Ok(false);
        }
        let traceparent = self.stored_trace();
        execute!(
            self.conn(),
            "INSERT INTO outbox (id, idempotency_key, destination, body, created_at, status, attempts, next_attempt_at, run_id,
                                 traceparent, incident_id)
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $5, $6, $7, $8)",
            MessageId::new(),
            message.idempotency_key,
            message.destination.as_str(),
            message.body,
            at,
            message.run_id,
            &traceparent,
            message.incident_id
        )?;
        self.record(super::Effect::MessageQueued);
        Ok(true)
    }

    /// Claims up to `limit` due messages for `lease`, counting the attempt.
    pub async fn claim_due_messages(
        &mut self,
        now: Timestamp,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, sqlx::Error> {
        let lease_until = now.plus(lease);
        // PostgreSQL skips rows another instance is claiming, and gathers the
        // ids once before updating them (written as `id IN (SELECT …)` the
        // planner may run the sub-select once per row: load/REPORT.md).
        // SQLite's single writer connection already serialises claims.
        macro_rules! claim {
            ($ids:literal) => {
                concat!(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2 WHERE ",
                    $ids,
                    " RETURNING ",
                    columns!()
                )
            };
        }
        super::on_backend_sql!(self.conn(), c, sql = (
            claim!("id = ANY(ARRAY(SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
                                   ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED))"),
            claim!("id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
                           ORDER BY next_attempt_at LIMIT $3)")
        ) => sqlx::query_as(sql).bind(now).bind(lease_until).bind(limit).fetch_all(c).await)
    }

    /// Gives up on a message for good. Returns false when it was already
    /// settled (another delivery won).
    pub async fn fail_message(&mut self, id: &MessageId, error: &str, at: Timestamp) -> Result<bool, sqlx::Error> {
        let updated = execute!(
            self.conn(),
            "UPDATE outbox SET status = 'failed', last_error = $2, delivered_at = $3 WHERE id = $1 AND status = 'pending'",
            id,
            error,
            at
        )?;
        Ok(updated == 1)
    }

    /// Records the exchange's confirmations: each confirmed message moves
    /// from the outbox to the delivered ones (one statement on PostgreSQL).
    /// Returns the ids it settled, leaving out messages already settled
    /// (another delivery won).
    pub async fn settle_delivered(
        &mut self,
        confirmed: &[Confirmed<'_>],
        at: Timestamp,
    ) -> Result<Vec<MessageId>, sqlx::Error> {
        if confirmed.is_empty() {
            return Ok(Vec::new());
        }
        match self.conn() {
            Backend::Postgres(c) => {
                let ids: Vec<&MessageId> = confirmed.iter().map(|m| m.id).collect();
                let responses: Vec<&str> = confirmed.iter().map(|m| m.response.as_str()).collect();
                let redact: Vec<bool> = confirmed.iter().map(|m| m.redact).collect();
                sqlx::query_scalar(
                    "WITH moved AS (
                         DELETE FROM outbox o USING UNNEST($1::text[], $2::text[], $3::bool[]) AS u(id, response, redact)
                         WHERE o.id = u.id AND o.status = 'pending'
                         RETURNING o.id, o.idempotency_key, o.destination, CASE WHEN u.redact THEN $5 ELSE o.body END AS body,
                                   o.created_at, o.attempts, u.response, o.run_id, o.traceparent, o.incident_id)
                     INSERT INTO outbox_delivered (id, idempotency_key, destination, body, created_at, attempts, delivered_at,
                                                   response, run_id, traceparent, incident_id, retained_from)
                     SELECT id, idempotency_key, destination, body, created_at, attempts, $4,
                            response, run_id, traceparent, incident_id, $4 FROM moved
                     RETURNING id",
                )
                .bind(ids)
                .bind(responses)
                .bind(redact)
                .bind(at)
                .bind(REDACTED)
                .fetch_all(c)
                .await
            }
            Backend::Sqlite(_) => {
                let mut settled = Vec::with_capacity(confirmed.len());
                for message in confirmed {
                    let moved = execute!(
                        self.conn(),
                        "INSERT INTO outbox_delivered (id, idempotency_key, destination, body, created_at, attempts, delivered_at,
                                                       response, run_id, traceparent, incident_id, retained_from)
                         SELECT id, idempotency_key, destination, CASE WHEN $3 THEN $5 ELSE body END, created_at, attempts, $4,
                                $2, run_id, traceparent, incident_id, $4
                         FROM outbox WHERE id = $1 AND status = 'pending'",
                        message.id,
                        &message.response,
                        message.redact,
                        at,
                        REDACTED
                    )?;
                    if moved == 1 {
                        execute!(self.conn(), "DELETE FROM outbox WHERE id = $1", message.id)?;
                        settled.push(message.id.clone());
                    }
                }
                Ok(settled)
            }
        }
    }

    /// Schedules another attempt after a failed one.
    pub async fn retry_message(
        &mut self,
        id: &MessageId,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), sqlx::Error> {
        execute!(
            self.conn(),
            "UPDATE outbox SET next_attempt_at = $2, last_error = $3 WHERE id = $1 AND status = 'pending'",
            id,
            next_attempt_at,
            error
        )?;
        Ok(())
    }

    /// Replaces the body of a message given up on, which carried a secret,
    /// with a note (a delivered one is redacted as it is settled).
    pub async fn redact_message(&mut self, id: &MessageId) -> Result<(), sqlx::Error> {
        execute!(self.conn(), "UPDATE outbox SET body = $2 WHERE id = $1", id, REDACTED)?;
        Ok(())
    }

    /// Where the message queued under `idempotency_key` stands, and why it
    /// was given up on if it was; `None` when no such message was queued.
    pub async fn message_status(
        &mut self,
        idempotency_key: &str,
    ) -> Result<Option<(OutboxStatus, Option<String>)>, sqlx::Error> {
        let found: Option<(String, Option<String>)> = on_backend!(self.conn(), c => sqlx::query_as(
            "SELECT status, last_error FROM outbox WHERE idempotency_key = $1
             UNION ALL
             SELECT 'delivered', NULL FROM outbox_keys k WHERE k.idempotency_key = $1
                 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = $1)",
        )
        .bind(idempotency_key)
        .fetch_optional(c)
        .await)?;
        found
            .map(|(status, error)| Ok((parsed("status", status, OutboxStatus::parse)?, error)))
            .transpose()
    }
}

impl Database {
    /// How many messages wait to be delivered (the gauge `holdfast_outbox_pending`).
    pub async fn pending_messages(&self) -> Result<i64, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending'",
        )
        .fetch_one(pool)
        .await)
    }

    /// When the next pending message is due, for the delivery loop to sleep until then.
    pub async fn next_message_due(&self) -> Result<Option<Timestamp>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'",
        )
        .fetch_one(pool)
        .await)
    }
}
