-- Agents, their sessions, and playbook runs (see migrations/postgres for the commented schema).

CREATE TABLE agents (
    id                         TEXT PRIMARY KEY,
    username                   TEXT NOT NULL UNIQUE,
    role                       TEXT NOT NULL CHECK (role IN ('analyst', 'lead', 'admin')),
    -- Argon2id, PHC string format.
    password_hash              TEXT NOT NULL,
    -- 12-byte nonce followed by the AES-256-GCM ciphertext and tag of the
    -- TOTP secret, under the master key named by totp_key_id.
    totp_secret                BLOB NOT NULL,
    totp_key_id                TEXT NOT NULL,
    -- The last TOTP time step accepted; a code of this step or an older one
    -- is refused. Advanced by compare-and-set, so two requests never both win.
    last_totp_step             INTEGER NOT NULL DEFAULT 0,
    -- Failed password/OTP attempts in the window that started at failure_window_started_at.
    failed_attempts            INTEGER NOT NULL DEFAULT 0,
    failure_window_started_at  INTEGER,
    locked_until               INTEGER,
    created_at                 INTEGER NOT NULL,
    disabled_at                INTEGER
);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    -- SHA-256 of the bearer token; the token itself is never stored.
    token_hash      BLOB NOT NULL UNIQUE,
    agent_id        TEXT NOT NULL REFERENCES agents (id),
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    -- The absolute end of the session (12 h after login).
    expires_at      INTEGER NOT NULL,
    -- Sensitive actions are allowed until then (5 min after a step-up).
    elevated_until  INTEGER,
    revoked_at      INTEGER
);
CREATE INDEX sessions_by_agent ON sessions (agent_id);

-- A playbook run: the playbook as it was when the run started (its steps are
-- stored, so a later edit of the file never changes a run in flight).
CREATE TABLE runs (
    id                TEXT PRIMARY KEY,
    incident_id       TEXT NOT NULL REFERENCES incidents (id),
    playbook_id       TEXT NOT NULL,
    playbook_version  INTEGER NOT NULL,
    playbook_digest   TEXT NOT NULL,
    playbook_kind     TEXT NOT NULL CHECK (playbook_kind IN ('containment', 'recovery', 'unfreeze')),
    status            TEXT NOT NULL CHECK (status IN ('running', 'waiting', 'succeeded', 'failed')),
    -- 'system', 'holder' or the agent's id.
    started_by        TEXT NOT NULL,
    started_by_name   TEXT NOT NULL,
    -- Only the playbook's automatic steps run (automatic containment).
    automatic_only    INTEGER NOT NULL,
    -- The latest fresh MFA given for this run (start, approval, resume, holder verification).
    elevated_at       INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    finished_at       INTEGER,
    failure           TEXT
);
CREATE INDEX runs_by_incident ON runs (incident_id, created_at);
CREATE INDEX runs_unfinished ON runs (updated_at) WHERE status IN ('running', 'waiting');

CREATE TABLE run_steps (
    run_id       TEXT NOT NULL REFERENCES runs (id),
    position     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    action       TEXT NOT NULL,
    -- The step's definition from the playbook, as JSON.
    definition   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'running', 'waiting', 'succeeded', 'failed', 'skipped')),
    waiting_for  TEXT,
    started_at   INTEGER,
    finished_at  INTEGER,
    -- What happened, as JSON (holds placed, messages sent, why it failed).
    outcome      TEXT,
    PRIMARY KEY (run_id, position)
);

CREATE TABLE run_approvals (
    run_id       TEXT NOT NULL REFERENCES runs (id),
    agent_id     TEXT NOT NULL REFERENCES agents (id),
    username     TEXT NOT NULL,
    approved_at  INTEGER NOT NULL,
    PRIMARY KEY (run_id, agent_id)
);
