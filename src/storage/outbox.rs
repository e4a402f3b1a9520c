//! The transactional outbox: messages for the exchange, written in the same
//! transaction as the change that calls for them and delivered afterwards.
//!
//! A message keeps its idempotency key and exact body for every attempt, so
//! the exchange can recognise a retry. A delivery claims the message for a
//! lease; if the instance dies mid-delivery the lease runs out and another
//! delivery (with the same key) follows.

use std::time::Duration;

use super::{Backend, Database, WriteTx, execute, on_backend, parsed};
use crate::domain::exchange::Destination;
use crate::domain::ids::{MessageId, RunId};
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

impl WriteTx {
    /// Queues a message in this transaction's trace; a message with the same
    /// idempotency key is kept as is.
    pub async fn enqueue(
        &mut self,
        id: &MessageId,
        idempotency_key: &str,
        destination: Destination,
        body: &str,
        run_id: Option<&RunId>,
        at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let traceparent = self.stored_trace();
        let inserted = on_backend!(self.conn(), c => sqlx::query(
            "INSERT INTO outbox (id, idempotency_key, destination, body, created_at, status, attempts, next_attempt_at, run_id,
                                 traceparent)
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $5, $6, $7)
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(id)
        .bind(idempotency_key)
        .bind(destination.as_str())
        .bind(body)
        .bind(at)
        .bind(run_id)
        .bind(&traceparent)
        .execute(c)
        .await?
        .rows_affected());
        if inserted == 1 {
            self.record(super::Effect::MessageQueued);
        }
        Ok(inserted == 1)
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

    /// Records the exchange's confirmation. Returns false when the message was
    /// already settled (another delivery won).
    pub async fn settle_message(
        &mut self,
        id: &MessageId,
        status: OutboxStatus,
        response: Option<&str>,
        error: Option<&str>,
        at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let updated = on_backend!(self.conn(), c => sqlx::query(
            "UPDATE outbox SET status = $2, response = $3, last_error = $4, delivered_at = $5
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(response)
        .bind(error)
        .bind(at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(updated == 1)
    }

    /// Records the exchange's confirmations of several messages: one
    /// statement on PostgreSQL. Returns the ids it settled, leaving out
    /// messages already settled (another delivery won).
    pub async fn settle_delivered(
        &mut self,
        confirmed: &[(&MessageId, String)],
        at: Timestamp,
    ) -> Result<Vec<MessageId>, sqlx::Error> {
        if confirmed.is_empty() {
            return Ok(Vec::new());
        }
        match self.conn() {
            Backend::Postgres(c) => {
                let (ids, responses): (Vec<&MessageId>, Vec<&str>) =
                    confirmed.iter().map(|(id, response)| (*id, response.as_str())).unzip();
                sqlx::query_scalar(
                    "UPDATE outbox SET status = 'delivered', response = u.response, last_error = NULL, delivered_at = $3
                     FROM UNNEST($1::text[], $2::text[]) AS u(id, response)
                     WHERE outbox.id = u.id AND outbox.status = 'pending'
                     RETURNING outbox.id",
                )
                .bind(ids)
                .bind(responses)
                .bind(at)
                .fetch_all(c)
                .await
            }
            Backend::Sqlite(_) => {
                let mut settled = Vec::with_capacity(confirmed.len());
                for (id, response) in confirmed {
                    if self
                        .settle_message(id, OutboxStatus::Delivered, Some(response), None, at)
                        .await?
                    {
                        settled.push((*id).clone());
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

    /// Replaces a settled message's body, which carried a secret, with a note.
    pub async fn redact_message(&mut self, id: &MessageId) -> Result<(), sqlx::Error> {
        execute!(
            self.conn(),
            "UPDATE outbox SET body = '{\"redacted\": true}' WHERE id = $1",
            id
        )?;
        Ok(())
    }

    pub async fn message_in_tx(&mut self, idempotency_key: &str) -> Result<Option<OutboxMessage>, sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query_as(concat!("SELECT ", columns!(), " FROM outbox WHERE idempotency_key = $1"))
            .bind(idempotency_key)
            .fetch_optional(c)
            .await)
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
