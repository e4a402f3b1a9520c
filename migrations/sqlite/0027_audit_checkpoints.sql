-- Archiving the audit log (`holdfast audit archive`): each archiving leaves a
-- checkpoint, the heads of every chain at the cut, MACed under the audit key
-- (see `domain::audit::checkpoint`). The live log starts from the latest one.
CREATE TABLE audit_checkpoints (
    number      INTEGER PRIMARY KEY,
    cut         INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    -- Of the archive's lines before its checkpoint line, hex.
    sha256      TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    mac         TEXT NOT NULL
);

-- What each checkpoint archived of each chain: entries from_seq + 1 through
-- through_seq, and where its `audit.checkpoint` entry went.
CREATE TABLE audit_checkpoint_chains (
    number       INTEGER NOT NULL REFERENCES audit_checkpoints (number),
    chain        INTEGER NOT NULL,
    from_seq     INTEGER NOT NULL,
    from_mac     TEXT NOT NULL,
    through_seq  INTEGER NOT NULL,
    through_mac  TEXT NOT NULL,
    entries      INTEGER NOT NULL,
    marker_seq   INTEGER NOT NULL,
    PRIMARY KEY (number, chain)
);
CREATE INDEX audit_checkpoint_chains_reach ON audit_checkpoint_chains (chain, through_seq);

-- The log stays append-only, but an entry a recorded checkpoint covers may
-- now be deleted: the archive deletes what it archived in the transaction
-- that records the checkpoint.
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_checkpoint_chains
                 WHERE chain = OLD.chain AND through_seq >= OLD.seq)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: DELETE is not allowed of an entry no archive checkpoint covers');
END;
