//! What outlives raw values when they expire: an alert's plain-language
//! summary, written before its body goes, and a campaign's masked signal,
//! kept once its raw value is past the limit.

use super::super::Database;
use crate::domain::alert::Alert;
use crate::domain::time::Timestamp;
use crate::storage::json;

impl Database {
    /// SQLite: writes the summaries missing from records of alerts about to
    /// be deleted (received before `before`).
    pub(super) async fn write_missing_summaries(&self, before: Timestamp) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        if let super::super::Backend::Sqlite(c) = tx.conn() {
            let missing: Vec<(String, String)> = sqlx::query_as(
                "SELECT a.alert_id, a.body FROM alerts a JOIN alert_records r ON r.alert_id = a.alert_id
                 WHERE r.summary IS NULL AND a.retained_from < $1",
            )
            .bind(before)
            .fetch_all(&mut *c)
            .await?;
            let (ids, summaries) = summaries_of(missing)?;
            for (id, summary) in ids.iter().zip(&summaries) {
                sqlx::query("UPDATE alert_records SET summary = $2 WHERE alert_id = $1")
                    .bind(id)
                    .bind(summary)
                    .execute(&mut *c)
                    .await?;
            }
        }
        tx.commit().await?.no_follow_up();
        Ok(())
    }

    /// Campaigns whose signal is past the limit keep only its masked form,
    /// unless one of their incidents is protected; heads of such signals go.
    pub(super) async fn mask_campaigns(
        &self,
        before: Timestamp,
        released_before: Timestamp,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        for sql in [
            concat!(
                "UPDATE campaigns SET value = NULL WHERE value IS NOT NULL AND updated_at < $1
                 AND id NOT IN (SELECT campaign_id FROM campaign_incidents WHERE incident_id IN (",
                protected_incidents!(),
                "))"
            ),
            "DELETE FROM campaign_heads WHERE touched_at < $1 AND $2 = $2",
        ] {
            super::super::on_backend!(tx.conn(), c => sqlx::query(sql)
                .bind(before)
                .bind(released_before)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        tx.commit().await?.no_follow_up();
        Ok(())
    }
}

/// The plain-language summaries of stored alert bodies.
pub(super) fn summaries_of(bodies: Vec<(String, String)>) -> Result<(Vec<String>, Vec<String>), sqlx::Error> {
    let mut ids = Vec::with_capacity(bodies.len());
    let mut summaries = Vec::with_capacity(bodies.len());
    for (id, body) in bodies {
        let alert: Alert = json("body", body)?;
        ids.push(id);
        summaries.push(alert.summary());
    }
    Ok((ids, summaries))
}
