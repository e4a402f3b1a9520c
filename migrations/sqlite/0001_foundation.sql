-- Holdfast foundation: alerts, incidents, holds, the outbox and the audit log.
-- Same tables as migrations/postgres; timestamps are INTEGER microseconds since
-- the Unix epoch (UTC), booleans INTEGER 0/1.

CREATE TABLE alerts (
    alert_id     TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('suspicious_login', 'large_withdrawal')),
    occurred_at  INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    incident_id  TEXT,
    body         TEXT NOT NULL
);
CREATE INDEX alerts_by_incident ON alerts (incident_id, occurred_at);

CREATE TABLE incidents (
    id                       TEXT PRIMARY KEY,
    account_id               TEXT NOT NULL,
    status                   TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'contained', 'recovering', 'resolved', 'dismissed')),
    priority                 TEXT NOT NULL CHECK (priority IN ('P1', 'P2', 'P3', 'P4')),
    score                    INTEGER NOT NULL,
    priority_reasons         TEXT NOT NULL,
    opened_at                INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    acknowledge_by           INTEGER NOT NULL,
    contain_by               INTEGER NOT NULL,
    acknowledge_breached_at  INTEGER,
    contain_breached_at      INTEGER,
    assignee                 TEXT,
    acknowledged_at          INTEGER,
    contained_at             INTEGER,
    closed_at                INTEGER,
    resolution               TEXT CHECK (resolution IN ('confirmed_takeover', 'false_positive', 'user_error')),
    resolution_note          TEXT
);
CREATE UNIQUE INDEX incidents_one_live_per_account ON incidents (account_id)
    WHERE status NOT IN ('resolved', 'dismissed');
CREATE INDEX incidents_newest ON incidents (opened_at DESC, id DESC);
CREATE INDEX incidents_queue ON incidents (priority, acknowledge_by)
    WHERE assignee IS NULL AND status NOT IN ('resolved', 'dismissed');
CREATE INDEX incidents_acknowledge_due ON incidents (acknowledge_by)
    WHERE status = 'open' AND acknowledge_breached_at IS NULL;
CREATE INDEX incidents_contain_due ON incidents (contain_by)
    WHERE status IN ('open', 'acknowledged') AND contain_breached_at IS NULL;

CREATE TABLE holds (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    incident_id  TEXT NOT NULL REFERENCES incidents (id),
    scope        TEXT NOT NULL CHECK (scope IN ('login', 'withdrawal', 'trading', 'api')),
    reason       TEXT NOT NULL,
    placed_by    TEXT NOT NULL,
    placed_at    INTEGER NOT NULL,
    expires_at   INTEGER,
    lifted_at    INTEGER,
    lifted_by    TEXT
);
CREATE INDEX holds_unlifted_by_account ON holds (account_id) WHERE lifted_at IS NULL;
CREATE UNIQUE INDEX holds_one_per_incident_scope ON holds (incident_id, scope) WHERE lifted_at IS NULL;
CREATE INDEX holds_by_incident ON holds (incident_id);

CREATE TABLE outbox (
    id               TEXT PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    destination      TEXT NOT NULL CHECK (destination IN ('account_control', 'notify')),
    body             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    delivered_at     INTEGER,
    response         TEXT,
    run_id           TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    incident_id  TEXT,
    account_id   TEXT,
    detail       TEXT NOT NULL,
    prev_hash    BLOB NOT NULL,
    hash         BLOB NOT NULL
);
CREATE INDEX audit_log_by_incident ON audit_log (incident_id, seq) WHERE incident_id IS NOT NULL;

CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

-- The audit log is append-only here too; editing the file by hand bypasses
-- this, which `holdfast audit verify` then reports.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE is not allowed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: DELETE is not allowed');
END;
