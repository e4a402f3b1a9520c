-- Audit entries between their change's commit and their place in the chain.
--
-- A change writes its entries here, in its own transaction, without taking
-- the chain's head; the sealer (`audit::seal_until_cancelled`, one per
-- instance, serialised by the head's lock) moves them into `audit_log` in
-- batches, chained, usually within milliseconds. Each waiting entry carries
-- its own MAC under the audit key (`mac`, by `key_id`), so an entry forged or
-- changed while it waits is refused when it is sealed.
CREATE TABLE audit_pending (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    incident_id  TEXT,
    account_id   TEXT,
    detail       TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    mac          BYTEA NOT NULL
);
-- Timelines read an incident's waiting entries after its sealed ones.
CREATE INDEX audit_pending_by_incident ON audit_pending (incident_id, id) WHERE incident_id IS NOT NULL;
