//! Telling the holder: every state change of a flow goes on the audit log and
//! out to the holder through the notification service, with the queue
//! position and estimated wait when the flow waits for an agent.

use std::time::Duration;

use serde_json::json;

use crate::domain::audit::AuditRecord;
use crate::domain::case::IssuedAs;
use crate::domain::time::Timestamp;
use crate::domain::unfreeze::{Flow, FlowState, estimate_wait};
use crate::notices::issue_token;
use crate::outbox::{Notification, queue_notification, queue_secret_notification};
use crate::state::AppState;
use crate::storage::WriteTx;

/// Recent decisions the wait estimate looks at.
const HISTORY: i64 = 20;
/// The window throughput is measured over.
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(6 * 3600);
/// The assumed time per review when there is no history.
const DEFAULT_REVIEW_TIME: Duration = Duration::from_secs(30 * 60);

/// Puts a state change on the audit log and tells the holder.
pub async fn record_change(
    state: &AppState,
    tx: &mut WriteTx,
    flow: &Flow,
    from: FlowState,
    now: Timestamp,
) -> anyhow::Result<()> {
    tx.audit(
        AuditRecord::new(now, "holder", flow.state.audit_action())
            .incident(&flow.incident_id, &flow.account_id)
            .detail(json!({"flow_id": flow.id, "from": from, "to": flow.state})),
    );
    let mut data = json!({"state": flow.state});
    match flow.state {
        FlowState::InReview => {
            let (position, wait) = queue_estimate(state, flow, now).await?;
            data["queue_position"] = json!(position);
            data["estimated_wait_seconds"] = json!(wait);
        }
        FlowState::Rejected => {
            data["reason"] = json!(flow.decision_reason);
            data["next_steps"] = json!(next_steps(flow.state));
        }
        FlowState::Locked | FlowState::Expired => data["next_steps"] = json!(next_steps(flow.state)),
        _ => {}
    }
    let template = match flow.state {
        FlowState::AwaitingCode => "unfreeze_started",
        FlowState::AwaitingSecondFactor => "unfreeze_code_accepted",
        FlowState::AwaitingActivityReview => "unfreeze_identity_verified",
        FlowState::InReview => "unfreeze_in_review",
        FlowState::Unfrozen => "unfreeze_unfrozen",
        FlowState::Rejected => "unfreeze_rejected",
        FlowState::Expired => "unfreeze_expired",
        FlowState::Locked => "unfreeze_locked",
    };
    let key = format!("{}:state:{}", flow.id, flow.state.as_str());
    if flow.state == FlowState::Unfrozen {
        // A holder who did not ask for this freezes the account again at
        // once (SPEC §8): the lift carries a case link and its not-me link,
        // so the notice is sealed like every message carrying a link.
        let links = state.links();
        let token = issue_token(tx, &links, &flow.incident_id, IssuedAs::UnfreezeUnfrozen, now).await?;
        data["case_url"] = json!(links.case_url(&token));
        data["not_me_url"] = json!(links.not_me_url(&token));
        let notification = Notification {
            idempotency_key: &key,
            account_id: &flow.account_id,
            incident_id: Some(&flow.incident_id),
            template,
            data,
        };
        queue_secret_notification(tx, state.secrets(), &notification, now).await?;
        return Ok(());
    }
    let notification = Notification {
        idempotency_key: &key,
        account_id: &flow.account_id,
        incident_id: Some(&flow.incident_id),
        template,
        data,
    };
    queue_notification(tx, &notification, now).await?;
    Ok(())
}

/// What the holder can do after a final state other than `unfrozen`.
pub fn next_steps(state: FlowState) -> Option<&'static str> {
    match state {
        FlowState::Rejected => Some(
            "Your account stays frozen to protect it. Contact the exchange's support through the official app or website; \
             never through links in messages you did not ask for.",
        ),
        FlowState::Locked => Some("Too many wrong codes were entered. Wait an hour, then ask for a new unfreeze link."),
        FlowState::Expired => Some("This request has expired. Ask for a new unfreeze link to start again."),
        _ => None,
    }
}

pub async fn queue_estimate(state: &AppState, flow: &Flow, now: Timestamp) -> anyhow::Result<(u32, u64)> {
    let position = state.db().queue_position(flow).await?;
    Ok((position, wait_at(state, position, now).await?))
}

/// The estimated wait, in seconds, of a holder at `position` in the review queue.
pub async fn wait_at(state: &AppState, position: u32, now: Timestamp) -> anyhow::Result<u64> {
    let (recent, decided) = state.db().review_history(now.minus(THROUGHPUT_WINDOW), HISTORY).await?;
    let wait = estimate_wait(position, &recent, decided, THROUGHPUT_WINDOW, DEFAULT_REVIEW_TIME);
    Ok(wait.as_secs())
}
