-- Nobody but the holder disturbs the holder's flow, and guessing is bounded
-- per account.

-- The flow token, sealed under the master key (AES-256-GCM, key id beside
-- it), so a second link request re-sends the same link instead of replacing
-- it; and when the link was last sent (at most once a minute).
ALTER TABLE unfreeze_flows ADD COLUMN link_token_sealed BYTEA;
ALTER TABLE unfreeze_flows ADD COLUMN link_token_key_id TEXT;
ALTER TABLE unfreeze_flows ADD COLUMN link_sent_at TIMESTAMPTZ;
-- The master key the one-time code's HMAC was made with, so a code sent just
-- before a key rotation still verifies.
ALTER TABLE unfreeze_flows ADD COLUMN code_key_id TEXT;

-- Every wrong one-time code or 2-step code, per account: past 20 in 24 hours
-- the account's flows go to the agents' queue instead of the automatic route.
CREATE TABLE unfreeze_failures (
    account_id  TEXT NOT NULL,
    flow_id     TEXT NOT NULL REFERENCES unfreeze_flows (id),
    kind        TEXT NOT NULL CHECK (kind IN ('code', 'second_factor')),
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX unfreeze_failures_by_account ON unfreeze_failures (account_id, at);

-- A locked flow blocks a new flow of its account for an hour.
CREATE INDEX unfreeze_flows_locked ON unfreeze_flows (account_id, updated_at) WHERE state = 'locked';
