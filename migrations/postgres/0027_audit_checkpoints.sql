-- Archiving the audit log (`holdfast audit archive`): each archiving leaves a
-- checkpoint, the heads of every chain at the cut, MACed under the audit key
-- (see `domain::audit::checkpoint`). The live log starts from the latest one.
CREATE TABLE audit_checkpoints (
    number      BIGINT PRIMARY KEY,
    cut         TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    -- Of the archive's lines before its checkpoint line, hex.
    sha256      TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    mac         TEXT NOT NULL
);

-- What each checkpoint archived of each chain: entries from_seq + 1 through
-- through_seq, and where its `audit.checkpoint` entry went.
CREATE TABLE audit_checkpoint_chains (
    number       BIGINT NOT NULL REFERENCES audit_checkpoints (number),
    chain        SMALLINT NOT NULL,
    from_seq     BIGINT NOT NULL,
    from_mac     TEXT NOT NULL,
    through_seq  BIGINT NOT NULL,
    through_mac  TEXT NOT NULL,
    entries      BIGINT NOT NULL,
    marker_seq   BIGINT NOT NULL,
    PRIMARY KEY (number, chain)
);
CREATE INDEX audit_checkpoint_chains_reach ON audit_checkpoint_chains (chain, through_seq);

-- The log stays append-only, but an entry a recorded checkpoint covers may
-- now be deleted: the archive deletes what it archived, by chain and
-- sequence number, in the transaction that records the checkpoint. (Whatever
-- the table's physical layout, this is a row trigger on `audit_log`.)
CREATE FUNCTION audit_log_deletes_only_archived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_checkpoint_chains
               WHERE chain = OLD.chain AND through_seq >= OLD.seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: DELETE is not allowed of an entry no archive checkpoint covers';
END
$$;
DROP TRIGGER IF EXISTS audit_log_no_update_or_delete ON audit_log;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_deletes_only_archived();
