//! "How did we do?" (SPEC §13): once the case has ended, the holder rates it
//! once, 1 to 5, with an optional comment (sealed under the master key).

use super::error::CaseError;
use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::case::{COMMENT_MAX_CHARS, case_ended, check_text};
use crate::domain::incident::Incident;
use crate::state::AppState;

fn context(incident: &Incident) -> String {
    format!("holdfast:case-satisfaction:{}", incident.id)
}

#[tracing::instrument(skip_all, fields(incident.id = %incident.id))]
pub async fn answer(state: &AppState, incident: &Incident, score: u8, comment: Option<&str>) -> Result<(), CaseError> {
    let comment = comment.filter(|text| !text.is_empty());
    if let Some(text) = comment {
        check_text(text, COMMENT_MAX_CHARS)
            .map_err(|error| CaseError::Invalid("comment", error.message(COMMENT_MAX_CHARS)))?;
    }
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    let incident = tx.lock_incident(&incident.id).await?.ok_or(CaseError::Unknown)?;
    let case = tx.lock_holder_case(&incident.id, &incident.account_id).await?;
    if !case_ended(incident.status.is_closed(), case.ended_at) {
        return Err(CaseError::NotEnded);
    }
    if case.satisfied_at.is_some() {
        return Err(CaseError::AlreadyAnswered);
    }
    let sealed = comment
        .map(|text| state.secrets().seal(text.as_bytes(), &context(&incident)))
        .transpose()
        .map_err(anyhow::Error::from)?;
    let stored = sealed
        .as_ref()
        .map(|(sealed, key_id)| (sealed.as_slice(), key_id.as_str()));
    if !tx
        .save_satisfaction(&incident.id, i32::from(score), stored, now)
        .await?
    {
        return Err(CaseError::AlreadyAnswered);
    }
    tx.audit(
        AuditRecord::new(now, "holder", AuditAction::CaseSatisfaction)
            .incident(&incident.id, &incident.account_id)
            .detail(serde_json::json!({"score": score, "commented": comment.is_some()})),
    );
    state.commit(tx).await?;
    metrics::counter!("holdfast_case_satisfaction_answers_total").increment(1);
    Ok(())
}
