-- Holder messages by month (SPEC §15): `case_messages` becomes
-- range-partitioned by month like alerts (0025), so messages past
-- HOLDFAST_RETENTION_MESSAGES go by dropping their month's partition,
-- never by a row-by-row delete. The service creates each month's
-- partition ahead of time (`storage::retention`); the DEFAULT partition
-- holds the rows copied here until the first pass moves them into their
-- months.
--
-- The partition key is `retained_from`: when retention starts counting,
-- the message's arrival or the time it was carried forward into a newer
-- month for an open or held incident. `created_at` stays when it was
-- written, which the thread's order and its counts read.
--
-- A partitioned table's primary key must include its partition key, so it
-- is (id, retained_from), and no index can make `id` alone unique across
-- months. Ids stay unique all the same, which is what the code needs (a
-- thread is ordered by (created_at, id)): each message is written once
-- under a fresh UUIDv7 (`ids::new_id`), and the only other writer, the
-- carry-forward, copies a message into the current month in the same
-- transaction that drops the month it came from, so no id is ever stored
-- twice.
--
-- No foreign key to incidents, unlike 0016 (and like the other partitioned
-- tables): attaching a month's partition would validate the key under a
-- SHARE ROW EXCLUSIVE lock on `incidents`, holding every incident change
-- behind the attach, and deadlocking with a change that holds an incident
-- while it writes a message. A message is only written for an incident its
-- transaction has read, and retention removes an incident's messages
-- before the incident.
ALTER TABLE case_messages RENAME TO case_messages_unpartitioned;
ALTER TABLE case_messages_unpartitioned RENAME CONSTRAINT case_messages_pkey TO case_messages_unpartitioned_pkey;
ALTER INDEX case_messages_by_incident RENAME TO case_messages_unpartitioned_by_incident;
CREATE TABLE case_messages (
    id             TEXT NOT NULL,
    incident_id    TEXT NOT NULL,
    author         TEXT NOT NULL CHECK (author IN ('holder', 'team')),
    -- The agent who wrote a team message (never shown to the holder).
    agent          TEXT,
    body           BYTEA NOT NULL,
    key_id         TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    retained_from  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, retained_from)
) PARTITION BY RANGE (retained_from);
CREATE TABLE case_messages_default PARTITION OF case_messages DEFAULT;
-- A case's thread in time order, the count of the holder's messages since
-- a time (a case holds few messages: the author is read from the rows),
-- the carry-forward of protected incidents' messages, and an incident's
-- removal.
CREATE INDEX case_messages_by_incident ON case_messages (incident_id, created_at);
INSERT INTO case_messages (id, incident_id, author, agent, body, key_id, created_at, retained_from)
    SELECT id, incident_id, author, agent, body, key_id, created_at, created_at FROM case_messages_unpartitioned;
DROP TABLE case_messages_unpartitioned;
