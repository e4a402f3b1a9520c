//! The holder's cases (SPEC §13): case tokens (hashed, the token kept
//! sealed), what the holder was told and said, the message thread (texts
//! sealed), the rating. Lock links are in `lock_links`.

use super::{Database, WriteTx, execute, on_backend, parsed, select_locked};
use crate::domain::alert::Alert;
use crate::domain::case::{HolderAnswer, IssuedAs};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::priority::Priority;
use crate::domain::time::Timestamp;

/// What Holdfast keeps of one incident's case.
#[derive(Clone, Debug)]
pub struct HolderCaseRow {
    pub incident_id: IncidentId,
    pub account_id: AccountId,
    pub notices_sent: i32,
    pub notified_priority: Option<Priority>,
    pub opened_by_report: bool,
    pub holder_answer: Option<HolderAnswer>,
    pub holder_answered_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub team_notified_at: Option<Timestamp>,
    pub unanswered_since: Option<Timestamp>,
    pub satisfaction_score: Option<i32>,
    pub satisfied_at: Option<Timestamp>,
}

super::from_row!(HolderCaseRow, |row| Ok(HolderCaseRow {
    incident_id: row.try_get("incident_id")?,
    account_id: row.try_get("account_id")?,
    notices_sent: row.try_get("notices_sent")?,
    notified_priority: row
        .try_get::<Option<String>, _>("notified_priority")?
        .map(|text| parsed("notified_priority", text, Priority::parse))
        .transpose()?,
    opened_by_report: row.try_get("opened_by_report")?,
    holder_answer: row
        .try_get::<Option<String>, _>("holder_answer")?
        .map(|text| parsed("holder_answer", text, HolderAnswer::parse))
        .transpose()?,
    holder_answered_at: row.try_get("holder_answered_at")?,
    ended_at: row.try_get("ended_at")?,
    team_notified_at: row.try_get("team_notified_at")?,
    unanswered_since: row.try_get("unanswered_since")?,
    satisfaction_score: row.try_get("satisfaction_score")?,
    satisfied_at: row.try_get("satisfied_at")?,
}));

macro_rules! case_columns {
    () => {
        "incident_id, account_id, notices_sent, notified_priority, opened_by_report, holder_answer, holder_answered_at,
         ended_at, team_notified_at, unanswered_since, satisfaction_score, satisfied_at"
    };
}

/// A case token's record.
#[derive(Clone, Debug)]
pub struct CaseTokenRow {
    pub incident_id: IncidentId,
    pub issued_as: IssuedAs,
    pub issued_at: Timestamp,
}

super::from_row!(CaseTokenRow, |row| Ok(CaseTokenRow {
    incident_id: row.try_get("incident_id")?,
    issued_as: parsed("issued_as", row.try_get("issued_as")?, IssuedAs::parse)?,
    issued_at: row.try_get("issued_at")?,
}));

/// A message of a case's thread, its text still sealed.
#[derive(Clone, Debug)]
pub struct CaseMessageRow {
    pub id: String,
    pub from_holder: bool,
    pub agent: Option<String>,
    pub sealed: Vec<u8>,
    pub key_id: String,
    pub created_at: Timestamp,
}

super::from_row!(CaseMessageRow, |row| Ok(CaseMessageRow {
    id: row.try_get("id")?,
    from_holder: row.try_get::<String, _>("author")? == "holder",
    agent: row.try_get("agent")?,
    sealed: row.try_get("body")?,
    key_id: row.try_get("key_id")?,
    created_at: row.try_get("created_at")?,
}));

impl WriteTx {
    /// Locks the account's live incident, opening `candidate` when it has
    /// none (a concurrent opening wins, and is locked instead).
    pub async fn lock_or_open_live_incident(
        &mut self,
        candidate: &crate::domain::incident::Incident,
    ) -> Result<(crate::domain::incident::Incident, bool), sqlx::Error> {
        let accounts = [candidate.account_id.clone()];
        if let Some(live) = self.lock_live_incidents(&accounts).await?.into_iter().next() {
            return Ok((live, false));
        }
        let opened = !self.insert_incidents(std::slice::from_ref(candidate)).await?.is_empty();
        let live = self.lock_live_incidents(&accounts).await?.into_iter().next();
        live.map(|live| (live, opened)).ok_or(sqlx::Error::RowNotFound)
    }

