//! Learning from every case (SPEC §14): what was true about an incident goes
//! back to the risk engine when the incident ends, and what the account
//! holder said about its activity is kept for that.
//!
//! Two functions, called inside the transaction of the change:
//!
//! - [`queue_disposition`]: on resolve and on dismiss, one outbox message for
//!   `HOLDFAST_RISK_FEEDBACK_URL` (nothing when it is unset), under the key
//!   `disposition:<incident id>`, so it is sent exactly once and every retry
//!   carries the same key. The outbox signs it with the feedback key.
//! - [`record_holder_said`]: the one place what the holder said is recorded.
//!   The unfreeze flow calls it with the holder's answers; the holder's
//!   "this was not me" and the app's lock call it with
//!   [`HolderSaid::NotMine`]. The rule is [`HolderSaid::after`]: "not mine"
//!   wins and sticks, "mine" never replaces it.

use serde::Serialize;
use serde_json::json;

use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::disposition::{Disposition, HolderSaid, rules_fired};
use crate::domain::exchange::Destination;
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Incident;
use crate::domain::time::Timestamp;
use crate::platform::config::Config;
use crate::storage::{Queued, WriteTx};

/// The idempotency key of an incident's disposition: one per incident.
pub fn disposition_key(incident_id: &IncidentId) -> String {
    format!("disposition:{incident_id}")
}

/// Queues the disposition of `incident`, which this transaction has just
/// resolved or dismissed (and holds locked). Does nothing when no feedback
/// endpoint is configured or the incident has not ended. Returns whether a
/// message was queued.
pub async fn queue_disposition(
    config: &Config,
    tx: &mut WriteTx,
    incident: &Incident,
    at: Timestamp,
) -> Result<bool, sqlx::Error> {
    if config.risk_feedback.is_none() {
        return Ok(false);
    }
    let Some(disposition) = Disposition::of(incident) else {
        return Ok(false);
    };
    let alert_ids = tx.incident_alert_ids(&incident.id).await?;
    let holder_said = tx.holder_said(&incident.id).await?;
    let key = disposition_key(&incident.id);
    let body = disposition_body(&key, incident, disposition, &alert_ids, holder_said);
    let body = serde_json::to_string(&body).expect("a disposition serializes");
    let message = Queued {
        idempotency_key: &key,
        destination: Destination::RiskFeedback,
        body: &body,
        run_id: None,
        incident_id: Some(&incident.id),
    };
    tx.enqueue(&message, at).await
}

/// What was true about an incident, sent to the risk engine once when the incident is resolved or dismissed (SPEC §14). Signed like every request Holdfast sends (`X-Holdfast-Key-Id`, `X-Holdfast-Timestamp`, `X-Holdfast-Signature`), with `HOLDFAST_RISK_FEEDBACK_KEY`, never with the exchange's key. Retries carry the same `idempotency_key`.
// The fields are in name order, the order the body had when it was a JSON
// map, so a body queued before and after reads the same.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Disposition)]
pub struct DispositionBody<'a> {
    #[schema(value_type = String)]
    account_id: &'a AccountId,
    /// The incident's alerts, in the order they occurred.
    alert_ids: &'a [String],
    #[schema(inline)]
    disposition: Disposition,
    /// `not_mine` if the holder said so anywhere (not-me, a lock, an unfreeze answer `mine: false`); `mine` only after a verified unfreeze flow in which every activity was theirs; otherwise null.
    #[schema(inline, required)]
    holder_said: Option<HolderSaid>,
    /// `disposition:<incident_id>`: the same on every retry.
    idempotency_key: &'a str,
    #[schema(value_type = String)]
    incident_id: &'a IncidentId,
    /// When the incident was resolved or dismissed.
    #[schema(value_type = String, format = DateTime, required)]
    resolved_at: Option<Timestamp>,
    /// The priority rules that fired in the incident, each once.
    rules_fired: Vec<String>,
}

/// The body the risk engine receives (SPEC §14).
fn disposition_body<'a>(
    key: &'a str,
    incident: &'a Incident,
    disposition: Disposition,
    alert_ids: &'a [String],
    holder_said: Option<HolderSaid>,
) -> DispositionBody<'a> {
    DispositionBody {
        account_id: &incident.account_id,
        alert_ids,
        disposition,
        holder_said,
        idempotency_key: key,
        incident_id: &incident.id,
        resolved_at: incident.closed_at,
        rules_fired: rules_fired(incident),
    }
}

/// Records that the holder said `said` about the incident's activity, by the
/// rule of [`HolderSaid::after`], and puts it on the incident's timeline when
/// it changes what stands. The caller holds the incident locked in `tx`.
/// Returns what stands now.
///
/// Call it with [`HolderSaid::NotMine`] whenever the holder says the
/// activity was not theirs (a flow answer `mine: false`, "this was not me",
/// a lock); with [`HolderSaid::Mine`] only after a verified unfreeze flow in
/// which every activity was theirs ([`HolderSaid::of_flow`]). "This was me"
/// through a case link is unverified and never counts.
pub async fn record_holder_said(
    tx: &mut WriteTx,
    incident_id: &IncidentId,
    account_id: &AccountId,
    said: HolderSaid,
    at: Timestamp,
) -> Result<HolderSaid, sqlx::Error> {
    let before = tx.holder_said(incident_id).await?;
    let now_stands = HolderSaid::after(before, said);
    if before != Some(now_stands) {
        tx.set_holder_said(incident_id, now_stands).await?;
        tx.audit(
            AuditRecord::new(at, "holder", AuditAction::IncidentHolderSaid)
                .incident(incident_id, account_id)
                .detail(json!({"holder_said": now_stands, "before": before})),
        );
    }
    Ok(now_stands)
}
