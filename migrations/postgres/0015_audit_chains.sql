-- The audit log becomes a fixed number of chains, each with its own head, and
-- every change chains its entries in the transaction that commits it: there
-- is no longer a waiting area (`audit_pending`) where a database writer could
-- drop, copy or edit an entry before it is chained.
--
-- Sixteen chains, fixed here for good (an entry's MAC binds its chain and
-- the number of chains): an entry goes to its account's chain (its actor's, without an
-- account), chosen by the same stable hash as intake's shard, and sixteen is a
-- multiple of the intake workers (four on PostgreSQL, one on SQLite), so each
-- worker's batches lock chains no other worker of the instance locks. A
-- transaction holds one row lock per chain it writes to, from reading the
-- heads until it commits. The same on SQLite.
CREATE TABLE audit_chains (
    chain         SMALLINT PRIMARY KEY,
    -- The last entry of the chain: its sequence number (0 while empty) and MAC.
    seq           BIGINT NOT NULL,
    hash          BYTEA NOT NULL,
    -- Entries 1..legacy_until of this chain were MACed before there were
    -- chains, in the format that binds no chain. Only chain 0, which
    -- continues the single chain found here, has any.
    legacy_until  BIGINT NOT NULL CHECK (legacy_until = 0 OR chain = 0)
);
INSERT INTO audit_chains (chain, seq, hash, legacy_until) SELECT 0, seq, hash, seq FROM audit_head;
INSERT INTO audit_chains (chain, seq, hash, legacy_until)
    SELECT n, 0, decode(repeat('00', 32), 'hex'), 0 FROM generate_series(1, 15) AS n;
DROP TABLE audit_head;

-- Every entry so far belongs to chain 0; a sequence number is one chain's.
ALTER TABLE audit_log ADD COLUMN chain SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE audit_log ALTER COLUMN chain DROP DEFAULT;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD PRIMARY KEY (chain, seq);
-- An incident's entries are all in its account's chain (and, written before
-- the upgrade, in chain 0): its timeline reads them in chain, then sequence order.
DROP INDEX audit_log_by_incident;
CREATE INDEX audit_log_by_incident ON audit_log (incident_id, chain, seq) WHERE incident_id IS NOT NULL;

-- Nothing writes to `audit_pending` any more. Empty (an older version's
-- instances stopped cleanly, their sealers chaining what waited), it goes
-- now; otherwise the first `holdfast serve` chains what it holds, refusing
-- any entry whose MAC does not match, and drops it in the same transaction.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_pending) THEN
        DROP TABLE audit_pending;
    END IF;
END
$$;