    /// Locks the incident's case, making it first if the holder has not
    /// heard of the incident yet.
    pub async fn lock_holder_case(
        &mut self,
        incident_id: &IncidentId,
        account_id: &AccountId,
    ) -> Result<HolderCaseRow, sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query(
            "INSERT INTO holder_cases (incident_id, account_id) VALUES ($1, $2) ON CONFLICT (incident_id) DO NOTHING",
        )
        .bind(incident_id)
        .bind(account_id)
        .execute(c)
        .await
        .map(drop))?;
        select_locked!(
            self,
            ["SELECT ", case_columns!(), " FROM holder_cases WHERE incident_id = $1"],
            "FOR UPDATE",
            |q| q.bind(incident_id),
            fetch_one
        )
    }

    /// Records a risk notice sent for `priority`.
    pub async fn record_notice(&mut self, incident_id: &IncidentId, priority: Priority) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query(
            "UPDATE holder_cases SET notices_sent = notices_sent + 1,
                    notified_priority = CASE WHEN notified_priority IS NULL OR notified_priority > $2
                                             THEN $2 ELSE notified_priority END
             WHERE incident_id = $1",
        )
        .bind(incident_id)
        .bind(priority.as_str())
        .execute(c)
        .await
        .map(drop))
    }

    pub async fn mark_case_reported(&mut self, incident_id: &IncidentId) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query("UPDATE holder_cases SET opened_by_report = TRUE WHERE incident_id = $1")
            .bind(incident_id)
            .execute(c)
            .await
            .map(drop))
    }

    pub async fn record_holder_answer(
        &mut self,
        incident_id: &IncidentId,
        answer: HolderAnswer,
        at: Timestamp,
    ) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query(
            "UPDATE holder_cases SET holder_answer = $2, holder_answered_at = $3 WHERE incident_id = $1",
        )
        .bind(incident_id)
        .bind(answer.as_str())
        .bind(at)
        .execute(c)
        .await
        .map(drop))
    }

    /// Ends the case; `false` when it had already ended.
    pub async fn end_case(&mut self, incident_id: &IncidentId, at: Timestamp) -> Result<bool, sqlx::Error> {
        let done = execute!(
            self.conn(),
            "UPDATE holder_cases SET ended_at = $2 WHERE incident_id = $1 AND ended_at IS NULL",
            incident_id,
            at
        )?;
        Ok(done == 1)
    }

    /// Opens an ended case again (its incident is live once more).
    pub async fn reopen_case(&mut self, incident_id: &IncidentId) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query("UPDATE holder_cases SET ended_at = NULL WHERE incident_id = $1")
            .bind(incident_id)
            .execute(c)
            .await
            .map(drop))
    }

    pub async fn insert_case_token(
        &mut self,
        token_hash: &[u8],
        incident_id: &IncidentId,
        issued_as: IssuedAs,
        sealed: &[u8],
        key_id: &str,
        at: Timestamp,
    ) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query(
            "INSERT INTO case_tokens (token_hash, incident_id, issued_as, issued_at, sealed, key_id)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(incident_id)
        .bind(issued_as.as_str())
        .bind(at)
        .bind(sealed)
        .bind(key_id)
        .execute(c)
        .await
        .map(drop))
    }

    /// The sealed token of the incident's latest case link, if one was sent.
    pub async fn latest_case_token(
        &mut self,
        incident_id: &IncidentId,
    ) -> Result<Option<(Vec<u8>, String)>, sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query_as(
            "SELECT sealed, key_id FROM case_tokens WHERE incident_id = $1 ORDER BY issued_at DESC LIMIT 1",
        )
        .bind(incident_id)
        .fetch_optional(c)
        .await)
    }

    /// The incident's alerts, as this transaction sees them.
    pub async fn incident_alerts_in_tx(&mut self, incident_id: &IncidentId) -> Result<Vec<Alert>, sqlx::Error> {
        let bodies: Vec<String> = on_backend!(self.conn(), c => sqlx::query_scalar(
            "SELECT body FROM alerts WHERE incident_id = $1 ORDER BY occurred_at, alert_id",
        )
        .bind(incident_id)
        .fetch_all(c)
        .await)?;
        bodies.into_iter().map(|body| super::json("body", body)).collect()
    }

    pub async fn insert_case_message(
        &mut self,
        incident_id: &IncidentId,
        agent: Option<&str>,
        sealed: &[u8],
        key_id: &str,
        at: Timestamp,
    ) -> Result<String, sqlx::Error> {
        let id = crate::domain::ids::new_id();
        on_backend!(self.conn(), c => sqlx::query(
            // Retention counts from the message's arrival (`retained_from`).
            "INSERT INTO case_messages (id, incident_id, author, agent, body, key_id, created_at, retained_from)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&id)
        .bind(incident_id)
        .bind(if agent.is_some() { "team" } else { "holder" })
        .bind(agent)
        .bind(sealed)
        .bind(key_id)
        .bind(at)
        .execute(c)
        .await
        .map(drop))?;
        Ok(id)
    }

    pub async fn holder_messages_since(
        &mut self,
        incident_id: &IncidentId,
        since: Timestamp,
    ) -> Result<i64, sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM case_messages WHERE incident_id = $1 AND author = 'holder' AND created_at > $2",
        )
        .bind(incident_id)
        .bind(since)
        .fetch_one(c)
        .await)
    }

    /// Sets when the first unanswered holder message came (`None`: answered).
    pub async fn set_unanswered(
        &mut self,
        incident_id: &IncidentId,
        since: Option<Timestamp>,
    ) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query(
            "UPDATE holder_cases SET unanswered_since = $2 WHERE incident_id = $1",
        )
        .bind(incident_id)
        .bind(since)
        .execute(c)
        .await
        .map(drop))
    }

    pub async fn set_team_notified(&mut self, incident_id: &IncidentId, at: Timestamp) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query("UPDATE holder_cases SET team_notified_at = $2 WHERE incident_id = $1")
            .bind(incident_id)
            .bind(at)
            .execute(c)
            .await
            .map(drop))
    }

    pub async fn save_satisfaction(
        &mut self,
        incident_id: &IncidentId,
        score: i32,
        comment: Option<(&[u8], &str)>,
        at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let done = execute!(self.conn(), "UPDATE holder_cases SET satisfaction_score = $2, satisfaction_comment = $3, comment_key_id = $4, satisfied_at = $5
             WHERE incident_id = $1 AND satisfied_at IS NULL", incident_id, score, comment.map(|(sealed, _)| sealed), comment.map(|(_, key_id)| key_id), at)?;
        Ok(done == 1)
    }
}

