-- The audit log becomes a fixed number of chains, each with its own head, and
-- every change chains its entries in the transaction that commits it (see
-- migrations/postgres/0015_audit_chains.sql for why sixteen). SQLite never had
-- a waiting area.
CREATE TABLE audit_chains (
    chain         INTEGER PRIMARY KEY,
    -- The last entry of the chain: its sequence number (0 while empty) and MAC.
    seq           INTEGER NOT NULL,
    hash          BLOB NOT NULL,
    -- Entries 1..legacy_until of this chain were MACed before there were
    -- chains, in the format that binds no chain. Only chain 0, which
    -- continues the single chain found here, has any.
    legacy_until  INTEGER NOT NULL CHECK (legacy_until = 0 OR chain = 0)
);
INSERT INTO audit_chains (chain, seq, hash, legacy_until) SELECT 0, seq, hash, seq FROM audit_head;
INSERT INTO audit_chains (chain, seq, hash, legacy_until) VALUES
    (1, 0, zeroblob(32), 0), (2, 0, zeroblob(32), 0), (3, 0, zeroblob(32), 0),
    (4, 0, zeroblob(32), 0), (5, 0, zeroblob(32), 0), (6, 0, zeroblob(32), 0),
    (7, 0, zeroblob(32), 0), (8, 0, zeroblob(32), 0), (9, 0, zeroblob(32), 0),
    (10, 0, zeroblob(32), 0), (11, 0, zeroblob(32), 0), (12, 0, zeroblob(32), 0),
    (13, 0, zeroblob(32), 0), (14, 0, zeroblob(32), 0), (15, 0, zeroblob(32), 0);
DROP TABLE audit_head;

-- A sequence number is one chain's: the key becomes (chain, seq), which
-- SQLite changes only by copying the table. Every entry so far belongs to
-- chain 0.
CREATE TABLE audit_log_chained (
    chain        INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    incident_id  TEXT,
    account_id   TEXT,
    detail       TEXT NOT NULL,
    prev_hash    BLOB NOT NULL,
    hash         BLOB NOT NULL,
    key_id       TEXT,
    PRIMARY KEY (chain, seq)
);
INSERT INTO audit_log_chained (chain, seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id)
    SELECT 0, seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_chained RENAME TO audit_log;
CREATE INDEX audit_log_by_incident ON audit_log (incident_id, chain, seq) WHERE incident_id IS NOT NULL;

-- The audit log is append-only here too; editing the file by hand bypasses
-- this, which `holdfast audit verify` then reports.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE is not allowed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: DELETE is not allowed');
END;
