-- History at scale (SPEC §15). SQLite keeps plain tables and expires rows
-- by deleting them; only the alerts' bodiless records are new here, so an
-- incident keeps its plain-language alert summaries after the raw bodies go.
CREATE TABLE alert_records (
    alert_id     TEXT PRIMARY KEY,
    incident_id  TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    -- `Alert::summary`; NULL for alerts stored before this table, written
    -- from the body before that goes.
    summary      TEXT
);
CREATE INDEX alert_records_by_incident ON alert_records (incident_id, occurred_at);
INSERT INTO alert_records (alert_id, incident_id, occurred_at, received_at)
    SELECT alert_id, incident_id, occurred_at, received_at FROM alerts WHERE incident_id IS NOT NULL;
CREATE INDEX campaign_signals_by_incident ON campaign_signals (incident_id);
-- The column PostgreSQL partitions alerts by: when retention starts
-- counting (arrival, or the time a protected incident's alert was last
-- carried forward). SQLite's deletes go by it too.
ALTER TABLE alerts ADD COLUMN retained_from INTEGER NOT NULL DEFAULT 0;
UPDATE alerts SET retained_from = received_at;
CREATE INDEX alerts_by_age ON alerts (retained_from);