impl Database {
    pub async fn case_token(&self, token_hash: &[u8]) -> Result<Option<CaseTokenRow>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            "SELECT incident_id, issued_as, issued_at FROM case_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await)
    }

    /// How each of the incident's case links was issued, oldest first.
    pub async fn case_tokens_of(&self, incident_id: &IncidentId) -> Result<Vec<CaseTokenRow>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            "SELECT incident_id, issued_as, issued_at FROM case_tokens WHERE incident_id = $1 ORDER BY issued_at",
        )
        .bind(incident_id)
        .fetch_all(pool)
        .await)
    }

    pub async fn holder_case(&self, incident_id: &IncidentId) -> Result<Option<HolderCaseRow>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            concat!("SELECT ", case_columns!(), " FROM holder_cases WHERE incident_id = $1"),
        )
        .bind(incident_id)
        .fetch_optional(pool)
        .await)
    }

    pub async fn case_messages(&self, incident_id: &IncidentId) -> Result<Vec<CaseMessageRow>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            "SELECT id, author, agent, body, key_id, created_at FROM case_messages
             WHERE incident_id = $1 ORDER BY created_at, id",
        )
        .bind(incident_id)
        .fetch_all(pool)
        .await)
    }

    /// The mean score and the number of answers given since `since`.
    pub async fn satisfaction_since(&self, since: Timestamp) -> Result<(Option<f64>, i64), sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            "SELECT AVG(CAST(satisfaction_score AS DOUBLE PRECISION)), COUNT(*) FROM holder_cases WHERE satisfied_at >= $1",
        )
        .bind(since)
        .fetch_one(pool)
        .await)
    }
}
