-- Delivered messages leave the outbox for a history partitioned by month
-- (SPEC §15), so the outbox holds only what waits (pending) or gave up
-- (failed), and a month of deliveries past HOLDFAST_RETENTION_DELIVERIES
-- goes as one partition.
--
-- An idempotency key is recognised for good, whatever became of its
-- message: every key ever queued is in `outbox_keys` (a partitioned table
-- cannot hold a unique index without its partition key), and a message is
-- queued only by the statement that adds its key there.

CREATE TABLE outbox_keys (
    idempotency_key  TEXT PRIMARY KEY,
    queued_at        TIMESTAMPTZ NOT NULL
);
INSERT INTO outbox_keys (idempotency_key, queued_at) SELECT idempotency_key, created_at FROM outbox;

-- The incident a message is about, for legal holds: its deliveries are
-- carried forward like its alerts. NULL for a message about none (and for
-- those queued before this column).
ALTER TABLE outbox ADD COLUMN incident_id TEXT;

CREATE TABLE outbox_delivered (
    id               TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    destination      TEXT NOT NULL,
    -- As sent, or `{"redacted": true}` when it carried a secret.
    body             TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    attempts         INTEGER NOT NULL,
    delivered_at     TIMESTAMPTZ NOT NULL,
    -- The answer that confirmed it.
    response         TEXT,
    run_id           TEXT,
    traceparent      TEXT,
    incident_id      TEXT,
    -- When retention starts counting: the delivery, or the time it was
    -- carried forward into a newer month for an open or held incident.
    retained_from    TIMESTAMPTZ NOT NULL
) PARTITION BY RANGE (retained_from);
CREATE TABLE outbox_delivered_default PARTITION OF outbox_delivered DEFAULT;
CREATE INDEX outbox_delivered_by_incident ON outbox_delivered (incident_id) WHERE incident_id IS NOT NULL;

INSERT INTO outbox_delivered (id, idempotency_key, destination, body, created_at, attempts, delivered_at, response,
                              run_id, traceparent, incident_id, retained_from)
    SELECT id, idempotency_key, destination, body, created_at, attempts, COALESCE(delivered_at, created_at), response,
           run_id, traceparent, NULL, COALESCE(delivered_at, created_at)
    FROM outbox WHERE status = 'delivered';
DELETE FROM outbox WHERE status = 'delivered';
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'failed'));
