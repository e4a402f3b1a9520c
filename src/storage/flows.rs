//! The holder's unfreeze flows.

use std::time::Duration;

use super::{Database, WriteTx, execute, json, live_flow, on_backend, parsed, select_locked};
use crate::domain::ids::{AccountId, FlowId, IncidentId, RunId};
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::{Flow, FlowState};

super::from_row!(Flow, |row| Ok(Flow {
    id: row.try_get("id")?,
    account_id: row.try_get("account_id")?,
    incident_id: row.try_get("incident_id")?,
    state: parsed("state", row.try_get("state")?, FlowState::parse)?,
    created_at: row.try_get("created_at")?,
    updated_at: row.try_get("updated_at")?,
    expires_at: row.try_get("expires_at")?,
    code_hash: row.try_get("code_hash")?,
    code_expires_at: row.try_get("code_expires_at")?,
    code_attempts_left: u32::try_from(row.try_get::<i32, _>("code_attempts_left")?).unwrap_or(0),
    codes_sent: u32::try_from(row.try_get::<i32, _>("codes_sent")?).unwrap_or(0),
    code_verified_at: row.try_get("code_verified_at")?,
    second_factor_attempts_left: u32::try_from(row.try_get::<i32, _>("second_factor_attempts_left")?).unwrap_or(0),
    second_factor_required: row.try_get("second_factor_required")?,
    second_factor_verified_at: row.try_get("second_factor_verified_at")?,
    answers: row
        .try_get::<Option<String>, _>("answers")?
        .map(|text| json("answers", text))
        .transpose()?,
    verified_at: row.try_get("verified_at")?,
    queued_at: row.try_get("queued_at")?,
    decided_at: row.try_get("decided_at")?,
    decided_by: row.try_get("decided_by")?,
    decision_reason: row.try_get("decision_reason")?,
    run_id: row.try_get("run_id")?,
    link_sent_at: row.try_get("link_sent_at")?,
    code_key_id: row.try_get("code_key_id")?,
}));

macro_rules! columns {
    () => {
        "id, account_id, incident_id, state, created_at, updated_at, expires_at, code_hash, code_expires_at,
         code_attempts_left, codes_sent, code_verified_at, second_factor_attempts_left, second_factor_required,
         second_factor_verified_at, answers, verified_at, queued_at, decided_at, decided_by, decision_reason, run_id,
         link_sent_at, code_key_id"
    };
}

