//! Reporting theft without signing in (SPEC §13): `POST /v1/holder/report`
//! and the page `/holder/report` always answer the same `202` at once; the
//! work happens on a background task, so neither body nor timing says
//! whether the account exists or is frozen. The registered contact gets a
//! lock link (template `lock_link`, `data.lock_url`), which lives 24 h; a
//! report while one is live sends the same link again. Lock links share the
//! unfreeze links' per-account budget; a report over it is dropped silently.

use serde_json::json;

use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::case::LOCK_LINK_LIFETIME;
use crate::domain::ids::AccountId;
use crate::outbox::messages::{Notification, queue_secret_notification};
use crate::platform::crypto::{self, token_hash};
use crate::state::AppState;
use crate::state::shared::Limit;

/// Takes a report: the work happens on a background task, unless the
/// client's address is over its limit (dropped; the same answer either way).
pub async fn accept_report(state: &AppState, account_id: &AccountId, client: &str) {
    if state.shared().check(Limit::UnfreezePerAddress, client).await.is_err() {
        metrics::counter!("holdfast_holder_reports_total", "outcome" => "dropped").increment(1);
        return;
    }
    let (state, account_id) = (state.clone(), account_id.clone());
    let trace =
        crate::platform::trace_context::current().unwrap_or_else(crate::platform::trace_context::TraceContext::start);
    tokio::spawn(async move {
        let sent = crate::platform::trace_context::scope(trace, send_lock_link(&state, &account_id));
        if let Err(error) = sent.await {
            tracing::error!(error = format!("{error:#}"), "sending a lock link failed");
        }
    });
}

/// An entry about an account with no incident (yet): chained by the account.
fn about(mut record: AuditRecord, account_id: &AccountId) -> AuditRecord {
    record.account_id = Some(account_id.clone());
    record
}

fn token_context(account_id: &AccountId) -> String {
    format!("holdfast:lock-link:{account_id}")
}

/// Where a lock link's page is.
pub fn lock_url(state: &AppState, token: &str) -> String {
    format!("{}/holder/lock/{token}", state.public_url())
}

/// Sends the account's live lock link again, or a new one.
#[tracing::instrument(skip_all, fields(account.id = %account_id))]
pub async fn send_lock_link(state: &AppState, account_id: &AccountId) -> anyhow::Result<()> {
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    tx.audit(about(
        AuditRecord::new(now, "holder", AuditAction::HolderReport),
        account_id,
    ));
    let budget = state
        .shared()
        .check(Limit::UnfreezePerAccount, account_id.as_str())
        .await
        .is_ok();
    if !budget {
        tx.audit(about(
            AuditRecord::new(now, "holder", AuditAction::HolderLockLinkWithheld)
                .detail(json!({"reason": "the account's link limit is reached"})),
            account_id,
        ));
        state.commit(tx).await?;
        metrics::counter!("holdfast_holder_reports_total", "outcome" => "withheld").increment(1);
        return Ok(());
    }
    let token = match tx.lock_live_lock_link(account_id, now).await? {
        Some(live) => String::from_utf8(
            state
                .secrets()
                .open(&live.sealed, &live.key_id, &token_context(account_id))?
                .to_vec(),
        )?,
        None => {
            let token = crypto::new_token()?;
            let (sealed, key_id) = state.secrets().seal(token.as_bytes(), &token_context(account_id))?;
            let expires_at = now.plus(LOCK_LINK_LIFETIME);
            tx.insert_lock_link(&token_hash(&token), account_id, &sealed, &key_id, now, expires_at)
                .await?;
            token
        }
    };
    let key = format!("lock_link:{account_id}:{}", now.micros());
    let notification = Notification {
        idempotency_key: &key,
        account_id,
        // About the account, before any incident.
        incident_id: None,
        template: "lock_link",
        data: json!({"lock_url": lock_url(state, &token)}),
    };
    queue_secret_notification(&mut tx, state.secrets(), &notification, now).await?;
    state.commit(tx).await?;
    metrics::counter!("holdfast_holder_reports_total", "outcome" => "sent").increment(1);
    Ok(())
}
