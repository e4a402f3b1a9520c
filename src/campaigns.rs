//! Campaigns (SPEC §12): recognising, inside each intake batch, incidents
//! of different accounts that share an attacker signal; listing them; and
//! containing every incident of one at once. The rules (signals, windows,
//! the priority floor) are `domain::campaign`; the SQL `storage::campaigns`.
//!
//! Recognition is exactly once under concurrency: a batch first locks each
//! of its signals (an advisory lock on PostgreSQL, held until the batch
//! commits; SQLite's single writer already runs one batch at a time).
//! Whoever holds a signal's lock sees every sighting committed before it
//! and the signal's latest campaign, so the alerts that complete a campaign
//! on several instances at once make one campaign, the later ones joining
//! it. The lock writes nothing: most signals (a fresh address per sign-in)
//! never form a campaign, and cost only their sighting row.
//!
//! Privacy: signal values (IP addresses among them) are never logged and
//! never enter the audit log. They are kept for the window and
//! [`RETENTION`] after it, then swept ([`forget_expired`], run by the application's periodic sweep); a
//! campaign keeps only its masked value after that.
//!
//! `recognize` is intake's part; this file lists campaigns, contains one,
//! and forgets signal values; `api` serves them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::json;

use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::audit::AuditRecord;
use crate::domain::ids::{CampaignId, IncidentId, RunId};
use crate::domain::incident::IncidentStatus;
use crate::domain::playbook::PlaybookKind;
use crate::edge::error::ApiError;
use crate::runs::agent_actions;
use crate::state::AppState;
use crate::storage::{CampaignMember, CampaignRecord};

pub mod api;
pub mod recognize;

pub use recognize::{Raised, recognize};

/// How long signal values are kept after the window they can matter in:
/// long enough for the security team to work a wave of takeovers and
/// compare it with the next, short enough not to keep a profile of
/// anyone's addresses. Afterwards sightings are deleted and campaigns keep
/// only the masked value.
pub const RETENTION: Duration = Duration::from_secs(7 * 86_400);
/// The most campaigns a list shows.
pub const LIST_LIMIT: i64 = 200;

/// A campaign with its incidents, as the API and the console show it.
#[derive(Clone, Debug)]
pub struct CampaignView {
    pub campaign: CampaignRecord,
    pub incidents: Vec<CampaignMember>,
}

impl CampaignView {
    /// The value to show: in full while it is kept, masked afterwards.
    pub fn shown_value(&self) -> &str {
        self.campaign.value.as_deref().unwrap_or(&self.campaign.value_masked)
    }
}

/// The newest campaigns, most recent activity first.
pub async fn list(state: &AppState, agent: &CurrentAgent) -> Result<Vec<CampaignView>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let db = state.db();
    let (campaigns, members) = tokio::try_join!(db.campaigns(LIST_LIMIT), db.newest_campaigns_members(LIST_LIMIT))?;
    let mut by_campaign: BTreeMap<CampaignId, Vec<CampaignMember>> = BTreeMap::new();
    for member in members {
        by_campaign.entry(member.campaign_id.clone()).or_default().push(member);
    }
    Ok(campaigns
        .into_iter()
        .map(|campaign| CampaignView {
            incidents: by_campaign.remove(&campaign.id).unwrap_or_default(),
            campaign,
        })
        .collect())
}

/// One campaign (404 when there is none).
pub async fn show(state: &AppState, agent: &CurrentAgent, id: &CampaignId) -> Result<CampaignView, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let db = state.db();
    let (campaign, incidents) = tokio::try_join!(db.campaign(id), db.campaign_members(id))?;
    let campaign = campaign.ok_or_else(|| ApiError::not_found("the campaign"))?;
    Ok(CampaignView { campaign, incidents })
}

/// What containing a campaign did: a run per incident not yet contained,
/// and the incidents skipped with their status.
#[derive(Clone, Debug, Default)]
pub struct Containment {
    pub runs: Vec<(IncidentId, RunId)>,
    pub skipped: Vec<(IncidentId, IncidentStatus)>,
}

/// Starts the containment playbook `playbook_id` on every incident of the
/// campaign that is not contained yet, each through
/// `runs::agent_actions::start` (the rules of starting one run: role,
/// step-up, audit), after one step-up for all.
#[tracing::instrument(skip_all, fields(campaign.id = %id, agent = %agent.username))]
pub async fn contain(
    state: &AppState,
    agent: &mut CurrentAgent,
    id: &CampaignId,
    playbook_id: &str,
    otp: Option<&str>,
) -> Result<Containment, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let found = show(state, agent, id).await?;
    let (_, playbook) = agent_actions::runnable_playbook(state, playbook_id)?;
    if playbook.kind != PlaybookKind::Containment {
        return Err(ApiError::invalid("playbook_id", "must be a containment playbook"));
    }
    agent.require(playbook.kind.permission())?;
    // One code steps up once; every start below uses that elevation.
    agent.require_fresh_mfa(state, otp).await?;
    let mut done = Containment::default();
    let mut seen = BTreeSet::new();
    for member in found.incidents {
        if !seen.insert(member.incident_id.clone()) {
            continue;
        }
        if !matches!(member.status, IncidentStatus::Open | IncidentStatus::Acknowledged) {
            done.skipped.push((member.incident_id, member.status));
            continue;
        }
        match agent_actions::start(state, agent, &member.incident_id, playbook_id, None).await {
            Ok(run) => done.runs.push((member.incident_id, run.id)),
            Err(ApiError::Conflict(_)) => {
                // Contained, closed or already being contained meanwhile.
                let status = state
                    .db()
                    .incident(&member.incident_id)
                    .await?
                    .map_or(member.status, |i| i.status);
                done.skipped.push((member.incident_id, status));
            }
            Err(error) => return Err(error),
        }
    }
    let now = state.clock().now();
    let mut tx = state.db().begin().await?;
    tx.audit(AuditRecord::new(now, agent.actor(), "campaign.contained").detail(json!({
        "campaign_id": id,
        "playbook_id": playbook_id,
        "runs": done.runs.iter().map(|(incident, run)| json!({"incident_id": incident, "run_id": run})).collect::<Vec<_>>(),
        "skipped": done.skipped.len(),
    })));
    state.commit(tx).await?;
    Ok(done)
}

/// Forgets the signal values whose window and retention period are over
/// (the application's periodic sweep calls it).
pub async fn forget_expired(state: &AppState) -> Result<u64, sqlx::Error> {
    let keep = state.config().priority_rules.campaigns().longest_window() + RETENTION;
    state
        .db()
        .forget_campaign_signals(state.clock().now().minus(keep))
        .await
}
