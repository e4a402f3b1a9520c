-- The overview's time to resolve (see migrations/postgres).
ALTER TABLE incidents ADD COLUMN resolve_micros BIGINT;
UPDATE incidents SET resolve_micros = closed_at - opened_at
    WHERE status = 'resolved' AND closed_at IS NOT NULL;
CREATE INDEX incidents_resolved ON incidents (closed_at, resolve_micros)
    WHERE resolve_micros IS NOT NULL;