impl WriteTx {
    pub async fn insert_flow(&mut self, flow: &Flow, token_hash: &[u8]) -> Result<(), sqlx::Error> {
        execute!(self.conn(), "INSERT INTO unfreeze_flows (id, token_hash, account_id, incident_id, state, created_at, updated_at, expires_at,
                                         code_attempts_left, codes_sent, second_factor_attempts_left)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)", &flow.id, token_hash, &flow.account_id, &flow.incident_id, flow.state.as_str(), flow.created_at, flow.updated_at, flow.expires_at, flow.code_attempts_left as i32, flow.codes_sent as i32, flow.second_factor_attempts_left as i32)?;
        Ok(())
    }

    /// Writes back a locked flow.
    pub async fn save_flow(&mut self, flow: &Flow) -> Result<(), sqlx::Error> {
        if flow.ends_case() {
            self.record(super::Effect::FlowDecided(flow.incident_id.clone()));
        }
        let answers = flow
            .answers
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| sqlx::Error::Encode(e.into()))?;
        execute!(self.conn(), "UPDATE unfreeze_flows SET state = $2, updated_at = $3, expires_at = $4, code_hash = $5, code_expires_at = $6,
                    code_attempts_left = $7, codes_sent = $8, code_verified_at = $9, second_factor_attempts_left = $10,
                    second_factor_required = $11, second_factor_verified_at = $12, answers = $13, verified_at = $14,
                    queued_at = $15, decided_at = $16, decided_by = $17, decision_reason = $18, run_id = $19,
                    link_sent_at = $20, code_key_id = $21
             WHERE id = $1", &flow.id, flow.state.as_str(), flow.updated_at, flow.expires_at, &flow.code_hash, flow.code_expires_at, flow.code_attempts_left as i32, flow.codes_sent as i32, flow.code_verified_at, flow.second_factor_attempts_left as i32, flow.second_factor_required, flow.second_factor_verified_at, answers, flow.verified_at, flow.queued_at, flow.decided_at, &flow.decided_by, &flow.decision_reason, &flow.run_id, flow.link_sent_at, &flow.code_key_id)?;
        Ok(())
    }

    /// Keeps the flow's token sealed under the master key, so the same link
    /// can be sent again.
    pub async fn store_link_token(&mut self, flow_id: &FlowId, sealed: &[u8], key_id: &str) -> Result<(), sqlx::Error> {
        execute!(
            self.conn(),
            "UPDATE unfreeze_flows SET link_token_sealed = $2, link_token_key_id = $3 WHERE id = $1",
            flow_id,
            sealed,
            key_id
        )?;
        Ok(())
    }

    /// The flow's sealed token and the id of the key that sealed it.
    pub async fn link_token(&mut self, flow_id: &FlowId) -> Result<Option<(Vec<u8>, String)>, sqlx::Error> {
        let row: Option<(Option<Vec<u8>>, Option<String>)> = on_backend!(self.conn(), c => sqlx::query_as(
            "SELECT link_token_sealed, link_token_key_id FROM unfreeze_flows WHERE id = $1",
        )
        .bind(flow_id)
        .fetch_optional(c)
        .await)?;
        Ok(row.and_then(|(sealed, key_id)| sealed.zip(key_id)))
    }

    /// When one of the account's flows last locked, if ever.
    pub async fn last_locked_flow(&mut self, account_id: &AccountId) -> Result<Option<Timestamp>, sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query_scalar(
            "SELECT MAX(updated_at) FROM unfreeze_flows WHERE account_id = $1 AND state = 'locked'",
        )
        .bind(account_id)
        .fetch_one(c)
        .await)
    }

    /// Records a wrong one-time code (`code`) or 2-step code (`second_factor`).
    pub async fn record_flow_failure(&mut self, flow: &Flow, kind: &str, at: Timestamp) -> Result<(), sqlx::Error> {
        execute!(
            self.conn(),
            "INSERT INTO unfreeze_failures (account_id, flow_id, kind, at) VALUES ($1, $2, $3, $4)",
            &flow.account_id,
            &flow.id,
            kind,
            at
        )?;
        Ok(())
    }

    /// The account's wrong answers since `since`, across all its flows.
    pub async fn flow_failures_since(&mut self, account_id: &AccountId, since: Timestamp) -> Result<u32, sqlx::Error> {
        let count: i64 = on_backend!(self.conn(), c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM unfreeze_failures WHERE account_id = $1 AND at > $2",
        )
        .bind(account_id)
        .bind(since)
        .fetch_one(c)
        .await)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    pub async fn lock_flow_by_token(&mut self, token_hash: &[u8]) -> Result<Option<Flow>, sqlx::Error> {
        select_locked!(
            self,
            ["SELECT ", columns!(), " FROM unfreeze_flows WHERE token_hash = $1"],
            "FOR UPDATE",
            |query| query.bind(token_hash),
            fetch_optional
        )
    }

    pub async fn lock_live_flow(&mut self, account_id: &AccountId) -> Result<Option<Flow>, sqlx::Error> {
        select_locked!(
            self,
            [
                "SELECT ",
                columns!(),
                " FROM unfreeze_flows WHERE account_id = $1 AND ",
                live_flow!()
            ],
            "FOR UPDATE",
            |query| query.bind(account_id),
            fetch_optional
        )
    }

    /// The incident's flow waiting for an agent's decision.
    pub async fn lock_flow_in_review(&mut self, incident_id: &IncidentId) -> Result<Option<Flow>, sqlx::Error> {
        select_locked!(
            self,
            [
                "SELECT ",
                columns!(),
                " FROM unfreeze_flows WHERE incident_id = $1 AND state = 'in_review'"
            ],
            "FOR UPDATE",
            |query| query.bind(incident_id),
            fetch_optional
        )
    }

    /// Locks a flow by id (to read it again inside a transaction).
    pub async fn lock_flow(&mut self, id: &FlowId) -> Result<Option<Flow>, sqlx::Error> {
        select_locked!(
            self,
            ["SELECT ", columns!(), " FROM unfreeze_flows WHERE id = $1"],
            "FOR UPDATE",
            |query| query.bind(id),
            fetch_optional
        )
    }

    /// The flow a run is unfreezing.
    pub async fn lock_flow_of_run(&mut self, run_id: &RunId) -> Result<Option<Flow>, sqlx::Error> {
        select_locked!(
            self,
            ["SELECT ", columns!(), " FROM unfreeze_flows WHERE run_id = $1"],
            "FOR UPDATE",
            |query| query.bind(run_id),
            fetch_optional
        )
    }

    /// Live flows past their lifetime.
    pub async fn lock_overdue_flows(&mut self, now: Timestamp, limit: i64) -> Result<Vec<Flow>, sqlx::Error> {
        select_locked!(
            self,
            [
                "SELECT ",
                columns!(),
                " FROM unfreeze_flows WHERE ",
                live_flow!(),
                " AND expires_at <= $1 ORDER BY expires_at LIMIT $2"
            ],
            "FOR UPDATE SKIP LOCKED",
            |query| query.bind(now).bind(limit),
            fetch_all
        )
    }

    /// Whether the holder of the incident's account finished the unfreeze
    /// flow's verification (one-time code, second factor, activity answers).
    pub async fn holder_verified(&mut self, incident_id: &IncidentId) -> Result<bool, sqlx::Error> {
        let count: i64 = on_backend!(self.conn(), c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM unfreeze_flows
             WHERE incident_id = $1 AND verified_at IS NOT NULL
               AND state IN ('awaiting_activity_review', 'in_review', 'unfrozen')",
        )
        .bind(incident_id)
        .fetch_one(c)
        .await)?;
        Ok(count > 0)
    }
}

