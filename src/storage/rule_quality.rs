//! Rule quality's counts (SPEC §14): over the incidents opened since a time
//! (a range on `incidents_outcomes_by_opened`, migration 0021), drills left
//! out, each counted once per rule that fired in it and once per alert kind
//! it holds, by how it ended.

use super::{Backend, Database, not_drill};
use crate::domain::rule_quality::Outcomes;
use crate::domain::time::Timestamp;

/// The outcome columns over `(id, name, status, resolution)` rows, each row
/// one incident and one name.
macro_rules! outcome_counts {
    () => {
        "SELECT name, COUNT(*),
                SUM(CASE WHEN status = 'resolved' AND resolution = 'confirmed_takeover' THEN 1 ELSE 0 END),
                SUM(CASE WHEN status = 'resolved' AND resolution = 'false_positive' THEN 1 ELSE 0 END),
                SUM(CASE WHEN status = 'resolved' AND resolution = 'user_error' THEN 1 ELSE 0 END),
                SUM(CASE WHEN status = 'dismissed' THEN 1 ELSE 0 END)
         FROM "
    };
}

type Row = (String, i64, i64, i64, i64, i64);

fn outcomes(rows: Vec<Row>) -> Vec<(String, Outcomes)> {
    rows.into_iter()
        .map(
            |(name, fired, confirmed_takeover, false_positive, user_error, dismissed)| {
                (
                    name,
                    Outcomes {
                        fired,
                        confirmed_takeover,
                        false_positive,
                        user_error,
                        dismissed,
                    },
                )
            },
        )
        .collect()
}

impl Database {
    /// Per priority rule, by name: the incidents opened since `since` it
    /// fired in, and how they ended.
    pub async fn rule_outcomes(&self, since: Timestamp) -> Result<Vec<(String, Outcomes)>, sqlx::Error> {
        let rows: Vec<Row> = match self.reader() {
            Backend::Postgres(pool) => {
                sqlx::query_as(concat!(
                    outcome_counts!(),
                    "(SELECT DISTINCT i.id, r.reason ->> 'rule' AS name, i.status, i.resolution
                      FROM incidents i CROSS JOIN LATERAL jsonb_array_elements(i.priority_reasons::jsonb) AS r(reason)
                      WHERE i.opened_at >= $1 AND i.",
                    not_drill!(),
                    ") AS fired
                     GROUP BY name ORDER BY name"
                ))
                .bind(since)
                .fetch_all(pool)
                .await?
            }
            Backend::Sqlite(pool) => {
                sqlx::query_as(concat!(
                    outcome_counts!(),
                    "(SELECT DISTINCT i.id, json_extract(r.value, '$.rule') AS name, i.status, i.resolution
                      FROM incidents i, json_each(i.priority_reasons) AS r
                      WHERE i.opened_at >= $1 AND i.",
                    not_drill!(),
                    ") AS fired
                     GROUP BY name ORDER BY name"
                ))
                .bind(since)
                .fetch_all(pool)
                .await?
            }
        };
        Ok(outcomes(rows))
    }

    /// Per alert kind: the incidents opened since `since` that hold an alert
    /// of that kind, and how they ended.
    pub async fn kind_outcomes(&self, since: Timestamp) -> Result<Vec<(String, Outcomes)>, sqlx::Error> {
        let rows: Vec<Row> = super::on_backend!(self.reader(), pool => sqlx::query_as(concat!(
            outcome_counts!(),
            "(SELECT DISTINCT i.id, a.kind AS name, i.status, i.resolution
              FROM incidents i JOIN alerts a ON a.incident_id = i.id
              WHERE i.opened_at >= $1 AND i.", not_drill!(), ") AS fired
             GROUP BY name ORDER BY name"
        ))
        .bind(since)
        .fetch_all(pool)
        .await)?;
        Ok(outcomes(rows))
    }
}
