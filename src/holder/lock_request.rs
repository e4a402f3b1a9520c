//! The exchange app's lock (SPEC §13): `POST /v1/accounts/{id}/lock`,
//! signed with a key of scope `holder`. The account is frozen before the
//! answer; a repeated `request_id` gets the first answer, kept sealed (it
//! holds a case link).

use serde::{Deserialize, Serialize};

use super::case::CaseError;
use super::protect;
use crate::domain::case::IssuedAs;
use crate::domain::ids::AccountId;
use crate::state::AppState;
use crate::storage::is_unique_violation;

fn context(request_id: &str) -> String {
    format!("holdfast:lock-request:{request_id}")
}

/// The answer to a lock: also what is kept, sealed, for a repeat of the request.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct Locked {
    pub account_id: String,
    pub incident_id: String,
    pub case_url: String,
}

/// Locks the account for request `request_id`, or answers the request's first answer.
pub async fn lock(state: &AppState, account_id: &AccountId, request_id: &str) -> Result<Locked, CaseError> {
    if let Some(first) = first_answer(state, request_id).await? {
        return Ok(first);
    }
    let (incident, token) = protect::lock(state, account_id, IssuedAs::AppLock).await?;
    let answer = Locked {
        account_id: account_id.to_string(),
        incident_id: incident.id.to_string(),
        case_url: state.links().case_url(&token),
    };
    let now = state.clock().now();
    let (sealed, key_id) = state
        .secrets()
        .seal(
            &serde_json::to_vec(&answer).map_err(anyhow::Error::from)?,
            &context(request_id),
        )
        .map_err(anyhow::Error::from)?;
    let mut tx = state.db().begin().await?;
    match tx
        .insert_lock_request(request_id, account_id, &sealed, &key_id, now)
        .await
    {
        // The same request, retried at once, answered first.
        Err(error) if is_unique_violation(&error) => {
            drop(tx);
            return first_answer(state, request_id).await?.ok_or(CaseError::Unknown);
        }
        other => other?,
    }
    state.commit(tx).await?;
    Ok(answer)
}

async fn first_answer(state: &AppState, request_id: &str) -> Result<Option<Locked>, CaseError> {
    let mut tx = state.db().begin().await?;
    let Some((_, sealed, key_id)) = tx.lock_request(request_id).await? else {
        return Ok(None);
    };
    drop(tx);
    let plain = state
        .secrets()
        .open(&sealed, &key_id, &context(request_id))
        .map_err(anyhow::Error::from)?;
    Ok(Some(serde_json::from_slice(&plain).map_err(anyhow::Error::from)?))
}
