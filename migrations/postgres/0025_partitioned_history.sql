-- History at scale (SPEC §15): the tables that grow with traffic become
-- range-partitioned by month, so retention drops a whole month at once
-- instead of deleting row by row. The service creates each month's
-- partition ahead of time (`storage::partitions`); a DEFAULT partition
-- catches a row whose month is not there yet, and its rows move into the
-- month's partition when that is created.
--
-- Partitioned: alerts (by `retained_from`), campaign sightings (by
-- `recorded_at`) and failed sign-ins (by `at`). Left plain, with reasons:
--   * audit_log: entries are chained per chain by position, never expired by
--     retention (only archived by `holdfast audit archive`, which cuts by
--     position); a partition key would have to join its primary key
--     (chain, seq) and buys nothing.
--   * outbox: `idempotency_key` must stay unique over every row, pending
--     ones included, and a partitioned table cannot enforce that.

-- Every alert ever accepted, without its body: its idempotency record (a
-- retry of the same `alert_id` meets the primary key here, since a
-- partitioned table cannot hold a unique index without its partition key)
-- and its plain-language summary, which outlives the raw body.
CREATE TABLE alert_records (
    alert_id     TEXT PRIMARY KEY,
    incident_id  TEXT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    -- `Alert::summary`: what happened, where (country) and when; no IP
    -- address, device id or destination. NULL for alerts stored before
    -- this table: retention writes it from the body before dropping that.
    summary      TEXT
);
CREATE INDEX alert_records_by_incident ON alert_records (incident_id, occurred_at);

ALTER TABLE alerts RENAME TO alerts_unpartitioned;
ALTER INDEX alerts_by_incident RENAME TO alerts_unpartitioned_by_incident;
CREATE TABLE alerts (
    alert_id       TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('suspicious_login', 'large_withdrawal')),
    occurred_at    TIMESTAMPTZ NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL,
    incident_id    TEXT,
    body           TEXT NOT NULL,
    -- When retention starts counting: the alert's arrival, or the time it
    -- was carried forward into a newer month for an open or held incident.
    retained_from  TIMESTAMPTZ NOT NULL
) PARTITION BY RANGE (retained_from);
CREATE TABLE alerts_default PARTITION OF alerts DEFAULT;
-- The incident page, correlation windows and the holder's case read by incident.
CREATE INDEX alerts_by_incident ON alerts (incident_id, occurred_at);
-- Intake's look-up of a retried alert's body, and the carry-forward.
CREATE INDEX alerts_by_id ON alerts (alert_id);
INSERT INTO alerts (alert_id, account_id, kind, occurred_at, received_at, incident_id, body, retained_from)
    SELECT alert_id, account_id, kind, occurred_at, received_at, incident_id, body, received_at
    FROM alerts_unpartitioned;
INSERT INTO alert_records (alert_id, incident_id, occurred_at, received_at)
    SELECT alert_id, incident_id, occurred_at, received_at FROM alerts_unpartitioned;
DROP TABLE alerts_unpartitioned;

ALTER TABLE campaign_signals RENAME TO campaign_signals_unpartitioned;
ALTER INDEX campaign_signals_by_value RENAME TO campaign_signals_unpartitioned_by_value;
ALTER INDEX campaign_signals_by_age RENAME TO campaign_signals_unpartitioned_by_age;
CREATE TABLE campaign_signals (
    kind         TEXT NOT NULL CHECK (kind IN ('ip', 'device', 'destination')),
    value        TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    incident_id  TEXT NOT NULL,
    alert_id     TEXT NOT NULL,
    seen_at      TIMESTAMPTZ NOT NULL,
    -- When retention starts counting (arrival, or a carry-forward).
    recorded_at  TIMESTAMPTZ NOT NULL
) PARTITION BY RANGE (recorded_at);
CREATE TABLE campaign_signals_default PARTITION OF campaign_signals DEFAULT;
CREATE INDEX campaign_signals_by_value ON campaign_signals (kind, value, seen_at);
CREATE INDEX campaign_signals_by_age ON campaign_signals (recorded_at);
CREATE INDEX campaign_signals_by_incident ON campaign_signals (incident_id);
INSERT INTO campaign_signals SELECT * FROM campaign_signals_unpartitioned;
DROP TABLE campaign_signals_unpartitioned;

ALTER TABLE sign_in_failures RENAME TO sign_in_failures_unpartitioned;
ALTER INDEX sign_in_failures_by_username RENAME TO sign_in_failures_unpartitioned_by_username;
ALTER INDEX sign_in_failures_by_age RENAME TO sign_in_failures_unpartitioned_by_age;
CREATE TABLE sign_in_failures (
    username  TEXT NOT NULL,
    source    TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL
) PARTITION BY RANGE (at);
CREATE TABLE sign_in_failures_default PARTITION OF sign_in_failures DEFAULT;
CREATE INDEX sign_in_failures_by_username ON sign_in_failures (username, at);
CREATE INDEX sign_in_failures_by_age ON sign_in_failures (at);
INSERT INTO sign_in_failures SELECT * FROM sign_in_failures_unpartitioned;
DROP TABLE sign_in_failures_unpartitioned;
