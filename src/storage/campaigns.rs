//! Campaigns: the sightings of attacker signals, the per-signal locks that
//! serialise recognition, each signal's latest campaign (its head row,
//! written only when a campaign forms), the campaigns and their incidents.
//!
//! Intake calls the `WriteTx` methods once per batch (PostgreSQL takes each
//! batch in one statement through `UNNEST`; SQLite, local and serialised by
//! its single writer, inserts many rows a statement and loops over reads).
//! Signal values are personal data: they are never logged, and
//! [`Database::forget_campaign_signals`] removes them once their retention
//! period has passed.
//!
//! The sightings and the per-signal locks are in `sightings`.

use super::{Backend, Database, SQLITE_ROWS_PER_INSERT, WriteTx, execute, from_row, on_backend, parsed};
use crate::domain::alert::AlertId;
use crate::domain::campaign::{Sighting, Signal, SignalKind};
use crate::domain::ids::{AccountId, CampaignId, IncidentId};
use crate::domain::incident::IncidentStatus;
use crate::domain::priority::Priority;
use crate::domain::time::Timestamp;

mod sightings;

/// A campaign as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignRecord {
    pub id: CampaignId,
    pub kind: SignalKind,
    /// The full value; `None` once its retention period has passed.
    pub value: Option<String>,
    pub value_masked: String,
    /// How many distinct accounts its incidents belong to.
    pub accounts: i64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub recognized_at: Timestamp,
}

from_row!(CampaignRecord, |row| Ok(CampaignRecord {
    id: row.try_get("id")?,
    kind: parsed("kind", row.try_get("kind")?, SignalKind::parse)?,
    value: row.try_get("value")?,
    value_masked: row.try_get("value_masked")?,
    accounts: row.try_get("accounts")?,
    first_seen: row.try_get("first_seen")?,
    last_seen: row.try_get("last_seen")?,
    recognized_at: row.try_get("recognized_at")?,
}));

/// An incident of a campaign, with its state now.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignMember {
    pub campaign_id: CampaignId,
    pub incident_id: IncidentId,
    pub account_id: AccountId,
    pub status: IncidentStatus,
    pub priority: Priority,
    pub joined_at: Timestamp,
}

from_row!(CampaignMember, |row| Ok(CampaignMember {
    campaign_id: row.try_get("campaign_id")?,
    incident_id: row.try_get("incident_id")?,
    account_id: row.try_get("account_id")?,
    status: parsed("status", row.try_get("status")?, IncidentStatus::parse)?,
    priority: parsed("priority", row.try_get("priority")?, Priority::parse)?,
    joined_at: row.try_get("joined_at")?,
}));

/// A signal (its kind is its campaign's) with its latest campaign.
struct LatestRow(Signal, CampaignRecord);

from_row!(LatestRow, |row| {
    let campaign = <CampaignRecord as sqlx::FromRow<_>>::from_row(row)?;
    Ok(LatestRow(
        Signal {
            kind: campaign.kind,
            value: row.try_get("signal_value")?,
        },
        campaign,
    ))
});

macro_rules! campaign_columns {
    () => {
        "id, kind, value, value_masked, accounts, first_seen, last_seen, recognized_at"
    };
    (prefix = "c.") => {
        "c.id, c.kind, c.value, c.value_masked, c.accounts, c.first_seen, c.last_seen, c.recognized_at"
    };
}

macro_rules! member_select {
    () => {
        "SELECT ci.campaign_id, ci.incident_id, ci.account_id, i.status, i.priority, ci.joined_at
         FROM campaign_incidents ci JOIN incidents i ON i.id = ci.incident_id"
    };
}

