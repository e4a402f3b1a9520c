//! The holder's unfreeze flows.

use super::{WriteTx, on_backend};

impl WriteTx {
    /// Whether the holder of the incident's account finished the unfreeze
    /// flow's verification (one-time code, second factor, activity answers).
    pub async fn holder_verified(&mut self, incident_id: &str) -> Result<bool, sqlx::Error> {
        let count: i64 = on_backend!(self.conn(), c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM unfreeze_flows
             WHERE incident_id = $1 AND verified_at IS NOT NULL AND state IN ('in_review', 'unfrozen')",
        )
        .bind(incident_id)
        .fetch_one(c)
        .await)?;
        Ok(count > 0)
    }
}
