-- The overview's time to resolve (SPEC §11), like time to acknowledge and
-- contain: the duration from opening to resolution (dismissals excluded),
-- in microseconds, and an index on (closed at, duration) for the window.
ALTER TABLE incidents ADD COLUMN resolve_micros BIGINT;
UPDATE incidents SET resolve_micros = (EXTRACT(EPOCH FROM closed_at - opened_at) * 1000000)::BIGINT
    WHERE status = 'resolved' AND closed_at IS NOT NULL;
CREATE INDEX incidents_resolved ON incidents (closed_at, resolve_micros)
    WHERE resolve_micros IS NOT NULL;
