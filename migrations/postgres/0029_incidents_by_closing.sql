-- Retention of incidents (SPEC §15, HOLDFAST_RETENTION_INCIDENTS) reads
-- closed incidents by when they closed, oldest first, a batch at a time
-- from where the last batch ended; live incidents are never its concern.
CREATE INDEX incidents_closed ON incidents (closed_at, id) WHERE status IN ('resolved', 'dismissed');
