-- The audit chain is sealed with HMAC-SHA256 under a key derived from the
-- master key and never stored here, so whoever can write this database cannot
-- rewrite an entry and recompute the chain after it. Each entry names the
-- master key (by its public id) whose derived key sealed it, so the chain
-- still verifies after a key rotation while the previous key is configured.
ALTER TABLE audit_log ADD COLUMN key_id TEXT;
