-- A sighting is recorded only for an alert stored in the same transaction,
-- and alert ids are unique, so an alert's sightings are never recorded twice:
-- the primary key only cost every sighting an insert into a randomly ordered
-- index. Look-ups go by value (`campaign_signals_by_value`), the sweep by age.
-- SQLite cannot drop a primary key: the table is rebuilt without it.
CREATE TABLE campaign_signals_unkeyed (
    kind         TEXT NOT NULL CHECK (kind IN ('ip', 'device', 'destination')),
    value        TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    incident_id  TEXT NOT NULL,
    alert_id     TEXT NOT NULL,
    seen_at      INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL
);
INSERT INTO campaign_signals_unkeyed (kind, value, account_id, incident_id, alert_id, seen_at, recorded_at)
    SELECT kind, value, account_id, incident_id, alert_id, seen_at, recorded_at FROM campaign_signals;
DROP TABLE campaign_signals;
ALTER TABLE campaign_signals_unkeyed RENAME TO campaign_signals;
CREATE INDEX campaign_signals_by_value ON campaign_signals (kind, value, seen_at);
CREATE INDEX campaign_signals_by_age ON campaign_signals (recorded_at);
