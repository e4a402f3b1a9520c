//! Shared state kept in Redis: the connection, its key prefix and scripts,
//! and reading an account's holds through the cache with a compare-and-set
//! that never stores what a concurrent change made stale.

use std::sync::Arc;

use redis::Script;
use redis::aio::ConnectionManager;

use super::HOLDS_TTL_SECONDS;
use super::feed::CacheFeed;
use crate::domain::hold::Hold;
use crate::domain::ids::AccountId;
use crate::domain::time::Timestamp;
use crate::state::ratelimit::Refusal;
use crate::storage::Database;

pub struct RedisState {
    pub(super) connection: ConnectionManager,
    pub(super) prefix: String,
    pub(super) store_if_unchanged: Script,
    pub(super) take_token: Script,
    /// Whether the holds cached in Redis may be trusted.
    pub(super) feed: Arc<CacheFeed>,
}

/// An account's holds as cached in Redis, with the epoch they were loaded in.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct CachedHolds {
    pub(super) epoch: String,
    pub(super) holds: Vec<Hold>,
}

impl RedisState {
    pub(super) fn epoch_key(&self) -> String {
        format!("{}holds-epoch", self.prefix)
    }

    pub(super) async fn holds(
        &self,
        db: &Database,
        account_id: &AccountId,
        now: Timestamp,
    ) -> Result<Arc<[Hold]>, Refusal> {
        if !self.feed.is_current() {
            return Ok(db.holds_in_force(account_id, now).await?.into());
        }
        let key = format!("{}holds:{account_id}", self.prefix);
        let version_key = format!("{}holds:v:{account_id}", self.prefix);
        let epoch_key = self.epoch_key();
        let mut connection = self.connection.clone();
        // One round trip for all three: the cached holds, and the version
        // and epoch they must match (or a miss loads against).
        let cached: Result<(Option<String>, Option<String>, Option<String>), _> = redis::cmd("MGET")
            .arg(&key)
            .arg(&version_key)
            .arg(&epoch_key)
            .query_async(&mut connection)
            .await;
        let (version, epoch) = match cached {
            Ok((cached, version, epoch)) => {
                let epoch = epoch.unwrap_or_default();
                if let Some(cached) = cached.and_then(|json| serde_json::from_str::<CachedHolds>(&json).ok())
                    && cached.epoch == epoch
                {
                    return Ok(cached.holds.into());
                }
                (version.unwrap_or_default(), epoch)
            }
            Err(error) => {
                self.feed.lost(&error);
                return Ok(db.holds_in_force(account_id, now).await?.into());
            }
        };
        let holds = db.holds_in_force(account_id, now).await?;
        let cached = CachedHolds { epoch, holds };
        let json = serde_json::to_string(&cached).map_err(anyhow::Error::from)?;
        let stored: Result<i64, _> = self
            .store_if_unchanged
            .key(&key)
            .key(&version_key)
            .key(&epoch_key)
            .arg(version)
            .arg(&cached.epoch)
            .arg(json)
            .arg(HOLDS_TTL_SECONDS)
            .invoke_async(&mut connection)
            .await;
        if let Err(error) = stored {
            self.feed.lost(&error);
        }
        Ok(cached.holds.into())
    }
}