impl WriteTx {
    /// The latest campaign of each of `signals` that has had one, as
    /// committed (read under [`Self::lock_signals`], so no other batch
    /// changes it before this one commits).
    pub async fn latest_campaigns(&mut self, signals: &[Signal]) -> Result<Vec<(Signal, CampaignRecord)>, sqlx::Error> {
        let rows: Vec<LatestRow> = match self.conn() {
            Backend::Postgres(c) => {
                let kinds: Vec<&str> = signals.iter().map(|s| s.kind.as_str()).collect();
                let values: Vec<&str> = signals.iter().map(|s| s.value.as_str()).collect();
                sqlx::query_as(concat!(
                    "SELECT h.value AS signal_value, ",
                    campaign_columns!(prefix = "c."),
                    " FROM UNNEST($1::text[], $2::text[]) AS q(kind, value)
                     JOIN campaign_heads h ON h.kind = q.kind AND h.value = q.value
                     JOIN campaigns c ON c.id = h.campaign_id"
                ))
                .bind(kinds)
                .bind(values)
                .fetch_all(c)
                .await?
            }
            Backend::Sqlite(c) => {
                let pairs: Vec<(&str, &str)> = signals.iter().map(|s| (s.kind.as_str(), s.value.as_str())).collect();
                let pairs = serde_json::to_string(&pairs).map_err(|e| sqlx::Error::Encode(e.into()))?;
                sqlx::query_as(concat!(
                    "SELECT h.value AS signal_value, ",
                    campaign_columns!(prefix = "c."),
                    " FROM json_each($1) AS q
                     JOIN campaign_heads h ON h.kind = json_extract(q.value, '$[0]') AND h.value = json_extract(q.value, '$[1]')
                     JOIN campaigns c ON c.id = h.campaign_id"
                ))
                .bind(pairs)
                .fetch_all(&mut *c)
                .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|LatestRow(signal, campaign)| (signal, campaign))
            .collect())
    }

    /// Stores a new campaign and makes it its signal's latest.
    pub async fn insert_campaign(&mut self, campaign: &CampaignRecord) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query(
            "INSERT INTO campaigns (id, kind, value, value_masked, accounts, first_seen, last_seen, recognized_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&campaign.id)
        .bind(campaign.kind.as_str())
        .bind(&campaign.value)
        .bind(&campaign.value_masked)
        .bind(campaign.accounts)
        .bind(campaign.first_seen)
        .bind(campaign.last_seen)
        .bind(campaign.recognized_at)
        .execute(c)
        .await
        .map(drop))?;
        if let Some(value) = &campaign.value {
            on_backend!(self.conn(), c => sqlx::query(
                "INSERT INTO campaign_heads (kind, value, campaign_id, touched_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (kind, value) DO UPDATE SET campaign_id = excluded.campaign_id, touched_at = excluded.touched_at",
            )
                .bind(campaign.kind.as_str())
                .bind(value)
                .bind(&campaign.id)
                .bind(campaign.recognized_at)
                .execute(c)
                .await
                .map(drop))?;
        }
        Ok(())
    }

    /// Marks a campaign's signal as in use at `at`, so its head outlives the
    /// retention period as long as incidents keep joining the campaign.
    pub async fn touch_campaign_head(&mut self, campaign: &CampaignRecord, at: Timestamp) -> Result<(), sqlx::Error> {
        let Some(value) = &campaign.value else {
            return Ok(());
        };
        on_backend!(self.conn(), c => sqlx::query("UPDATE campaign_heads SET touched_at = $3 WHERE kind = $1 AND value = $2")
            .bind(campaign.kind.as_str())
            .bind(value)
            .bind(at)
            .execute(c)
            .await
            .map(drop))
    }

    /// Adds incidents to a campaign; returns those that were not in it yet.
    pub async fn add_campaign_incidents(
        &mut self,
        campaign_id: &CampaignId,
        members: &[(IncidentId, AccountId)],
        at: Timestamp,
    ) -> Result<Vec<IncidentId>, sqlx::Error> {
        let mut added = Vec::new();
        for (incident_id, account_id) in members {
            let inserted = execute!(
                self.conn(),
                "INSERT INTO campaign_incidents (campaign_id, incident_id, account_id, joined_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (campaign_id, incident_id) DO NOTHING",
                campaign_id,
                incident_id,
                account_id,
                at
            )?;
            if inserted == 1 {
                added.push(incident_id.clone());
            }
        }
        Ok(added)
    }

    /// Widens a campaign's span to include `first`..`last` and recounts its
    /// accounts, as of `at`; returns the count.
    pub async fn widen_campaign(
        &mut self,
        id: &CampaignId,
        first: Timestamp,
        last: Timestamp,
        at: Timestamp,
    ) -> Result<i64, sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query_scalar(
            "UPDATE campaigns SET
                 first_seen = CASE WHEN first_seen < $2 THEN first_seen ELSE $2 END,
                 last_seen = CASE WHEN last_seen > $3 THEN last_seen ELSE $3 END,
                 accounts = (SELECT COUNT(DISTINCT account_id) FROM campaign_incidents WHERE campaign_id = $1),
                 updated_at = $4
             WHERE id = $1 RETURNING accounts",
        )
        .bind(id)
        .bind(first)
        .bind(last)
        .bind(at)
        .fetch_one(c)
        .await)
    }

    /// The campaign's incidents (for bulk containment, inside its transaction).
    pub async fn campaign_members_in_tx(&mut self, id: &CampaignId) -> Result<Vec<CampaignMember>, sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query_as(concat!(member_select!(), " WHERE ci.campaign_id = $1 ORDER BY ci.account_id, ci.incident_id"))
            .bind(id)
            .fetch_all(c)
            .await)
    }
}

