-- The baseline's audit table: what a naive service would append to, an
-- append-only table with its own sequence (no chain, no head row).
CREATE TABLE IF NOT EXISTS baseline_audit (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    incident_id TEXT,
    account_id  TEXT,
    detail      TEXT NOT NULL
);
