-- The audit log becomes range-partitioned by the month of `at`, like the
-- other tables that grow with traffic (0025), so `holdfast audit archive`
-- drops the months it archived whole instead of deleting them row by row,
-- and the log's size no longer weighs on appends and timelines.
--
-- Entries still never leave by retention: only an archive removes them, and
-- only those a recorded checkpoint covers. A partitioned table's primary key
-- must hold its partition key, so the key is (chain, seq, at); one
-- sequence number per chain is kept by the appends themselves, which take
-- the chain's head row before they number an entry, and a second entry
-- with a chain's number would break the chain `holdfast audit verify` walks.

ALTER TABLE audit_log RENAME TO audit_log_unpartitioned;
ALTER TABLE audit_log_unpartitioned RENAME CONSTRAINT audit_log_pkey TO audit_log_unpartitioned_pkey;
ALTER INDEX audit_log_by_incident RENAME TO audit_log_unpartitioned_by_incident;

CREATE TABLE audit_log (
    chain        SMALLINT NOT NULL,
    seq          BIGINT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    incident_id  TEXT,
    account_id   TEXT,
    detail       TEXT NOT NULL,
    prev_hash    BYTEA NOT NULL,
    hash         BYTEA NOT NULL,
    key_id       TEXT,
    PRIMARY KEY (chain, seq, at)
) PARTITION BY RANGE (at);
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
-- An incident's timeline, in chain and sequence order.
CREATE INDEX audit_log_by_incident ON audit_log (incident_id, chain, seq) WHERE incident_id IS NOT NULL;

-- Every entry waits in the default partition until the service creates its
-- month's partition (`storage::retention`), which moves it there.
INSERT INTO audit_log (chain, seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id)
    SELECT chain, seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id
    FROM audit_log_unpartitioned;
DROP TABLE audit_log_unpartitioned;

-- The guards of 0001 and 0027, now on the partitioned table (its row
-- triggers are its partitions'). One more delete is allowed: moving the
-- default partition's entries into their month's new partition, which the
-- service does in one transaction that first says so
-- (`SET LOCAL holdfast.moving = 'audit_log_default'`) and puts back every
-- entry it takes out.
CREATE OR REPLACE FUNCTION audit_log_deletes_only_archived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'audit_log_default'
       AND current_setting('holdfast.moving', true) = 'audit_log_default' THEN
        RETURN OLD;
    END IF;
    IF EXISTS (SELECT 1 FROM audit_checkpoint_chains
               WHERE chain = OLD.chain AND through_seq >= OLD.seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: DELETE is not allowed of an entry no archive checkpoint covers';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_deletes_only_archived();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