impl Database {
    /// Up to `limit` campaigns, the newest activity first.
    pub async fn campaigns(&self, limit: i64) -> Result<Vec<CampaignRecord>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            concat!("SELECT ", campaign_columns!(), " FROM campaigns ORDER BY last_seen DESC, id DESC LIMIT $1")
        )
        .bind(limit)
        .fetch_all(pool)
        .await)
    }

    pub async fn campaign(&self, id: &CampaignId) -> Result<Option<CampaignRecord>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(
            concat!("SELECT ", campaign_columns!(), " FROM campaigns WHERE id = $1")
        )
        .bind(id)
        .fetch_optional(pool)
        .await)
    }

    /// The incidents of the newest `limit` campaigns (those [`Self::campaigns`] lists).
    pub async fn newest_campaigns_members(&self, limit: i64) -> Result<Vec<CampaignMember>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(concat!(
            member_select!(),
            " JOIN (SELECT id FROM campaigns ORDER BY last_seen DESC, id DESC LIMIT $1) c ON c.id = ci.campaign_id
             ORDER BY ci.joined_at, ci.account_id"
        ))
        .bind(limit)
        .fetch_all(pool)
        .await)
    }

    pub async fn campaign_members(&self, id: &CampaignId) -> Result<Vec<CampaignMember>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(concat!(member_select!(), " WHERE ci.campaign_id = $1 ORDER BY ci.joined_at, ci.account_id"))
            .bind(id)
            .fetch_all(pool)
            .await)
    }

    /// The campaigns an incident belongs to, the first it joined first.
    pub async fn incident_campaigns(&self, incident_id: &IncidentId) -> Result<Vec<CampaignId>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_scalar(
            "SELECT campaign_id FROM campaign_incidents WHERE incident_id = $1 ORDER BY joined_at, campaign_id"
        )
        .bind(incident_id)
        .fetch_all(pool)
        .await)
    }

    /// For each of `incident_ids` in a campaign, its first campaign.
    pub async fn campaigns_of_incidents(
        &self,
        incident_ids: &[IncidentId],
    ) -> Result<Vec<(IncidentId, CampaignId)>, sqlx::Error> {
        if incident_ids.is_empty() {
            return Ok(Vec::new());
        }
        match self.reader() {
            Backend::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT incident_id, MIN(campaign_id) FROM campaign_incidents
                     WHERE incident_id = ANY($1) GROUP BY incident_id",
                )
                .bind(incident_ids)
                .fetch_all(pool)
                .await
            }
            Backend::Sqlite(pool) => {
                let ids = serde_json::to_string(incident_ids).map_err(|e| sqlx::Error::Encode(e.into()))?;
                sqlx::query_as(
                    "SELECT incident_id, MIN(campaign_id) FROM campaign_incidents
                     WHERE incident_id IN (SELECT value FROM json_each($1)) GROUP BY incident_id",
                )
                .bind(ids)
                .fetch_all(pool)
                .await
            }
        }
    }
}
