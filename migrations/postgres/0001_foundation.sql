-- Holdfast foundation: alerts, incidents, holds, the outbox and the audit log.
-- Timestamps are TIMESTAMPTZ; ids are text (UUIDv7 for Holdfast's own ids,
-- the risk engine's ids as sent).

-- Alerts as received. alert_id is the risk engine's id, so a retry of the same
-- alert hits the primary key and is answered as a duplicate.
CREATE TABLE alerts (
    alert_id     TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('suspicious_login', 'large_withdrawal')),
    occurred_at  TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    -- Set in the same transaction that inserts the alert; never NULL once committed.
    incident_id  TEXT,
    -- The validated alert as JSON.
    body         TEXT NOT NULL
);
CREATE INDEX alerts_by_incident ON alerts (incident_id, occurred_at);

CREATE TABLE incidents (
    id                       TEXT PRIMARY KEY,
    account_id               TEXT NOT NULL,
    status                   TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'contained', 'recovering', 'resolved', 'dismissed')),
    priority                 TEXT NOT NULL CHECK (priority IN ('P1', 'P2', 'P3', 'P4')),
    score                    BIGINT NOT NULL,
    -- JSON array of the priority rules that fired.
    priority_reasons         TEXT NOT NULL,
    opened_at                TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL,
    acknowledge_by           TIMESTAMPTZ NOT NULL,
    contain_by               TIMESTAMPTZ NOT NULL,
    acknowledge_breached_at  TIMESTAMPTZ,
    contain_breached_at      TIMESTAMPTZ,
    assignee                 TEXT,
    acknowledged_at          TIMESTAMPTZ,
    contained_at             TIMESTAMPTZ,
    closed_at                TIMESTAMPTZ,
    resolution               TEXT CHECK (resolution IN ('confirmed_takeover', 'false_positive', 'user_error')),
    resolution_note          TEXT
);
-- One live incident per account: concurrent alerts of one account collect into it.
CREATE UNIQUE INDEX incidents_one_live_per_account ON incidents (account_id)
    WHERE status NOT IN ('resolved', 'dismissed');
CREATE INDEX incidents_newest ON incidents (opened_at DESC, id DESC);
-- The agents' queue and the SLA watcher read only live incidents.
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
    placed_at    TIMESTAMPTZ NOT NULL,
    -- Set for a cool-off, which ends on its own.
    expires_at   TIMESTAMPTZ,
    lifted_at    TIMESTAMPTZ,
    lifted_by    TEXT
);
-- The exchange's hot path: an account's unlifted holds.
CREATE INDEX holds_unlifted_by_account ON holds (account_id) WHERE lifted_at IS NULL;
CREATE UNIQUE INDEX holds_one_per_incident_scope ON holds (incident_id, scope) WHERE lifted_at IS NULL;
CREATE INDEX holds_by_incident ON holds (incident_id);

-- Messages for the exchange, written with the change that calls for them.
CREATE TABLE outbox (
    id               TEXT PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    destination      TEXT NOT NULL CHECK (destination IN ('account_control', 'notify')),
    body             TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_error       TEXT,
    delivered_at     TIMESTAMPTZ,
    response         TEXT,
    run_id           TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

-- The audit log: append-only, each entry chained to the one before by SHA-256.
CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    incident_id  TEXT,
    account_id   TEXT,
    detail       TEXT NOT NULL,
    prev_hash    BYTEA NOT NULL,
    hash         BYTEA NOT NULL
);
-- Every incident's timeline is its audit entries.
CREATE INDEX audit_log_by_incident ON audit_log (incident_id, seq) WHERE incident_id IS NOT NULL;

-- The last entry written. Appends lock this row, which orders them; comparing
-- it with the log reveals entries removed from, or added to, the end.
CREATE TABLE audit_head (
    id    SMALLINT PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is not allowed', TG_OP;
END
$$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
