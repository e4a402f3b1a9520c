-- Response-time metrics, the leads' overview and trace context.
--
-- The priority an incident opened with: the time-to-* histograms are
-- labelled with it, though the priority may rise later. Incidents opened
-- before this migration take their current priority.
ALTER TABLE incidents ADD COLUMN opened_priority TEXT NOT NULL DEFAULT 'P4'
    CHECK (opened_priority IN ('P1', 'P2', 'P3', 'P4'));
UPDATE incidents SET opened_priority = priority;
-- How long the incident took to be acknowledged and contained, in
-- microseconds from its opening: set with acknowledged_at and contained_at,
-- so the overview sorts durations without date arithmetic (which the two
-- databases spell differently).
ALTER TABLE incidents ADD COLUMN acknowledge_micros BIGINT;
ALTER TABLE incidents ADD COLUMN contain_micros BIGINT;
UPDATE incidents SET acknowledge_micros = acknowledged_at - opened_at
    WHERE acknowledged_at IS NOT NULL;
UPDATE incidents SET contain_micros = contained_at - opened_at
    WHERE contained_at IS NOT NULL;
-- The overview's percentiles: the incidents acknowledged (contained) in a
-- window, read from the index with their durations (index-only), then sorted.
CREATE INDEX incidents_acknowledged ON incidents (acknowledged_at, acknowledge_micros)
    WHERE acknowledged_at IS NOT NULL;
CREATE INDEX incidents_contained ON incidents (contained_at, contain_micros)
    WHERE contained_at IS NOT NULL;
-- The overview's SLA breaches of the day.
CREATE INDEX incidents_acknowledge_breached ON incidents (acknowledge_breached_at)
    WHERE acknowledge_breached_at IS NOT NULL;
CREATE INDEX incidents_contain_breached ON incidents (contain_breached_at)
    WHERE contain_breached_at IS NOT NULL;

-- The W3C trace context (a `traceparent` value) of the change that queued a
-- message or started a run: the message is sent, and the run's later steps
-- are taken, in the same trace.
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
ALTER TABLE runs ADD COLUMN traceparent TEXT;
