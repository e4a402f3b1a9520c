-- Delivered messages leave the outbox for their own table (on PostgreSQL
-- partitioned by month, SPEC §15; here plain, expired by deletes), so the
-- outbox holds only what waits (pending) or gave up (failed). Every key
-- ever queued stays in `outbox_keys`, so a retried key is recognised
-- whatever became of its message.

CREATE TABLE outbox_keys (
    idempotency_key  TEXT PRIMARY KEY,
    queued_at        INTEGER NOT NULL
);
INSERT INTO outbox_keys (idempotency_key, queued_at) SELECT idempotency_key, created_at FROM outbox;

-- The incident a message is about, for legal holds.
ALTER TABLE outbox ADD COLUMN incident_id TEXT;

CREATE TABLE outbox_delivered (
    id               TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    destination      TEXT NOT NULL,
    body             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL,
    delivered_at     INTEGER NOT NULL,
    response         TEXT,
    run_id           TEXT,
    traceparent      TEXT,
    incident_id      TEXT,
    retained_from    INTEGER NOT NULL
);
CREATE INDEX outbox_delivered_by_incident ON outbox_delivered (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX outbox_delivered_by_age ON outbox_delivered (retained_from);

INSERT INTO outbox_delivered (id, idempotency_key, destination, body, created_at, attempts, delivered_at, response,
                              run_id, traceparent, incident_id, retained_from)
    SELECT id, idempotency_key, destination, body, created_at, attempts, COALESCE(delivered_at, created_at), response,
           run_id, traceparent, NULL, COALESCE(delivered_at, created_at)
    FROM outbox WHERE status = 'delivered';
DELETE FROM outbox WHERE status = 'delivered';
