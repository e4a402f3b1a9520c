-- The account holder's self-service unfreeze flow.

CREATE TABLE unfreeze_flows (
    id                           TEXT PRIMARY KEY,
    -- SHA-256 of the flow token sent in the holder's link; rotated when a new link is sent.
    token_hash                   BYTEA NOT NULL UNIQUE,
    account_id                   TEXT NOT NULL,
    incident_id                  TEXT NOT NULL REFERENCES incidents (id),
    state                        TEXT NOT NULL CHECK (state IN ('awaiting_code', 'awaiting_second_factor',
                                     'awaiting_activity_review', 'in_review', 'unfrozen', 'rejected', 'expired', 'locked')),
    created_at                   TIMESTAMPTZ NOT NULL,
    updated_at                   TIMESTAMPTZ NOT NULL,
    expires_at                   TIMESTAMPTZ NOT NULL,
    -- SHA-256 of the current one-time code (keyed, see src/unfreeze.rs), its expiry and tries left.
    code_hash                    BYTEA,
    code_expires_at              TIMESTAMPTZ,
    code_attempts_left           INTEGER NOT NULL,
    codes_sent                   INTEGER NOT NULL,
    code_verified_at             TIMESTAMPTZ,
    second_factor_attempts_left  INTEGER NOT NULL,
    -- NULL until the exchange said whether the holder has a 2-step method.
    second_factor_required       BOOLEAN,
    second_factor_verified_at    TIMESTAMPTZ,
    -- The holder's answers about each flagged activity, as JSON.
    answers                      TEXT,
    -- When the holder finished every verification step.
    verified_at                  TIMESTAMPTZ,
    queued_at                    TIMESTAMPTZ,
    decided_at                   TIMESTAMPTZ,
    decided_by                   TEXT,
    decision_reason              TEXT,
    run_id                       TEXT
);
-- One live flow per account.
CREATE UNIQUE INDEX unfreeze_flows_one_live_per_account ON unfreeze_flows (account_id)
    WHERE state IN ('awaiting_code', 'awaiting_second_factor', 'awaiting_activity_review', 'in_review');
CREATE INDEX unfreeze_flows_by_incident ON unfreeze_flows (incident_id);
CREATE INDEX unfreeze_flows_in_review ON unfreeze_flows (queued_at) WHERE state = 'in_review';
CREATE INDEX unfreeze_flows_decided ON unfreeze_flows (decided_at) WHERE decided_at IS NOT NULL;

-- A cool-off (a hold with an expiry) may stand beside a freeze of the same
-- scope, so an unfreeze can put the cool-off in place before it lifts the
-- freeze and the account is never unrestricted in between.
ALTER TABLE holds ADD COLUMN is_freeze BOOLEAN GENERATED ALWAYS AS (expires_at IS NULL) STORED;
DROP INDEX holds_one_per_incident_scope;
CREATE UNIQUE INDEX holds_one_per_incident_scope_kind ON holds (incident_id, scope, is_freeze) WHERE lifted_at IS NULL;
