//! The exchange's hot path, `GET /v1/accounts/{id}/holds` (SPEC §6): an account's holds in
//! force, answered without a read for an account the hold index knows to be free.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};

use crate::domain::hold::{AccountHolds, Hold};
use crate::domain::ids::AccountId;
use crate::domain::time::Timestamp;
use crate::edge::error::ApiError;
use crate::edge::http::{Routes, Signed, scope};
use crate::state::AppState;
use crate::state::hold_index::Lookup;

pub fn routes() -> Routes {
    Routes::new().get("/v1/accounts/{account_id}/holds", account_holds)
}

/// The exchange asks before every login and withdrawal whether the account may act.
///
/// The path's id is taken as given, as every id in a path is, not parsed: an
/// id no account could have has no holds, which is the answer it gets, and
/// the id moves into the answer without a copy.
#[tracing::instrument(skip_all, fields(account.id = %account_id))]
async fn account_holds(
    State(state): State<AppState>,
    Path(account_id): Path<AccountId>,
    _signed: Signed<scope::Holds>,
) -> Result<Json<AccountHolds>, ApiError> {
    let now = state.clock().now();
    let holds = holds_in_force(&state, &account_id, now).await?;
    Ok(Json(AccountHolds::at(account_id, &holds, now)))
}

/// The account's holds in force: none without a read for an account the
/// hold index knows has none, from the cache when it may have some, and
/// from the database while the change feed is lost (the cache may have
/// missed a change: freezes are never late).
pub async fn holds_in_force(state: &AppState, account_id: &AccountId, now: Timestamp) -> Result<Arc<[Hold]>, ApiError> {
    match state.hold_index().lookup(account_id) {
        Lookup::Free => Ok(Arc::new([])),
        Lookup::Cached => Ok(state.shared().holds(state.db(), account_id, now).await?),
        Lookup::Database => Ok(state.db().holds_in_force(account_id, now).await?.into()),
    }
}
