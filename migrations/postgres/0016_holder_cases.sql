-- The holder's line (SPEC §13): case links, what the holder was told and
-- said, one message thread per case, the holder's rating, lock links.

-- A case link's token covers one incident. Only its SHA-256 identifies it;
-- the token itself is kept sealed under the master key so a later notice
-- (a reply, the case's end) can send the same link again.
CREATE TABLE case_tokens (
    token_hash   BYTEA PRIMARY KEY,
    incident_id  TEXT NOT NULL REFERENCES incidents (id),
    issued_as    TEXT NOT NULL CHECK (issued_as IN ('risk_notice', 'unfreeze_unfrozen', 'lock_link', 'app_lock')),
    issued_at    TIMESTAMPTZ NOT NULL,
    sealed       BYTEA NOT NULL,
    key_id       TEXT NOT NULL
);
CREATE INDEX case_tokens_by_incident ON case_tokens (incident_id, issued_at);

-- One row per incident the holder has heard of.
CREATE TABLE holder_cases (
    incident_id          TEXT PRIMARY KEY REFERENCES incidents (id),
    account_id           TEXT NOT NULL,
    -- Risk notices sent so far (their idempotency keys count up from 1).
    notices_sent         INTEGER NOT NULL DEFAULT 0,
    -- The highest priority a notice was sent for (P1 or P2), if any.
    notified_priority    TEXT,
    -- Opened by the holder (not me on an ended case, a report, the app's lock).
    opened_by_report     BOOLEAN NOT NULL DEFAULT FALSE,
    -- The holder's last unverified answer and when.
    holder_answer        TEXT CHECK (holder_answer IN ('was_me', 'not_me')),
    holder_answered_at   TIMESTAMPTZ,
    -- When the case ended (its incident closed, its unfreeze flow decided).
    ended_at             TIMESTAMPTZ,
    -- The last `case_message` notice (at most one per five minutes).
    team_notified_at     TIMESTAMPTZ,
    -- The first holder message no team reply has followed yet.
    unanswered_since     TIMESTAMPTZ,
    satisfaction_score   INTEGER CHECK (satisfaction_score BETWEEN 1 AND 5),
    -- The comment, sealed (AES-256-GCM under the master key `comment_key_id`).
    satisfaction_comment BYTEA,
    comment_key_id       TEXT,
    satisfied_at         TIMESTAMPTZ
);
CREATE INDEX holder_cases_unanswered ON holder_cases (incident_id) WHERE unanswered_since IS NOT NULL;
CREATE INDEX holder_cases_satisfied ON holder_cases (satisfied_at) WHERE satisfied_at IS NOT NULL;

-- Messages between the holder and the team; the text only sealed.
CREATE TABLE case_messages (
    id           TEXT PRIMARY KEY,
    incident_id  TEXT NOT NULL REFERENCES incidents (id),
    author       TEXT NOT NULL CHECK (author IN ('holder', 'team')),
    -- The agent who wrote a team message (never shown to the holder).
    agent        TEXT,
    body         BYTEA NOT NULL,
    key_id       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX case_messages_by_incident ON case_messages (incident_id, created_at);

-- Links to freeze an account from a report of theft, living 24 h.
CREATE TABLE lock_links (
    token_hash   BYTEA PRIMARY KEY,
    account_id   TEXT NOT NULL,
    sealed       BYTEA NOT NULL,
    key_id       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    sent_at      TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ
);
CREATE INDEX lock_links_live ON lock_links (account_id, expires_at) WHERE used_at IS NULL;

-- The exchange app's lock requests, so a repeat gets the first answer (sealed: it holds a case link).
CREATE TABLE lock_requests (
    request_id   TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    answer       BYTEA NOT NULL,
    key_id       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
