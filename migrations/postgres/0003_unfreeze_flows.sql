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
    second_factor_attempts_left  INTEGER NOT NULL,
    -- NULL until the exchange said whether the holder has a 2-step method.
    second_factor_required       BOOLEAN,
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
