//! Telling the holder (SPEC §13), inside the transaction of the change that
//! calls for it: a `risk_notice` for every change that adds a freeze to an
//! account or first brings its incident to P2 or P1, and a `case_closed`
//! when the case ends. `AppState::commit` calls [`tell_holders`] (registered
//! at start as [`TellHolders`]) last before every commit, so no path that
//! freezes or raises (intake, containment, a playbook, a campaign's
//! contain-all, the holder's own "not me") can forget.
//!
//! Case links are bearer links: the token is random (256 bits), identified by
//! its SHA-256, kept sealed under the master key so a later notice can send
//! the same link, and every notice carrying one is sealed in the outbox.
//!
//! This module uses no application state (it is called from it), and sits
//! below both features that send case links: the holder's line and the
//! unfreeze flow.

use serde_json::json;

use crate::domain::audit::AuditAction;
use crate::domain::audit::AuditRecord;
use crate::domain::case::{IssuedAs, WhatHappened, WhatWeDid, notice_due};
use crate::domain::ids::IncidentId;
use crate::domain::incident::Incident;
use crate::domain::time::Timestamp;
use crate::outbox::messages::{Notification, queue_secret_notification};
use crate::platform::crypto::{self, CryptoError, token_hash};
use crate::state::handles::BeforeCommit;
use crate::state::handles::before_commit::Pending;
use crate::storage::WriteTx;

pub use crate::state::handles::Links;

/// The holder's part of every commit, registered at start as the state's
/// [`BeforeCommit`]: [`tell_holders`].
pub struct TellHolders;

impl BeforeCommit for TellHolders {
    fn before_commit<'a>(&'a self, tx: &'a mut WriteTx, links: &'a Links<'a>, now: Timestamp) -> Pending<'a> {
        Box::pin(tell_holders(tx, links, now))
    }
}

fn crypto_failed(error: CryptoError) -> sqlx::Error {
    sqlx::Error::Encode(Box::new(error))
}

fn anyhow_failed(error: anyhow::Error) -> sqlx::Error {
    sqlx::Error::Encode(error.into())
}

fn token_context(incident_id: &IncidentId) -> String {
    format!("holdfast:case-token:{incident_id}")
}

/// Issues a new case token for the incident and returns it.
pub async fn issue_token(
    tx: &mut WriteTx,
    links: &Links<'_>,
    incident_id: &IncidentId,
    issued_as: IssuedAs,
    at: Timestamp,
) -> Result<String, sqlx::Error> {
    let token = crypto::new_token().map_err(crypto_failed)?;
    let (sealed, key_id) = links
        .secrets
        .seal(token.as_bytes(), &token_context(incident_id))
        .map_err(crypto_failed)?;
    tx.insert_case_token(&token_hash(&token), incident_id, issued_as, &sealed, &key_id, at)
        .await?;
    Ok(token)
}

/// The incident's latest case token, if the holder was ever sent one.
pub async fn latest_token(
    tx: &mut WriteTx,
    links: &Links<'_>,
    incident_id: &IncidentId,
) -> Result<Option<String>, sqlx::Error> {
    let Some((sealed, key_id)) = tx.latest_case_token(incident_id).await? else {
        return Ok(None);
    };
    let plain = links
        .secrets
        .open(&sealed, &key_id, &token_context(incident_id))
        .map_err(crypto_failed)?;
    Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
}

/// Queues a notification carrying a case link (sealed: the link is a bearer link).
pub async fn send(
    tx: &mut WriteTx,
    links: &Links<'_>,
    incident: &Incident,
    template: &str,
    idempotency_key: &str,
    data: serde_json::Value,
    at: Timestamp,
) -> Result<(), sqlx::Error> {
    let notification = Notification {
        idempotency_key,
        account_id: &incident.account_id,
        incident_id: Some(&incident.id),
        template,
        data,
    };
    queue_secret_notification(tx, links.secrets, &notification, at)
        .await
        .map_err(anyhow_failed)?;
    metrics::counter!("holdfast_holder_notices_total", "template" => template.to_owned()).increment(1);
    tx.audit(
        AuditRecord::new(at, "system", AuditAction::HolderNotified)
            .incident(&incident.id, &incident.account_id)
            .detail(json!({"template": template, "idempotency_key": idempotency_key})),
    );
    Ok(())
}

/// Sends the risk notices and case ends the change calls for.
pub async fn tell_holders(tx: &mut WriteTx, links: &Links<'_>, now: Timestamp) -> Result<(), sqlx::Error> {
    let news = tx.take_holder_news();
    if news.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<IncidentId> = news
        .incidents
        .iter()
        .filter(|noted| noted.closed || noted.priority <= crate::domain::priority::Priority::P2)
        .map(|noted| noted.id.clone())
        .chain(news.freezes_added.iter().cloned())
        .chain(news.flows_decided.iter().cloned())
        .collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        let Some(incident) = tx.lock_incident(&id).await? else {
            continue;
        };
        let case = tx.lock_holder_case(&incident.id, &incident.account_id).await?;
        let ended = incident.status.is_closed() || news.flows_decided.contains(&id);
        if ended {
            if case.ended_at.is_none()
                && tx.end_case(&incident.id, now).await?
                && let Some(token) = latest_token(tx, links, &incident.id).await?
            {
                let key = format!("case_closed:{}", incident.id);
                let data = json!({"case_url": links.case_url(&token)});
                send(tx, links, &incident, "case_closed", &key, data, now).await?;
            }
            continue;
        }
        let freeze_added = news.freezes_added.contains(&id);
        if !notice_due(freeze_added, incident.priority, case.notified_priority) {
            continue;
        }
        let n = case.notices_sent + 1;
        let token = issue_token(tx, links, &incident.id, IssuedAs::RiskNotice, now).await?;
        let what_happened: Vec<WhatHappened> = tx
            .incident_alerts_in_tx(&incident.id)
            .await?
            .iter()
            .map(WhatHappened::of)
            .collect();
        let what_we_did: Vec<WhatWeDid> = tx
            .incident_holds_in_tx(&incident.id)
            .await?
            .into_iter()
            .filter(|hold| hold.in_force(now))
            .map(|hold| WhatWeDid {
                scope: hold.scope.as_str(),
                placed_at: hold.placed_at,
                expires_at: hold.expires_at,
            })
            .collect();
        let data = json!({
            "case_url": links.case_url(&token),
            "not_me_url": links.not_me_url(&token),
            "what_happened": what_happened,
            "what_we_did": what_we_did,
        });
        let key = format!("risk_notice:{}:{n}", incident.id);
        send(tx, links, &incident, "risk_notice", &key, data, now).await?;
        tx.record_notice(&incident.id, incident.priority).await?;
    }
    Ok(())
}
