-- Legal holds (SPEC §15): while an incident is held, nothing of it expires.
-- One row per hold ever set; at most one unreleased per incident. A release
-- needs a second lead, and the incident's data stays at least 30 days more.
CREATE TABLE legal_holds (
    id              TEXT PRIMARY KEY,
    incident_id     TEXT NOT NULL REFERENCES incidents (id),
    set_by          TEXT NOT NULL,
    set_at          TIMESTAMPTZ NOT NULL,
    reason          TEXT NOT NULL,
    released_by     TEXT,
    released_at     TIMESTAMPTZ,
    release_reason  TEXT
);
CREATE UNIQUE INDEX legal_holds_one_in_force ON legal_holds (incident_id) WHERE released_at IS NULL;
CREATE INDEX legal_holds_by_incident ON legal_holds (incident_id, set_at);
-- Retention's question: which incidents are held, or were released lately.
CREATE INDEX legal_holds_by_release ON legal_holds (released_at);