impl Database {
    pub async fn flow_by_token(&self, token_hash: &[u8]) -> Result<Option<Flow>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(concat!("SELECT ", columns!(), " FROM unfreeze_flows WHERE token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(pool)
            .await)
    }

    /// Flows waiting for an agent, oldest first.
    pub async fn flows_in_review(&self) -> Result<Vec<Flow>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(concat!(
            "SELECT ", columns!(), " FROM unfreeze_flows WHERE state = 'in_review' ORDER BY queued_at, id"
        ))
        .fetch_all(pool)
        .await)
    }

    pub async fn incident_flows(&self, incident_id: &IncidentId) -> Result<Vec<Flow>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(concat!(
            "SELECT ", columns!(), " FROM unfreeze_flows WHERE incident_id = $1 ORDER BY created_at"
        ))
        .bind(incident_id)
        .fetch_all(pool)
        .await)
    }

    /// The flow's place in the review queue (1 = next).
    pub async fn queue_position(&self, flow: &Flow) -> Result<u32, sqlx::Error> {
        let ahead: i64 = on_backend!(self.reader(), pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM unfreeze_flows
             WHERE state = 'in_review' AND (queued_at < $1 OR (queued_at = $1 AND id < $2))",
        )
        .bind(flow.queued_at)
        .bind(&flow.id)
        .fetch_one(pool)
        .await)?;
        Ok(u32::try_from(ahead).unwrap_or(u32::MAX - 1) + 1)
    }

    /// For the wait estimate: how long the last reviews took from queueing to
    /// decision, and how many were decided since `since`.
    pub async fn review_history(&self, since: Timestamp, last: i64) -> Result<(Vec<Duration>, u32), sqlx::Error> {
        let decided: Vec<(Timestamp, Timestamp)> = on_backend!(self.reader(), pool => sqlx::query_as(
            "SELECT queued_at, decided_at FROM unfreeze_flows
             WHERE queued_at IS NOT NULL AND decided_at IS NOT NULL AND decided_at >= queued_at
             ORDER BY decided_at DESC LIMIT $1",
        )
        .bind(last)
        .fetch_all(pool)
        .await)?;
        let in_window: i64 = on_backend!(self.reader(), pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM unfreeze_flows WHERE queued_at IS NOT NULL AND decided_at >= $1",
        )
        .bind(since)
        .fetch_one(pool)
        .await)?;
        let durations = decided
            .into_iter()
            .map(|(queued, decided)| decided.since(queued))
            .collect();
        Ok((durations, u32::try_from(in_window).unwrap_or(u32::MAX)))
    }

    /// When the first live flow expires, for the expiry task to sleep until then.
    pub async fn earliest_flow_expiry(&self) -> Result<Option<Timestamp>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_scalar(
            concat!("SELECT MIN(expires_at) FROM unfreeze_flows WHERE ", live_flow!()),
        )
        .fetch_one(pool)
        .await)
    }
}
