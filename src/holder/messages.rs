//! The thread between the holder and the security team (SPEC §13): one per
//! case. Texts are sealed under the master key (AES-256-GCM, the key's id
//! stored beside them) and never logged; the audit log records who wrote
//! and when. A team reply tells the holder with `case_message`, carrying
//! only the case link, at most once per case per five minutes.

use serde_json::json;

use super::error::CaseError;
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::case::{HOLDER_MESSAGES_PER_HOUR, MESSAGE_MAX_CHARS, TEAM_NOTICE_GAP, case_ended, check_text};
use crate::domain::ids::IncidentId;
use crate::domain::incident::Incident;
use crate::domain::time::Timestamp;
use crate::notices;
use crate::state::AppState;

/// A message, opened.
#[derive(Clone, Debug)]
pub struct Message {
    pub from_holder: bool,
    /// The agent who wrote a team message (agents see it; the holder never does).
    pub agent: Option<String>,
    pub body: String,
    pub at: Timestamp,
}

fn context(incident_id: &IncidentId) -> String {
    format!("holdfast:case-message:{incident_id}")
}

/// The case's thread, oldest first.
pub async fn thread(state: &AppState, incident_id: &IncidentId) -> anyhow::Result<Vec<Message>> {
    let rows = state.db().case_messages(incident_id).await?;
    rows.into_iter()
        .map(|row| {
            let plain = state.secrets().open(&row.sealed, &row.key_id, &context(incident_id))?;
            Ok(Message {
                from_holder: row.from_holder,
                agent: row.agent,
                body: String::from_utf8_lossy(&plain).into_owned(),
                at: row.created_at,
            })
        })
        .collect()
}

fn check_body(body: &str) -> Result<(), CaseError> {
    check_text(body, MESSAGE_MAX_CHARS).map_err(|error| CaseError::Invalid("body", error.message(MESSAGE_MAX_CHARS)))
}

/// The holder writes to the team.
#[tracing::instrument(skip_all, fields(incident.id = %incident.id))]
pub async fn holder_writes(state: &AppState, incident: &Incident, body: &str) -> Result<(), CaseError> {
    check_body(body)?;
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let incident = tx.lock_incident(&incident.id).await?.ok_or(CaseError::Unknown)?;
    let case = tx.lock_holder_case(&incident.id, &incident.account_id).await?;
    if case_ended(incident.status.is_closed(), case.ended_at) {
        return Err(CaseError::Ended);
    }
    let recent = tx
        .holder_messages_since(&incident.id, now.minus(std::time::Duration::from_secs(3600)))
        .await?;
    if recent >= HOLDER_MESSAGES_PER_HOUR as i64 {
        return Err(CaseError::TooMany);
    }
    let (sealed, key_id) = state
        .secrets()
        .seal(body.as_bytes(), &context(&incident.id))
        .map_err(anyhow::Error::from)?;
    tx.insert_case_message(&incident.id, None, &sealed, &key_id, now)
        .await?;
    if case.unanswered_since.is_none() {
        tx.set_unanswered(&incident.id, Some(now)).await?;
    }
    tx.audit(AuditRecord::new(now, "holder", AuditAction::CaseMessage).incident(&incident.id, &incident.account_id));
    state.commit(tx).await?;
    metrics::counter!("holdfast_case_messages_total", "from" => "holder").increment(1);
    Ok(())
}

/// An agent answers the holder.
#[tracing::instrument(skip_all, fields(incident.id = %incident_id))]
pub async fn team_writes(state: &AppState, incident_id: &IncidentId, agent: &str, body: &str) -> Result<(), CaseError> {
    check_body(body)?;
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let incident = tx.lock_incident(incident_id).await?.ok_or(CaseError::Unknown)?;
    let case = tx.lock_holder_case(&incident.id, &incident.account_id).await?;
    if case_ended(incident.status.is_closed(), case.ended_at) {
        return Err(CaseError::Ended);
    }
    let (sealed, key_id) = state
        .secrets()
        .seal(body.as_bytes(), &context(&incident.id))
        .map_err(anyhow::Error::from)?;
    tx.insert_case_message(&incident.id, Some(agent), &sealed, &key_id, now)
        .await?;
    tx.set_unanswered(&incident.id, None).await?;
    let actor = format!("agent:{agent}");
    tx.audit(AuditRecord::new(now, actor, AuditAction::CaseMessage).incident(&incident.id, &incident.account_id));
    let quiet = case
        .team_notified_at
        .is_none_or(|last| now.since(last) >= TEAM_NOTICE_GAP);
    let links = state.links();
    if quiet && let Some(token) = notices::latest_token(&mut tx, &links, &incident.id).await? {
        let key = format!("case_message:{}:{}", incident.id, now.micros());
        let data = json!({"case_url": links.case_url(&token)});
        notices::send(&mut tx, &links, &incident, "case_message", &key, data, now).await?;
        tx.set_team_notified(&incident.id, now).await?;
    }
    state.commit(tx).await?;
    metrics::counter!("holdfast_case_messages_total", "from" => "team").increment(1);
    Ok(())
}
